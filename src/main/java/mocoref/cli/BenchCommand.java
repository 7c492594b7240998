package mocoref.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.tensor.Permutations;
import mocoref.backend.ImageBatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref bench}: times whole MoCo steps (query forward and backward, key forward, logits,
 * queue, momentum update, SGD) on random images, and reports the median over the timed steps.
 */
@Command(name = "bench", description = "Time whole MoCo steps.")
public final class BenchCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    MocoOptions mocoOptions;

    @Mixin
    OpenClOptions openCl;

    @Option(names = "--backend", defaultValue = "cpu", description = "reference, cpu, ... (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--threads", defaultValue = "0", description = "threads for multi-threaded backends (0: all cores)")
    int threads;

    @Option(names = "--steps", defaultValue = "20", description = "timed steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", description = "untimed steps first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the weights and images (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--json", description = "print one JSON object on one line instead of a table row")
    boolean json;

    @Override
    public void checkOptions(picocli.CommandLine.ParseResult parsed) {
        OptionRules.backendAndThreads(backend, threads);
        OptionRules.atLeast("--steps", steps, 1);
        OptionRules.atLeast("--warmup", warmup, 0);
    }

    @Override
    public Integer call() throws IOException {
        MocoConfig config = mocoOptions.config(modelOptions.model(), modelOptions.image());
        Backend b = openCl.backend(backend, threads);
        // a memory bank as large as Fashion-MNIST's train set (the gathers' cost does not depend on it much)
        int bankRows = Math.max(60000, config.batch());
        MocoModel model = b.create(config, FreshState.of(config, seed, bankRows), "bench");
        Random rng = new Random(seed);
        int n = config.batch();
        int[] shape = {n, config.image()[0], config.image()[1], config.image()[2]};
        ImageBatch imQ = randn(rng, shape), imK = randn(rng, shape);
        double[] ms = new double[steps];
        for (int s = 0; s < warmup + steps; s++) {
            int[] idx = Permutations.random(rng, n);
            int[] idx2 = config.symmetric() ? Permutations.random(rng, n) : null;
            int[] index = null, negatives = null;
            if (config.mechanism() == MocoConfig.Mechanism.MEMORY_BANK) {
                index = java.util.Arrays.copyOf(Permutations.random(rng, bankRows), n);
                negatives = rng.ints(config.K(), 0, bankRows).toArray();
            }
            long t0 = System.nanoTime();
            model.step(new StepInput(imQ, imK, idx, idx2, config.m(), config.lr(), false, index, negatives));
            long t1 = System.nanoTime();
            if (s >= warmup) ms[s - warmup] = (t1 - t0) / 1e6;
        }
        Arrays.sort(ms);
        double median = steps % 2 == 1 ? ms[steps / 2] : (ms[steps / 2 - 1] + ms[steps / 2]) / 2;
        double imagesPerS = n / (median / 1000);
        double peakRss = peakRssMiB();
        int usedThreads = b.isFloat64() ? 1 : (threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("backend", b.name());
            o.put("threads", usedThreads);
            o.put("images_per_s", round(imagesPerS, 1));
            o.put("step_ms_median", round(median, 2));
            o.put("step_ms_min", round(ms[0], 2));
            o.put("step_ms_max", round(ms[steps - 1], 2));
            o.put("steps", steps);
            o.put("warmup", warmup);
            o.put("peak_rss_mib", round(peakRss, 1));
            o.put("arch", modelOptions.arch);
            o.put("width", modelOptions.width);
            o.put("stem", modelOptions.stem);
            o.put("in_channels", modelOptions.inChannels);
            o.put("image_size", modelOptions.imageSize);
            o.put("batch_size", n);
            o.put("moco_k", config.K());
            o.put("moco_dim", config.model().dim());
            o.put("mlp", config.model().mlp());
            o.put("devices", config.devices());
            o.put("symmetric", config.symmetric());
            o.put("mechanism", config.mechanism().id());
            o.put("java", System.getProperty("java.version"));
            out.println(o.toString());
        } else {
            out.println(String.format("%-9s %2d threads | %s %s w%d %s %dx%dx%d b%d K%d dim%d%s G%d%s | %8.1f ms/step (median of %d) | %7.1f images/s | peak RSS %6.0f MiB",
                    b.name(), usedThreads, modelOptions.arch, config.model().block().id(), modelOptions.width, modelOptions.stem,
                    config.image()[0], config.image()[1], config.image()[2], n, config.K(), config.model().dim(),
                    config.model().mlp() ? " mlp" : "", config.devices(), config.symmetric() ? " sym" : "",
                    median, steps, imagesPerS, peakRss));
        }
        out.flush();
        model.close(); // frees the device (with -Dmocoref.opencl.profile=true, the opencl device prints its kernel times)
        return 0;
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    /** The process's peak resident set (VmHWM), in MiB; NaN where /proc is not available. */
    static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /** Standard-normal float32 images (a float64 backend widens them once: the batch is reused every step). */
    private static ImageBatch randn(Random rng, int[] shape) {
        float[] x = new float[shape[0] * shape[1] * shape[2] * shape[3]];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        return ImageBatch.of(x, shape[0], shape[1], shape[2], shape[3]);
    }
}
