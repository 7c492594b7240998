package mocoref.cpu;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToLongFunction;
import mocoref.float32.LayerTiming;

/**
 * Two builds of the cpu device timed side by side in one JVM: each build's classes in its own class
 * loader, the same convolution built in several copies of each ({@link AbProbe}, -Dab.copies, 4), each
 * pass timed on every copy in turn, the order reversed every other round. The VM this project is measured on drifts by 5-10% between JVMs and within
 * one (docs/performance.md); two builds timed in turns a few milliseconds apart see the same drift,
 * so a change of a few percent shows in the per-round ratios where separate runs bury it.
 *
 * <pre>java [the launcher's flags] -cp target/classes:target/test-classes:DEPS mocoref.cpu.ConvAB DIR_A DIR_B in out k stride size batch threads rounds
 * java [the launcher's flags, a heap for 4 copies of the model] ... mocoref.cpu.ConvAB DIR_A DIR_B step width threads batch rounds</pre>
 *
 * The second form times whole MoCo steps (mocoref.float32.AbStepProbe, StepTiming's configuration) instead of one convolution.
 *
 * DIR_A and DIR_B are project roots (their target/classes are loaded; AbProbe comes from this build's
 * target/test-classes and must compile against both), each optionally followed by system properties
 * that hold while its copies are made (their classes initialized), e.g. {@code /work/main,winograd.from=64}:
 * one build against itself with another setting. Prints per pass the medians of A and B (ms)
 * and the median and range of B/A over the rounds, and in how many rounds B was faster.
 */
public final class ConvAB {
    private ConvAB() {}

    private static final String[] PASSES = {"fwd", "dX", "dW"};

    public static void main(String[] a) throws Exception {
        boolean step = a[2].equals("step");
        int[] shape = new int[step ? 3 : 7];
        for (int i = 0; i < shape.length; i++) shape[i] = Integer.parseInt(a[(step ? 3 : 2) + i]);
        int rounds = Integer.parseInt(a[(step ? 3 : 2) + shape.length]);
        String[] passes = step ? new String[] {"step"} : PASSES;
        // several copies of each build, made in Thue-Morse order (A B B A B A A B): where a copy's arrays
        // land moved its times by 1-3% in tests of a build against itself, for good (a placement, not a
        // drift), so each build's time is the mean over copies made early and late
        int copies = Integer.getInteger("ab.copies", 4);
        List<ToLongFunction<String>> probes = new ArrayList<>();
        int[] build = new int[2 * copies];
        for (int j = 0; j < build.length; j++) {
            build[j] = Integer.bitCount(j) % 2;
            probes.add(probe(a[build[j]], step, shape));
        }
        // warm them: C2 compiles each copy's paths (each class loader has its own code) before any timing
        long warmEnd = System.nanoTime() + 2_000_000_000L * copies;
        while (System.nanoTime() < warmEnd) {
            for (String p : passes) for (ToLongFunction<String> probe : probes) probe.applyAsLong(p);
        }
        double[][] ta = new double[passes.length][rounds], tb = new double[passes.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < passes.length; i++) {
                double[] sum = new double[2];
                for (int j = 0; j < build.length; j++) {
                    int at = r % 2 == 0 ? j : build.length - 1 - j; // the rounds alternate the order
                    Thread.sleep(3); // the last pass's pool workers park (they spin about a millisecond first, on a core the next pass needs)
                    sum[build[at]] += probes.get(at).applyAsLong(passes[i]) / 1e6 / copies;
                }
                ta[i][r] = sum[0];
                tb[i][r] = sum[1];
            }
        }
        if (step) System.out.printf("step, width %d, %d threads, batch %d", shape[0], shape[1], shape[2]);
        else System.out.printf("%d->%d k%d s%d @%d n%d t%d", shape[0], shape[1], shape[2], shape[3], shape[4], shape[5], shape[6]);
        System.out.printf(", %d rounds over %d copies of each build%n", rounds, copies);
        for (int i = 0; i < passes.length; i++) {
            double[] ratio = new double[rounds];
            int faster = 0;
            for (int r = 0; r < rounds; r++) {
                ratio[r] = tb[i][r] / ta[i][r];
                if (ratio[r] < 1) faster++;
            }
            double[] sorted = ratio.clone();
            Arrays.sort(sorted);
            System.out.printf("  %-4s A %.2f ms  B %.2f ms  B/A %.3f [%.3f-%.3f]  B faster in %d of %d%n", passes[i], LayerTiming.median(ta[i]), LayerTiming.median(tb[i]),
                    LayerTiming.median(ratio), sorted[0], sorted[rounds - 1], faster, rounds);
        }
    }

    /** AbProbe from this build's test classes over DIR's main classes and this JVM's other jars. */
    private static ToLongFunction<String> probe(String spec, boolean step, int[] shape) throws Exception {
        String[] parts = spec.split(",");
        String dir = parts[0];
        java.util.Properties saved = (java.util.Properties) System.getProperties().clone();
        try {
            for (int i = 1; i < parts.length; i++) {
                String[] kv = parts[i].split("=", 2);
                System.setProperty(kv[0], kv[1]);
            }
            return probeOf(dir, step, shape);
        } finally {
            System.setProperties(saved);
        }
    }

    @SuppressWarnings("unchecked")
    private static ToLongFunction<String> probeOf(String dir, boolean step, int[] shape) throws Exception {
        List<URL> urls = new ArrayList<>();
        urls.add(new File(AbProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toURI().toURL());
        urls.add(new File(dir, "target/classes").toURI().toURL());
        String own = new File(ConvAB.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!entry.startsWith(own) && !entry.contains("/target/classes")) urls.add(new File(entry).toURI().toURL()); // the dependencies
        }
        ClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
        Class<?> c = Class.forName(step ? "mocoref.float32.AbStepProbe" : "mocoref.cpu.AbProbe", true, loader);
        if (c.getClassLoader() != loader) throw new IllegalStateException(c.getName() + " came from " + c.getClassLoader());
        return (ToLongFunction<String>) c.getConstructor(int[].class).newInstance((Object) shape);
    }
}
