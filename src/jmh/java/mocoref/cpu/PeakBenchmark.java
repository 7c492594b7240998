package mocoref.cpu;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * The machine's float32 FMA peak as the JVM reaches it: twelve independent FMA chains (more than
 * latency x throughput, 4 x 2 on current x86) of the preferred species, no memory traffic. Score in
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
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int ITERS = 1 << 16;
    float seed = 0.999f;

    @Benchmark
    @OperationsPerInvocation(12 * ITERS)
    public float peak1() {
        return chains(seed);
    }

    @Benchmark
    @Threads(2)
    @OperationsPerInvocation(12 * ITERS)
    public float peak2() {
        return chains(seed);
    }

    static float chains(float m) {
        FloatVector mv = FloatVector.broadcast(S, m), z = FloatVector.broadcast(S, 1e-3f);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z, a9 = z, a10 = z, a11 = z;
        for (int i = 0; i < ITERS; i++) {
            a0 = a0.fma(mv, z);
            a1 = a1.fma(mv, z);
            a2 = a2.fma(mv, z);
            a3 = a3.fma(mv, z);
            a4 = a4.fma(mv, z);
            a5 = a5.fma(mv, z);
            a6 = a6.fma(mv, z);
            a7 = a7.fma(mv, z);
            a8 = a8.fma(mv, z);
            a9 = a9.fma(mv, z);
            a10 = a10.fma(mv, z);
            a11 = a11.fma(mv, z);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
