package mocoref.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import mocoref.cpu.CpuDevice;
import mocoref.testing.ErrorLog;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every OpenCL kernel against its Java twin ({@link KernelTwins}: the cpu device's operation), on
 * {@link #ROUNDS} rounds of random shapes (round 0 fixed to reach split sums, strides and ties),
 * elementwise within {@code 1e-5 + 1e-4 |cpu|}: float32 sums of at most a few thousand terms of
 * order one, in two orders, stay well inside it. The kernels are discovered from the sources in
 * {@code tornado-kernels/}; one without a twin fails, and their number is asserted. Both convolution
 * paths run here whatever the device's default. (The float64 reference layers are compared by
 * {@code DeviceTwinTest} and {@code ConvPathTwinTest}.)
 */
class KernelTwinTest {
    static final int EXPECTED_KERNELS = 40;
    static final int ROUNDS = 6;
    static final Path SOURCES = Path.of("tornado-kernels");
    static final Pattern KERNEL = Pattern.compile("__kernel\\s+(?:__attribute__\\s*\\(\\(.*?\\)\\)\\s*)?void\\s+(\\w+)", Pattern.DOTALL);

    /** Kernel names declared in the .cl files on disk. */
    static Set<String> declaredKernels() throws IOException {
        Set<String> names = new TreeSet<>();
        List<String> duplicates = new ArrayList<>();
        try (Stream<Path> files = Files.list(SOURCES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cl")).toList()) {
                Matcher m = KERNEL.matcher(Files.readString(f));
                while (m.find()) if (!names.add(m.group(1))) duplicates.add(m.group(1));
            }
        }
        assertTrue(duplicates.isEmpty(), "kernels declared twice: " + duplicates);
        return names;
    }

    @Test
    void everyKernelHasATwinAndTheProgramLoadsEverySource() throws IOException {
        Set<String> declared = declaredKernels();
        Set<String> withoutTwin = new TreeSet<>(declared);
        withoutTwin.removeAll(KernelTwins.twinOf().keySet());
        assertTrue(withoutTwin.isEmpty(), "kernels without a twin in KernelTwins.KERNELS: " + withoutTwin);
        Set<String> stale = new TreeSet<>(KernelTwins.twinOf().keySet());
        stale.removeAll(declared);
        assertTrue(stale.isEmpty(), "twins of kernels that no source declares: " + stale);
        assertEquals(EXPECTED_KERNELS, declared.size(), "kernels in tornado-kernels/*.cl: " + declared);
        try (Stream<Path> files = Files.list(SOURCES)) {
            Set<String> onDisk = new TreeSet<>(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cl")).toList());
            assertEquals(onDisk, new TreeSet<>(ClRuntime.SOURCES), "ClRuntime.SOURCES must list every .cl file");
        }
    }

    @TestFactory
    Stream<DynamicTest> everyKernelMatchesItsTwin() {
        return KernelTwins.KERNELS.keySet().stream().map(twin -> dynamicTest(twin + " " + KernelTwins.KERNELS.get(twin), () -> {
            ClRuntime.DeviceInfo info = OpenClTesting.devices().get(0);
            ClRuntime.Target target = ClRuntime.target(info.index());
            Random rng = new Random(twin.hashCode());
            try (CpuDevice cpu = new CpuDevice(2)) {
                double worst = 0;
                for (int round = 0; round < ROUNDS; round++) {
                    KernelTwins.Result r = KernelTwins.run(twin, target, cpu, rng, round);
                    for (String k : KernelTwins.KERNELS.get(twin)) {
                        assertTrue(r.launched().getOrDefault(k, 0L) > 0 || round > 0,
                                twin + " round 0 (" + r.shapes() + ") did not launch " + k + ": " + r.launched());
                    }
                    worst = Math.max(worst, r.worst());
                }
                ErrorLog.record("kernel twin opencl", twin, worst);
            }
        }));
    }
}
