package mocoref.cpu;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's float32 FMA peak as the JVM reaches it ({@link FmaPeak}'s chains). Score in
 * FMA instructions per microsecond; GFLOP/s = score * 2 * lanes / 1000 (lanes: 8 on AVX2, 16 on
 * AVX-512), summed over threads for {@code peak2}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class PeakBenchmark {
    static final int ITERS = 1 << 16;
    float seed = 0.999f;

    @Benchmark
    @OperationsPerInvocation(12 * ITERS)
    public float peak1() {
        return FmaPeak.chains(seed, ITERS);
    }

    @Benchmark
    @Threads(2)
    @OperationsPerInvocation(12 * ITERS)
    public float peak2() {
        return FmaPeak.chains(seed, ITERS);
    }
}
