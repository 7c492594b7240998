package mocoref.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.registry.Backends;
import mocoref.golden.Float32Conditioning;
import mocoref.golden.GoldenCase;
import mocoref.golden.GoldenMaker;
import mocoref.golden.GoldenReport;
import mocoref.golden.GoldenRunner;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/** {@code moco-ref golden}: run, make and verify golden cases of the MoCo step. */
@Command(name = "golden", description = "Run, make and verify golden cases of the MoCo step.",
        subcommands = {GoldenCommand.Run.class, GoldenCommand.Verify.class, GoldenCommand.Make.class})
public final class GoldenCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Main.EXIT_USAGE;
    }

    /** Tolerance of the per-tensor relative error: 1e-9 when both sides are float64, else 2e-4. */
    static double tolerance(boolean float64Backend, GoldenCase c) {
        return float64Backend && c.dtype().equals("float64") ? 1e-9 : Float32Conditioning.TOLERANCE;
    }

    @Command(name = "run", description = "Run a case's steps on a backend and write every tensor that expected.safetensors names.")
    static final class Run implements Callable<Integer>, CheckedOptions {
        @Parameters(paramLabel = "CASE", description = "golden case directory")
        Path caseDir;

        @Option(names = "--backend", defaultValue = "reference", description = "reference, cpu, ... (default: ${DEFAULT-VALUE})")
        String backend;

        @Option(names = "--threads", defaultValue = "0", description = "threads for multi-threaded backends (0: all cores)")
        int threads;

        @Option(names = "--out", required = true, description = "output .safetensors file")
        Path out;

        @picocli.CommandLine.Mixin
        OpenClOptions openCl;

        @Override
        public void checkOptions(ParseResult parsed) {
            OptionRules.backendAndThreads(backend, threads);
        }

        @Override
        public Integer call() {
            OutputPaths.checkFile("--out", out);
            GoldenCase c = GoldenCase.load(caseDir);
            Backend b = openCl.backend(backend, threads);
            Map<String, StoredTensor> produced = GoldenRunner.run(c, b);
            var expectedNames = SafeTensors.read(c.expectedFile()).names();
            Map<String, StoredTensor> outTensors = new java.util.LinkedHashMap<>();
            for (String name : expectedNames) {
                StoredTensor t = produced.get(name);
                if (t == null) throw new MocoRefException(c.expectedFile() + ": names '" + name + "', which backend " + backend + " does not produce");
                outTensors.put(name, t);
            }
            SafeTensors.write(out, outTensors, Map.of("case", c.name(), "backend", b.name()));
            return 0;
        }
    }

    @Command(name = "verify", description = "Compare a backend's (or a file's) results with expected.safetensors, tensor by tensor.")
    static final class Verify implements Callable<Integer>, CheckedOptions {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "CASE", arity = "1..*", description = "golden case directories")
        List<Path> cases;

        @Option(names = "--backend", defaultValue = "reference", description = "backend to run (default: ${DEFAULT-VALUE})")
        String backend;

        @Option(names = "--threads", defaultValue = "0", description = "threads for multi-threaded backends (0: all cores)")
        int threads;

        @Option(names = "--actual", description = "compare this file (written by any implementation) instead of running a backend; one CASE only")
        Path actual;

        @picocli.CommandLine.Mixin
        OpenClOptions openCl;

        @Option(names = "--tolerance", description = "the relative tolerance of every tensor (default 1e-9 where both sides are float64, else 2e-4)")
        Double tolerance;

        @Override
        public void checkOptions(ParseResult parsed) {
            OptionRules.backendAndThreads(backend, threads);
            if (tolerance != null) OptionRules.positive("--tolerance", tolerance);
            if (actual != null && cases.size() != 1) throw new OptionException("--actual compares one file with one CASE, got " + cases.size() + " cases");
        }

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            // Every case and the --actual file first: a typo in the last one must not wait for the others to run.
            List<GoldenCase> loaded = cases.stream().map(GoldenCase::load).toList();
            if (actual != null && !Files.isRegularFile(actual)) throw new MocoRefException(actual + ": no such file (--actual)");
            int passed = 0, failed = 0, skipped = 0;
            Backend b = actual == null ? openCl.backend(backend, threads) : null;
            for (GoldenCase c : loaded) {
                Map<String, StoredTensor> produced;
                double tol;
                String who;
                if (actual != null) {
                    produced = SafeTensors.read(actual).tensors();
                    boolean f64 = produced.values().stream().noneMatch(t -> t.dtype() == mocoref.io.DType.F32);
                    tol = tolerance != null ? tolerance : tolerance(f64, c);
                    who = actual.toString();
                } else {
                    if (!b.isFloat64() && !c.float32Held()) {
                        out.println("case " + c.name() + ": skipped for float32 backends (case.json: float32.held is false)");
                        skipped++;
                        continue;
                    }
                    String cannot = openCl.cannotRun(backend, c);
                    if (cannot != null) {
                        out.println("case " + c.name() + ": skipped on these devices: " + cannot);
                        skipped++;
                        continue;
                    }
                    produced = GoldenRunner.run(c, b);
                    tol = tolerance != null ? tolerance : tolerance(b.isFloat64(), c);
                    who = "backend " + b.name();
                }
                GoldenReport report = GoldenReport.compare(SafeTensors.read(c.expectedFile()), produced, tol);
                out.println("case " + c.name() + " (" + who + ", tolerance " + String.format("%.0e", tol) + ")");
                report.format().forEach(line -> out.println("  " + line));
                out.println(String.format("  worst relative error %.3e", report.worst()));
                passed += report.passed();
                failed += report.failed();
            }
            out.println(passed + " passed, " + failed + " failed" + (skipped > 0 ? ", " + skipped + " case(s) skipped" : ""));
            out.flush();
            if (passed + failed == 0) {
                throw new MocoRefException("golden verify: nothing was verified (" + (skipped > 0 ? "every case was skipped for the "
                        + b.name() + " backend" : "the expected files hold no tensors") + ")");
            }
            return failed == 0 ? 0 : 1;
        }
    }

    @Command(name = "make", description = "Make a new golden case from the reference backend (float64).")
    static final class Make implements Callable<Integer>, CheckedOptions {
        @Spec
        CommandSpec spec;

        @Option(names = "--out", required = true, description = "directory to create the case in") Path out;
        @Option(names = "--arch", description = "resnet10, resnet18, resnet34 or resnet50 (overrides --block/--layers)") String arch;
        @Option(names = "--block", defaultValue = "basic", description = "basic or bottleneck (default: ${DEFAULT-VALUE})") String block;
        @Option(names = "--layers", defaultValue = "1,1,1,1", split = ",", description = "blocks per stage (default: ${DEFAULT-VALUE})") int[] layers;
        @Option(names = "--width", defaultValue = "4", description = "channels of stage 1 (default: ${DEFAULT-VALUE})") int width;
        @Option(names = "--stem", defaultValue = "cifar", description = "cifar or imagenet (default: ${DEFAULT-VALUE})") String stem;
        @Option(names = "--in-channels", defaultValue = "1", description = "image channels (default: ${DEFAULT-VALUE})") int inChannels;
        @Option(names = "--image-size", defaultValue = "16", description = "image height and width (default: ${DEFAULT-VALUE})") int imageSize;
        @Option(names = "--moco-dim", defaultValue = "8", description = "feature dimension (default: ${DEFAULT-VALUE})") int dim;
        @Option(names = "--mlp", description = "MoCo v2's MLP head") boolean mlp;
        @Option(names = "--moco-k", defaultValue = "16", description = "queue length K (default: ${DEFAULT-VALUE})") int k;
        @Option(names = "--moco-m", defaultValue = "0.99", description = "key encoder momentum (default: ${DEFAULT-VALUE})") double m;
        @Option(names = "--moco-t", defaultValue = "0.07", description = "temperature (default: ${DEFAULT-VALUE})") double t;
        @Option(names = "--devices", defaultValue = "2", description = "logical devices G for shuffle BN (default: ${DEFAULT-VALUE})") int devices;
        @Option(names = "--moco-m-cos", description = "cosine momentum schedule over --total-steps") boolean mCos;
        @Option(names = "--total-steps", defaultValue = "0", description = "length of the cosine momentum schedule") long totalSteps;
        @Option(names = "--step-offset", defaultValue = "0", description = "steps taken before this case starts") long stepOffset;
        @Option(names = "--symmetric", description = "symmetric loss L(q1,k2) + L(q2,k1)") boolean symmetric;
        @Option(names = "--lr", defaultValue = "0.03", description = "learning rate (default: ${DEFAULT-VALUE})") double lr;
        @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE})") double momentum;
        @Option(names = "--wd", defaultValue = "1e-4", description = "weight decay (default: ${DEFAULT-VALUE})") double wd;
        @Option(names = "--batch-size", defaultValue = "8", description = "batch N (default: ${DEFAULT-VALUE})") int batch;
        @Option(names = "--steps", defaultValue = "2", description = "steps (default: ${DEFAULT-VALUE})") int steps;
        @Option(names = "--seed", defaultValue = "0", description = "seed of the initial state and inputs (default: ${DEFAULT-VALUE})") long seed;
        @Option(names = "--float32-check", defaultValue = "cpu", description = "float32 backend that decides whether float32 backends are held to the case ('none' to skip; default: ${DEFAULT-VALUE})") String float32Check;

        @Override
        public void checkOptions(ParseResult parsed) {
            if (arch != null) OptionRules.parses("--arch", () -> ResNetConfig.preset(arch, 1, 1, ResNetConfig.Stem.CIFAR, 1, false));
            OptionRules.parses("--block", () -> ResNetConfig.Block.parse(block));
            if (layers.length != 4) throw new OptionException("--layers must give 4 stages, got " + layers.length);
            for (int n : layers) OptionRules.atLeast("--layers", n, 1);
            OptionRules.atLeast("--width", width, 1);
            OptionRules.parses("--stem", () -> ResNetConfig.Stem.parse(stem));
            OptionRules.atLeast("--in-channels", inChannels, 1);
            OptionRules.atLeast("--image-size", imageSize, 1);
            OptionRules.atLeast("--moco-dim", dim, 1);
            MocoOptions.checkValues(batch, k, devices, m, t, lr, momentum, wd);
            MocoOptions.checkCombination(batch, k, devices, symmetric);
            OptionRules.atLeast(mCos ? "--total-steps (with --moco-m-cos)" : "--total-steps", totalSteps, mCos ? 1 : 0);
            OptionRules.atLeast("--step-offset", stepOffset, 0);
            if (!mCos && (parsed.hasMatchedOption("--total-steps") || parsed.hasMatchedOption("--step-offset"))) {
                throw new OptionException("--total-steps and --step-offset shape the cosine momentum schedule; they need --moco-m-cos");
            }
            OptionRules.atLeast("--steps", steps, 1);
            List<String> checks = new java.util.ArrayList<>(Backends.NAMES);
            checks.add("none");
            OptionRules.oneOf("--float32-check", float32Check, checks);
        }

        @Override
        public Integer call() {
            OutputPaths.checkFolder("--out", out);
            ResNetConfig model = arch != null
                    ? ResNetConfig.preset(arch, width, inChannels, ResNetConfig.Stem.parse(stem), dim, mlp)
                    : new ResNetConfig(ResNetConfig.Block.parse(block), layers, width, inChannels, ResNetConfig.Stem.parse(stem), dim, mlp);
            MocoConfig config = new MocoConfig(model, k, m, t, devices,
                    mCos ? MocoConfig.MomentumSchedule.COSINE : MocoConfig.MomentumSchedule.CONSTANT, totalSteps, stepOffset,
                    symmetric, lr, momentum, wd, batch, new int[] {inChannels, imageSize, imageSize});
            Backend f32 = float32Check.equals("none") ? null : Backends.byName(float32Check, 0);
            if (f32 != null && f32.isFloat64()) throw new OptionException("--float32-check needs a float32 backend, '" + float32Check + "' is float64");
            GoldenCase c = GoldenMaker.make(out, config, steps, seed, f32);
            PrintWriter w = spec.commandLine().getOut();
            w.println("wrote " + out + " (" + steps + " steps, " + model + "; float32 held: " + c.float32Held() + ")");
            w.flush();
            return 0;
        }
    }
}
