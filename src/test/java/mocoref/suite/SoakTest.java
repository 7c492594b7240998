package mocoref.suite;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import mocoref.backend.Backend;
import mocoref.backend.ImageBatch;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Permutations;
import mocoref.testing.Registered;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * Soak (opt-in: {@code mvn test -Psoak}, or {@code -Dsoak.steps=N} for another length): 2,000 steps
 * of a small configuration per float32 backend, the heap used after a full GC and the process's
 * resident memory sampled every 100 steps; after the first 500 steps (warm-up: JIT, pools,
 * first-use buffers) neither may grow by more than 10% (plus 8 MiB of slack for the heap and 32 MiB
 * for RSS, below which the JVM's own noise lies), and the last loss must be finite. The samples go
 * to target/soak-<backend>.tsv.
 */
@Tag("soak")
class SoakTest {
    @TestFactory
    Stream<DynamicTest> memoryStaysFlatOverThousandsOfSteps() {
        int steps = Integer.getInteger("soak.steps", 2000);
        return Registered.float32(2).stream().map(b -> dynamicTest(b.name(), () -> soak(b, steps)));
    }

    static void soak(Backend b, int steps) throws IOException {
        ResNetConfig net = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 8, 1, ResNetConfig.Stem.CIFAR, 32, true);
        MocoConfig c = new MocoConfig(net, 256, 0.99, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false, 0.03, 0.9, 5e-4, 32,
                new int[] {1, 16, 16});
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        List<String> rows = new ArrayList<>(List.of("step\theap_mib\trss_mib\tloss"));
        List<double[]> samples = new ArrayList<>();
        Random rng = new Random(1);
        int n = c.batch(), size = n * 256;
        try (MocoModel m = b.create(c, FreshState.of(c, 1), "soak")) {
            double loss = 0;
            for (int s = 1; s <= steps; s++) {
                float[] q = new float[size], k = new float[size];
                for (int i = 0; i < size; i++) {
                    q[i] = (float) rng.nextGaussian();
                    k[i] = (float) rng.nextGaussian();
                }
                loss = m.step(new StepInput(ImageBatch.of(q, n, 1, 16, 16), ImageBatch.of(k, n, 1, 16, 16), Permutations.random(rng, n),
                        null, c.m(), c.lr(), false)).loss();
                if (s % 100 == 0) {
                    if (s % 500 == 0) m.encoderQ().encode(ImageBatch.of(q, n, 1, 16, 16)); // the kNN monitor's encoder too
                    System.gc();
                    double heap = memory.getHeapMemoryUsage().getUsed() / 1048576.0, rss = rssMiB();
                    samples.add(new double[] {s, heap, rss});
                    rows.add(s + "\t" + String.format("%.1f", heap) + "\t" + String.format("%.1f", rss) + "\t" + loss);
                }
            }
            assertTrue(Double.isFinite(loss), "loss " + loss);
        }
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "soak-" + b.name() + ".tsv"), rows);
        double heapWarm = 0, rssWarm = 0, heapMax = 0, rssMax = 0;
        for (double[] x : samples) {
            if (x[0] <= 500) {
                heapWarm = Math.max(heapWarm, x[1]);
                rssWarm = Math.max(rssWarm, x[2]);
            } else {
                heapMax = Math.max(heapMax, x[1]);
                rssMax = Math.max(rssMax, x[2]);
            }
        }
        assertTrue(heapMax <= 1.1 * heapWarm + 8, "heap grew from " + heapWarm + " to " + heapMax + " MiB: " + rows);
        assertTrue(rssMax <= 1.1 * rssWarm + 32, "RSS grew from " + rssWarm + " to " + rssMax + " MiB: " + rows);
    }

    /** VmRSS of this process, MiB (Linux); NaN elsewhere. */
    static double rssMiB() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return Double.NaN;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
        return Double.NaN;
    }
}
