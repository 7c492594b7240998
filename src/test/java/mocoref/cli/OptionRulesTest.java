package mocoref.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import mocoref.model.ResNetConfig;
import mocoref.testing.Cli;
import mocoref.train.Checkpoint;
import mocoref.train.TrainConfig;
import mocoref.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every rule the commands apply to their options and paths, one row each: a command line, the exit
 * code it must end with (2: the command line is wrong; 1: a file or folder is) and a fragment of
 * its one-line message. No row may print a stack trace or more than one line.
 *
 * <p>Each row must also be refused before any data is read. The files the rows name are poisoned:
 * the dataset folder holds IDX files whose headers promise images they do not hold, the
 * checkpoint {@code POISON} is not a safetensors file, and the checkpoints under {@code RUN} and
 * {@code DONE} hold metadata but no tensors. So a rule checked only after loading would end with
 * the poison's message instead of its own, and the "accepted" rows, which must reach the loading,
 * end with exactly that message ("truncated"). {@link #everyOptionOfEveryCommandHasARowOrIsFree}
 * keeps the table complete as options are added.
 */
class OptionRulesTest {
    @TempDir
    static Path tmp;

    static Path data;
    static Path run;
    static Path done;
    static Path moved;
    static Path poison;
    static Path file;
    static Path images;

    /** Options whose every value is allowed (switches, seeds): no rule to test. Bench's own options are BenchCommand's. */
    static final Map<String, Set<String>> FREE = Map.of(
            "train", Set.of("--seed", "--cos", "--moco-m-cos", "--baselines", "--mlp", "--symmetric", "--no-shuffle-bn", "--detect-anomaly"),
            "ablate", Set.of("--seed", "--mlp", "--symmetric", "--no-shuffle-bn", "--data"),
            "knn", Set.of("--embedding", "--seed", "--mlp"),
            "lincls", Set.of("--cached-features", "--seed", "--mlp", "--fixed"),
            "features", Set.of("--mlp"),
            "export", Set.of("--mlp"),
            "golden make", Set.of("--mlp", "--symmetric", "--seed"),
            "bench", Set.of("--seed", "--json", "--mlp", "--symmetric", "--no-shuffle-bn"));

    @BeforeAll
    static void files() throws Exception {
        data = tmp.resolve("poisoned-data");
        Files.createDirectories(data);
        for (String split : new String[] {"train", "t10k"}) {
            Files.write(data.resolve(split + "-images-idx3-ubyte"), ByteBuffer.allocate(16).putInt(0x803).putInt(10).putInt(4).putInt(4).array());
            Files.write(data.resolve(split + "-labels-idx1-ubyte"), ByteBuffer.allocate(8).putInt(0x801).putInt(10).array());
        }
        poison = tmp.resolve("poison.safetensors");
        Files.writeString(poison, "not tensors at all, but long enough to have a header length\n");
        file = tmp.resolve("a-file");
        Files.writeString(file, "x");
        images = tmp.resolve("images.safetensors");
        mocoref.io.SafeTensors.write(images, Map.of(), Map.of());
        Files.createDirectories(tmp.resolve("empty"));
        run = checkpoint("run", data, 2, 4, false);
        done = checkpoint("done", data, 2, 2, true);
        moved = checkpoint("moved", tmp.resolve("was-here"), 1, 4, false);
    }

    /** A run folder whose checkpoint_last holds a configuration (resnet18 width 4, batch 16, K 64, cpu, lr 0.06, ...) and no tensors. */
    static Path checkpoint(String name, Path dataDir, int epoch, int epochs, boolean finished) throws Exception {
        ResNetConfig model = ResNetConfig.preset("resnet18", 4, 1, ResNetConfig.Stem.CIFAR, 16, true);
        TrainConfig c = new TrainConfig(model, 16, 64, 0.99, 0.1, 2, false, false, 0.06, 0.9, 5e-4, true, new int[] {120, 160},
                epochs, 16, "fashion", 7, dataDir.toString(), 0, 5, 0.1, new double[] {0.5}, new double[] {0.25});
        Path dir = tmp.resolve(name);
        new Checkpoint(c, epoch, 8L * epoch, 2, "cpu", List.of(), Map.of()).write(dir.resolve(Checkpoint.LAST));
        if (finished) Files.writeString(dir.resolve(Trainer.FINAL), "{}\n");
        return dir;
    }

    record Row(int code, String fragment, List<String> args) {
        @Override
        public String toString() {
            return String.join(" ", args) + " -> " + code;
        }
    }

    static Row row(int code, String fragment, String... args) {
        return new Row(code, fragment, List.of(args));
    }

    /** The placeholders in rows are replaced by the fixture paths. */
    static List<String> resolve(List<String> args) {
        List<String> out = new ArrayList<>();
        for (String a : args) {
            out.add(switch (a) {
                case "DATA" -> data.toString();
                case "RUN" -> run.toString();
                case "DONE" -> done.toString();
                case "MOVED" -> moved.toString();
                case "POISON" -> poison.toString();
                case "FILE" -> file.toString();
                case "UNDER_FILE" -> file.resolve("sub").toString();
                case "IMAGES" -> images.toString();
                case "EMPTY" -> tmp.resolve("empty").toString();
                case "NOWHERE" -> tmp.resolve("nowhere").toString();
                case "OUT" -> tmp.resolve("out").toString();
                case "CASE" -> "reference-tests/cases/basic_cifar_g1_k16";
                default -> a;
            });
        }
        return out;
    }

    static final String LOADED = "truncated"; // what the poisoned dataset says once read

    static List<Row> rows() {
        List<Row> r = new ArrayList<>();
        // ---- train: its own options ----
        r.add(row(2, "--epochs must be at least 1, got 0", "train", "--data", "DATA", "--epochs", "0"));
        r.add(row(2, "'abc' is not an int", "train", "--data", "DATA", "--epochs", "abc"));
        r.add(row(2, "--schedule must be at least 1, got 0", "train", "--data", "DATA", "--no-cos", "--schedule", "0"));
        r.add(row(2, "--schedule sets the x0.1 drops of the step schedule, which needs --no-cos", "train", "--data", "DATA", "--schedule", "50"));
        r.add(row(2, "--aug: unknown 'v3' (expected v1, v2, fashion)", "train", "--data", "DATA", "--aug", "v3"));
        r.add(row(2, "--aug-plus is --aug v2, but --aug v1 was given too", "train", "--data", "DATA", "--aug-plus", "--aug", "v1"));
        r.add(row(2, "--backend: unknown 'gpu' (expected reference, cpu, opencl)", "train", "--data", "DATA", "--backend", "gpu"));
        r.add(row(2, "--threads must be between 0 and 256, got -1", "train", "--data", "DATA", "--threads", "-1"));
        r.add(row(2, "--threads must be between 0 and 256, got 100000", "train", "--data", "DATA", "--threads", "100000"));
        r.add(row(2, "--subset must be at least 0, got -1", "train", "--data", "DATA", "--subset", "-1"));
        r.add(row(2, "--subset 8 is fewer images than one --batch-size 16", "train", "--data", "DATA", "--subset", "8", "--batch-size", "16", "--moco-k", "32"));
        r.add(row(2, "--knn-k must be at least 1, got 0", "train", "--data", "DATA", "--knn-k", "0"));
        r.add(row(2, "--monitor must be at least 0, got -1", "train", "--data", "DATA", "--monitor", "-1"));
        r.add(row(2, "--preset: unknown 'fast' (expected quick, 1h, none)", "train", "--data", "DATA", "--preset", "fast"));
        r.add(row(2, "--preset chooses the recipe of a new run; a resumed run keeps its checkpoint's", "train", "--resume", "RUN",
                "--preset", "quick"));
        r.add(row(2, "--warmup-epochs must be 0 or more, got -1", "train", "--data", "DATA", "--warmup-epochs", "-1"));
        r.add(row(2, "--aug: crop must be in [0.01, 1.0], got 2.0", "train", "--data", "DATA", "--aug", "fashion:crop=2"));
        r.add(row(2, "--knn-t must be a positive number, got 0", "train", "--data", "DATA", "--knn-t", "0"));
        r.add(row(2, "--knn-t must be a positive number, got NaN", "train", "--data", "DATA", "--knn-t", "NaN"));
        // ---- train: the model (ModelOptions, shared with bench) ----
        r.add(row(2, "--arch: unknown arch 'resnet19' (expected resnet10, resnet18, resnet34 or resnet50)", "train", "--data", "DATA", "--arch", "resnet19"));
        r.add(row(2, "--width must be at least 1, got 0", "train", "--data", "DATA", "--width", "0"));
        r.add(row(2, "--stem: unknown stem 'vgg'", "train", "--data", "DATA", "--stem", "vgg"));
        r.add(row(2, "--in-channels must be 1 or 3, got 2", "train", "--data", "DATA", "--in-channels", "2"));
        r.add(row(2, "--image-size must be at least 1, got 0", "train", "--data", "DATA", "--image-size", "0"));
        r.add(row(2, "--moco-dim must be at least 1, got 0", "train", "--data", "DATA", "--moco-dim", "0"));
        // ---- train: MoCo and the optimizer (MocoOptions, shared with bench) ----
        r.add(row(2, "--batch-size must be at least 1, got 0", "train", "--data", "DATA", "--batch-size", "0"));
        r.add(row(2, "--moco-k must be at least 1, got 0", "train", "--data", "DATA", "--moco-k", "0"));
        r.add(row(2, "--devices must be at least 1, got 0", "train", "--data", "DATA", "--devices", "0"));
        r.add(row(2, "--moco-m must be in [0, 1], got 1.5", "train", "--data", "DATA", "--moco-m", "1.5"));
        r.add(row(2, "--moco-m must be in [0, 1], got -0.1", "train", "--data", "DATA", "--moco-m", "-0.1"));
        r.add(row(2, "--moco-t must be a positive number, got 0", "train", "--data", "DATA", "--moco-t", "0"));
        r.add(row(2, "--lr must be a positive number, got 0", "train", "--data", "DATA", "--lr", "0"));
        r.add(row(2, "--lr must be a positive number, got Infinity", "train", "--data", "DATA", "--lr", "Infinity"));
        r.add(row(2, "--momentum must be in [0, 1), got 1", "train", "--data", "DATA", "--momentum", "1"));
        r.add(row(2, "--wd must be 0 or more, got -1", "train", "--data", "DATA", "--wd", "-1"));
        r.add(row(2, "--batch-size 16 must be a multiple of --devices 3", "train", "--data", "DATA", "--batch-size", "16", "--devices", "3", "--moco-k", "48"));
        r.add(row(2, "--moco-k 40 must be a multiple of the 16 keys enqueued per step (--batch-size 16)", "train", "--data", "DATA", "--batch-size", "16", "--moco-k", "40"));
        r.add(row(2, "--moco-k 48 must be a multiple of the 32 keys enqueued per step (2 x --batch-size 16 with --symmetric)", "train", "--data", "DATA", "--batch-size", "16", "--moco-k", "48", "--symmetric"));
        r.add(row(2, "--mechanism: unknown mechanism 'byol' (expected moco, end-to-end or memory-bank)", "train", "--data", "DATA", "--mechanism", "byol"));
        r.add(row(2, "end-to-end's dictionary is the batch, so K is --batch-size - 1 = 15", "train", "--data", "DATA", "--mechanism", "end-to-end",
                "--batch-size", "16", "--moco-k", "32"));
        // ---- train: paths (exit 1) ----
        r.add(row(1, "nowhere: no such dataset directory", "train", "--data", "NOWHERE"));
        r.add(row(1, "no dataset found", "train", "--data", "EMPTY"));
        r.add(row(1, "--out is a file, not a directory", "train", "--data", "DATA", "--out", "FILE"));
        r.add(row(1, "a-file is a file", "train", "--data", "DATA", "--out", "UNDER_FILE"));
        r.add(row(1, "already holds a training run (checkpoint_last.safetensors); continue it with --resume", "train", "--data", "DATA", "--out", "RUN"));
        r.add(row(1, "nowhere: no such checkpoint", "train", "--resume", "NOWHERE"));
        r.add(row(1, "not a safetensors file", "train", "--resume", "POISON"));
        r.add(row(1, "the checkpoint's training data; if it has moved, pass --data DIR", "train", "--resume", "MOVED"));
        r.add(row(1, "already holds a training run", "train", "--resume", "MOVED", "--data", "DATA", "--out", "RUN"));
        // ---- train --resume: what a resumed run may not change ----
        r.add(row(2, "--lr 0.1 contradicts", "train", "--resume", "RUN", "--lr", "0.1"));
        r.add(row(2, "which has 0.06; a resumed run keeps its configuration and may change only --epochs, --threads, --out, --data", "train", "--resume", "RUN", "--lr", "0.1"));
        r.add(row(2, "--width 8 contradicts", "train", "--resume", "RUN", "--width", "8"));
        r.add(row(2, "--mlp false contradicts", "train", "--resume", "RUN", "--no-mlp"));
        r.add(row(2, "--arch basic [3, 4, 6, 3] contradicts", "train", "--resume", "RUN", "--arch", "resnet34"));
        r.add(row(2, "--aug-plus v2 contradicts", "train", "--resume", "RUN", "--aug-plus"));
        r.add(row(2, "--schedule 5 contradicts", "train", "--resume", "RUN", "--schedule", "5"));
        r.add(row(2, "--batch-size 24 contradicts", "train", "--resume", "RUN", "--batch-size", "24"));
        r.add(row(2, "--moco-k 128 contradicts", "train", "--resume", "RUN", "--moco-k", "128"));
        r.add(row(2, "--seed 8 contradicts", "train", "--resume", "RUN", "--seed", "8"));
        r.add(row(2, "--knn-k 200 contradicts", "train", "--resume", "RUN", "--knn-k", "200"));
        r.add(row(2, "--symmetric true contradicts", "train", "--resume", "RUN", "--symmetric"));
        r.add(row(2, "--backend reference: ", "train", "--resume", "RUN", "--backend", "reference"));
        r.add(row(2, "was trained on the cpu backend; resume it there", "train", "--resume", "RUN", "--backend", "reference"));
        r.add(row(2, "--epochs 1 is not above the 2 epochs", "train", "--resume", "RUN", "--epochs", "1"));
        r.add(row(2, "is complete (2 of 2 epochs); give --epochs above 2 to train on", "train", "--resume", "DONE"));
        r.add(row(2, "--epochs 2 is not above the 2 epochs", "train", "--resume", "DONE", "--epochs", "2"));
        r.add(row(2, "--mechanism end-to-end contradicts", "train", "--resume", "RUN", "--mechanism", "end-to-end", "--moco-k", "15",
                "--batch-size", "16"));
        r.add(row(2, "--no-shuffle-bn true contradicts", "train", "--resume", "RUN", "--no-shuffle-bn"));
        // ---- accepted: these reach the data (and so the poison) ----
        r.add(row(1, LOADED, "train", "--data", "DATA", "--out", "OUT", "--epochs", "1", "--batch-size", "16", "--moco-k", "32", "--subset", "16"));
        r.add(row(1, LOADED, "train", "--resume", "RUN", "--epochs", "5", "--threads", "1", "--lr", "0.06", "--width", "4", "--mlp", "--cos"));
        r.add(row(1, LOADED, "train", "--resume", "RUN", "--backend", "cpu", "--arch", "resnet18", "--aug", "fashion", "--schedule", "120,160",
                "--batch-size", "16", "--moco-k", "64", "--devices", "2", "--no-baselines", "--data", "DATA", "--out", "RUN"));
        r.add(row(1, LOADED, "train", "--resume", "DONE", "--epochs", "3"));
        r.add(row(1, LOADED, "train", "--resume", "RUN", "--monitor", "1000"));
        r.add(row(1, LOADED, "train", "--data", "DATA", "--out", "OUT", "--preset", "quick", "--epochs", "1", "--batch-size", "16", "--moco-k", "32",
                "--subset", "16"));

        // ---- the OpenCL device options (every command that builds a backend) ----
        r.add(row(2, "--cl-device applies to --backend opencl only", "train", "--data", "DATA", "--backend", "reference", "--cl-device", "1"));
        r.add(row(2, "--cl-devices: ", "train", "--data", "DATA", "--backend", "opencl", "--cl-devices", "split:x"));
        r.add(row(2, "--cl-device applies to --backend opencl only", "bench", "--backend", "reference", "--cl-device", "1"));
        r.add(row(2, "--cl-devices: ", "bench", "--backend", "opencl", "--cl-devices", "split:x"));
        r.add(row(2, "--cl-device applies to --backend opencl only", "knn", "--checkpoint", "POISON", "--backend", "reference", "--cl-device", "1"));
        r.add(row(2, "--cl-devices: ", "knn", "--checkpoint", "POISON", "--backend", "opencl", "--cl-devices", "split:x"));
        r.add(row(2, "--cl-device applies to --backend opencl only", "lincls", "--checkpoint", "POISON", "--backend", "reference", "--cl-device", "1"));
        r.add(row(2, "--cl-devices: ", "lincls", "--checkpoint", "POISON", "--backend", "opencl", "--cl-devices", "split:x"));
        r.add(row(2, "--cl-device applies to --backend opencl only", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--backend", "reference", "--cl-device", "1"));
        r.add(row(2, "--cl-devices: ", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--backend", "opencl", "--cl-devices", "split:x"));
        r.add(row(2, "--cl-device applies to --backend opencl only", "export", "--checkpoint", "POISON", "--out", "OUT", "--backend", "reference", "--cl-device", "1"));
        r.add(row(2, "--cl-devices: ", "export", "--checkpoint", "POISON", "--out", "OUT", "--backend", "opencl", "--cl-devices", "split:x"));
        r.add(row(2, "--cl-device applies to --backend opencl only", "golden", "run", "CASE", "--out", "OUT", "--backend", "reference", "--cl-device", "1"));
        r.add(row(2, "--cl-devices: ", "golden", "run", "CASE", "--out", "OUT", "--backend", "opencl", "--cl-devices", "split:x"));
        r.add(row(2, "--cl-device applies to --backend opencl only", "golden", "verify", "CASE", "--backend", "reference", "--cl-device", "1"));
        r.add(row(2, "--cl-devices: ", "golden", "verify", "CASE", "--backend", "opencl", "--cl-devices", "split:x"));
        // ---- ablate ----
        r.add(row(2, "STUDY: unknown study 'lr' (expected momentum, mechanism, shuffle-bn or queue-size)", "ablate", "lr", "--data", "DATA"));
        r.add(row(2, "--seeds must be at least 1, got 0", "ablate", "momentum", "--data", "DATA", "--seeds", "0"));
        r.add(row(2, "--epochs must be at least 1, got 0", "ablate", "momentum", "--data", "DATA", "--epochs", "0"));
        r.add(row(2, "--budget must be a positive number, got 0", "ablate", "momentum", "--data", "DATA", "--budget", "0"));
        r.add(row(2, "--epochs and --budget both size the runs: give one", "ablate", "momentum", "--data", "DATA", "--epochs", "2", "--budget", "10"));
        r.add(row(2, "--subset must be at least 0, got -1", "ablate", "momentum", "--data", "DATA", "--subset", "-1"));
        r.add(row(2, "--subset 100 is fewer images than one --batch-size 256", "ablate", "momentum", "--data", "DATA", "--subset", "100"));
        r.add(row(2, "--monitor must be at least 0, got -5", "ablate", "momentum", "--data", "DATA", "--monitor", "-5"));
        r.add(row(2, "--sizes must be at least 2, got 1", "ablate", "queue-size", "--data", "DATA", "--sizes", "256,1"));
        r.add(row(2, "--aug: unknown 'v9'", "ablate", "momentum", "--data", "DATA", "--aug", "v9"));
        r.add(row(2, "--backend: unknown 'x'", "ablate", "momentum", "--data", "DATA", "--backend", "x"));
        r.add(row(2, "--threads must be between 0 and 256, got -1", "ablate", "momentum", "--data", "DATA", "--threads", "-1"));
        r.add(row(2, "--width must be at least 1, got 0", "ablate", "momentum", "--data", "DATA", "--width", "0"));
        r.add(row(2, "--arch: unknown arch 'x'", "ablate", "momentum", "--data", "DATA", "--arch", "x"));
        r.add(row(2, "--stem: unknown stem 'x'", "ablate", "momentum", "--data", "DATA", "--stem", "x"));
        r.add(row(2, "--in-channels must be 1 or 3, got 0", "ablate", "momentum", "--data", "DATA", "--in-channels", "0"));
        r.add(row(2, "--image-size must be at least 1, got 0", "ablate", "momentum", "--data", "DATA", "--image-size", "0"));
        r.add(row(2, "--moco-dim must be at least 1, got 0", "ablate", "momentum", "--data", "DATA", "--moco-dim", "0"));
        r.add(row(2, "--batch-size must be at least 1, got 0", "ablate", "momentum", "--data", "DATA", "--batch-size", "0"));
        r.add(row(2, "--moco-k must be at least 1, got 0", "ablate", "momentum", "--data", "DATA", "--moco-k", "0"));
        r.add(row(2, "--devices must be at least 1, got 0", "ablate", "momentum", "--data", "DATA", "--devices", "0"));
        r.add(row(2, "--moco-m must be in [0, 1], got 2", "ablate", "momentum", "--data", "DATA", "--moco-m", "2"));
        r.add(row(2, "--moco-t must be a positive number, got 0", "ablate", "momentum", "--data", "DATA", "--moco-t", "0"));
        r.add(row(2, "--lr must be a positive number, got 0", "ablate", "momentum", "--data", "DATA", "--lr", "0"));
        r.add(row(2, "--momentum must be in [0, 1), got 1", "ablate", "momentum", "--data", "DATA", "--momentum", "1"));
        r.add(row(2, "--wd must be 0 or more, got -1", "ablate", "momentum", "--data", "DATA", "--wd", "-1"));
        r.add(row(2, "--mechanism: unknown mechanism 'x'", "ablate", "momentum", "--data", "DATA", "--mechanism", "x"));
        r.add(row(1, "--out is a file, not a directory", "ablate", "momentum", "--data", "DATA", "--out", "FILE"));
        r.add(row(1, "nowhere: no such dataset directory", "ablate", "momentum", "--data", "NOWHERE"));
        r.add(row(1, LOADED, "ablate", "shuffle-bn", "--data", "DATA", "--out", "OUT", "--epochs", "1", "--seeds", "2", "--subset", "0",
                "--monitor", "100", "--sizes", "16,32"));

        // ---- knn (and the options it shares with lincls, features, export) ----
        r.add(row(2, "--k must be at least 1, got 0", "knn", "--checkpoint", "POISON", "--k", "0"));
        r.add(row(2, "--t must be a positive number, got -1", "knn", "--checkpoint", "POISON", "--t", "-1"));
        r.add(row(2, "--batch-size must be at least 1, got 0", "knn", "--checkpoint", "POISON", "--batch-size", "0"));
        r.add(row(2, "--image-size must be at least 1, got 0", "knn", "--checkpoint", "POISON", "--image-size", "0"));
        r.add(row(2, "--subset must be at least 0, got -2", "knn", "--checkpoint", "POISON", "--subset", "-2"));
        r.add(row(2, "--test-subset must be at least 0, got -2", "knn", "--checkpoint", "POISON", "--test-subset", "-2"));
        r.add(row(2, "--normalize: unknown 'z' (expected auto, checkpoint, imagenet, dataset)", "knn", "--checkpoint", "POISON", "--normalize", "z"));
        r.add(row(2, "--arch: unknown arch 'alexnet'", "knn", "--checkpoint", "POISON", "--arch", "alexnet"));
        r.add(row(2, "--width must be at least 1, got 0", "knn", "--checkpoint", "POISON", "--width", "0"));
        r.add(row(2, "--stem: unknown stem 'x'", "knn", "--checkpoint", "POISON", "--stem", "x"));
        r.add(row(2, "--in-channels must be at least 1, got 0", "knn", "--checkpoint", "POISON", "--in-channels", "0"));
        r.add(row(2, "--moco-dim must be at least 1, got 0", "knn", "--checkpoint", "POISON", "--moco-dim", "0"));
        r.add(row(2, "--backend: unknown 'cuda'", "knn", "--checkpoint", "POISON", "--backend", "cuda"));
        r.add(row(2, "--threads must be between 0 and 256, got -3", "knn", "--checkpoint", "POISON", "--threads", "-3"));
        r.add(row(2, "Missing required option: '--checkpoint=FILE'", "knn"));
        r.add(row(1, "nowhere: no such file", "knn", "--checkpoint", "NOWHERE"));
        r.add(row(1, "nowhere: no such directory", "knn", "--checkpoint", "POISON", "--data", "NOWHERE"));
        r.add(row(1, "not a safetensors file", "knn", "--checkpoint", "POISON", "--data", "DATA", "--k", "5", "--embedding"));
        // ---- lincls ----
        r.add(row(2, "--epochs must be at least 1, got 0", "lincls", "--checkpoint", "POISON", "--epochs", "0"));
        r.add(row(2, "--lr must be a positive number, got 0", "lincls", "--checkpoint", "POISON", "--lr", "0"));
        r.add(row(2, "--schedule must be at least 1, got 0", "lincls", "--checkpoint", "POISON", "--schedule", "0,5"));
        r.add(row(2, "--momentum must be in [0, 1), got 1.5", "lincls", "--checkpoint", "POISON", "--momentum", "1.5"));
        r.add(row(2, "--wd must be 0 or more, got -1", "lincls", "--checkpoint", "POISON", "--weight-decay", "-1"));
        r.add(row(2, "--batch-size must be at least 1, got 0", "lincls", "--checkpoint", "POISON", "--batch-size", "0"));
        r.add(row(2, "--min-scale must be in (0, 1], got 0", "lincls", "--checkpoint", "POISON", "--min-scale", "0"));
        r.add(row(2, "--min-scale must be in (0, 1], got 1.5", "lincls", "--checkpoint", "POISON", "--min-scale", "1.5"));
        r.add(row(2, "--normalize: unknown 'x'", "lincls", "--checkpoint", "POISON", "--normalize", "x"));
        r.add(row(2, "--image-size must be at least 1, got -1", "lincls", "--checkpoint", "POISON", "--image-size", "-1"));
        r.add(row(2, "--subset must be at least 0, got -1", "lincls", "--checkpoint", "POISON", "--subset", "-1"));
        r.add(row(2, "--test-subset must be at least 0, got -1", "lincls", "--checkpoint", "POISON", "--test-subset", "-1"));
        r.add(row(2, "--arch: unknown arch 'x'", "lincls", "--checkpoint", "POISON", "--arch", "x"));
        r.add(row(2, "--width must be at least 1, got -4", "lincls", "--checkpoint", "POISON", "--width", "-4"));
        r.add(row(2, "--stem: unknown stem 'x'", "lincls", "--checkpoint", "POISON", "--stem", "x"));
        r.add(row(2, "--in-channels must be at least 1, got 0", "lincls", "--checkpoint", "POISON", "--in-channels", "0"));
        r.add(row(2, "--moco-dim must be at least 1, got 0", "lincls", "--checkpoint", "POISON", "--moco-dim", "0"));
        r.add(row(2, "--backend: unknown 'x'", "lincls", "--checkpoint", "POISON", "--backend", "x"));
        r.add(row(2, "--threads must be between 0 and 256, got 257", "lincls", "--checkpoint", "POISON", "--threads", "257"));
        r.add(row(1, "empty: no dataset found", "lincls", "--checkpoint", "POISON", "--data", "EMPTY"));
        r.add(row(1, "not a safetensors file", "lincls", "--checkpoint", "POISON", "--data", "DATA", "--cached-features", "--seed", "3"));
        // ---- features ----
        r.add(row(2, "--batch-size must be at least 1, got 0", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--batch-size", "0"));
        r.add(row(2, "--width must be at least 1, got 0", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--width", "0"));
        r.add(row(2, "--arch: unknown arch 'x'", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--arch", "x"));
        r.add(row(2, "--stem: unknown stem 'x'", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--stem", "x"));
        r.add(row(2, "--in-channels must be at least 1, got 0", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--in-channels", "0"));
        r.add(row(2, "--moco-dim must be at least 1, got 0", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--moco-dim", "0"));
        r.add(row(2, "--backend: unknown 'x'", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--backend", "x"));
        r.add(row(2, "--threads must be between 0 and 256, got -1", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT", "--threads", "-1"));
        r.add(row(2, "Missing required option: '--input=FILE'", "features", "--checkpoint", "POISON", "--out", "OUT"));
        r.add(row(1, "nowhere: no such images file (--input)", "features", "--checkpoint", "POISON", "--input", "NOWHERE", "--out", "OUT"));
        r.add(row(1, "empty: --out is a directory; give a file name", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "EMPTY"));
        r.add(row(1, "not a safetensors file", "features", "--checkpoint", "POISON", "--input", "IMAGES", "--out", "OUT"));
        // ---- export ----
        r.add(row(2, "--width must be at least 1, got 0", "export", "--checkpoint", "POISON", "--out", "OUT", "--width", "0"));
        r.add(row(2, "--arch: unknown arch 'x'", "export", "--checkpoint", "POISON", "--out", "OUT", "--arch", "x"));
        r.add(row(2, "--stem: unknown stem 'x'", "export", "--checkpoint", "POISON", "--out", "OUT", "--stem", "x"));
        r.add(row(2, "--in-channels must be at least 1, got 0", "export", "--checkpoint", "POISON", "--out", "OUT", "--in-channels", "0"));
        r.add(row(2, "--moco-dim must be at least 1, got 0", "export", "--checkpoint", "POISON", "--out", "OUT", "--moco-dim", "0"));
        r.add(row(2, "--backend: unknown 'x'", "export", "--checkpoint", "POISON", "--out", "OUT", "--backend", "x"));
        r.add(row(2, "--threads must be between 0 and 256, got -1", "export", "--checkpoint", "POISON", "--out", "OUT", "--threads", "-1"));
        r.add(row(2, "Missing required option: '--out=FILE'", "export", "--checkpoint", "POISON"));
        r.add(row(1, "a-file is a file", "export", "--checkpoint", "POISON", "--out", "UNDER_FILE"));
        r.add(row(1, "not a safetensors file", "export", "--checkpoint", "POISON", "--out", "OUT"));
        // ---- golden run / verify / make ----
        r.add(row(2, "--backend: unknown 'x'", "golden", "run", "CASE", "--out", "OUT", "--backend", "x"));
        r.add(row(2, "--threads must be between 0 and 256, got -1", "golden", "run", "CASE", "--out", "OUT", "--threads", "-1"));
        r.add(row(2, "Missing required option: '--out=<out>'", "golden", "run", "CASE"));
        r.add(row(1, "nowhere: not a golden case directory", "golden", "run", "NOWHERE", "--out", "OUT"));
        r.add(row(1, "empty: --out is a directory", "golden", "run", "CASE", "--out", "EMPTY"));
        r.add(row(2, "--tolerance must be a positive number, got 0", "golden", "verify", "CASE", "--tolerance", "0"));
        r.add(row(2, "--tolerance must be a positive number, got NaN", "golden", "verify", "CASE", "--tolerance", "NaN"));
        r.add(row(2, "--actual compares one file with one CASE, got 2 cases", "golden", "verify", "CASE", "CASE", "--actual", "POISON"));
        r.add(row(2, "--backend: unknown 'x'", "golden", "verify", "CASE", "--backend", "x"));
        r.add(row(2, "--threads must be between 0 and 256, got 300", "golden", "verify", "CASE", "--threads", "300"));
        r.add(row(1, "nowhere: not a golden case directory", "golden", "verify", "CASE", "NOWHERE"));
        r.add(row(1, "nowhere: no such file (--actual)", "golden", "verify", "CASE", "--actual", "NOWHERE"));
        r.add(row(1, "not a safetensors file", "golden", "verify", "CASE", "--actual", "POISON"));
        r.add(row(2, "--block: unknown block 'x'", "golden", "make", "--out", "OUT", "--block", "x"));
        r.add(row(2, "--layers must give 4 stages, got 3", "golden", "make", "--out", "OUT", "--layers", "1,1,1"));
        r.add(row(2, "--layers must be at least 1, got 0", "golden", "make", "--out", "OUT", "--layers", "1,0,1,1"));
        r.add(row(2, "--arch: unknown arch 'x'", "golden", "make", "--out", "OUT", "--arch", "x"));
        r.add(row(2, "--width must be at least 1, got 0", "golden", "make", "--out", "OUT", "--width", "0"));
        r.add(row(2, "--stem: unknown stem 'x'", "golden", "make", "--out", "OUT", "--stem", "x"));
        r.add(row(2, "--in-channels must be at least 1, got 0", "golden", "make", "--out", "OUT", "--in-channels", "0"));
        r.add(row(2, "--image-size must be at least 1, got 0", "golden", "make", "--out", "OUT", "--image-size", "0"));
        r.add(row(2, "--moco-dim must be at least 1, got 0", "golden", "make", "--out", "OUT", "--moco-dim", "0"));
        r.add(row(2, "--moco-k 12 must be a multiple of the 8 keys", "golden", "make", "--out", "OUT", "--moco-k", "12"));
        r.add(row(2, "--moco-m must be in [0, 1], got 2", "golden", "make", "--out", "OUT", "--moco-m", "2"));
        r.add(row(2, "--moco-t must be a positive number, got 0", "golden", "make", "--out", "OUT", "--moco-t", "0"));
        r.add(row(2, "--batch-size 8 must be a multiple of --devices 3", "golden", "make", "--out", "OUT", "--devices", "3"));
        r.add(row(2, "--lr must be a positive number, got 0", "golden", "make", "--out", "OUT", "--lr", "0"));
        r.add(row(2, "--momentum must be in [0, 1), got -1", "golden", "make", "--out", "OUT", "--momentum", "-1"));
        r.add(row(2, "--wd must be 0 or more, got -1", "golden", "make", "--out", "OUT", "--wd", "-1"));
        r.add(row(2, "--batch-size must be at least 1, got 0", "golden", "make", "--out", "OUT", "--batch-size", "0"));
        r.add(row(2, "--steps must be at least 1, got 0", "golden", "make", "--out", "OUT", "--steps", "0"));
        r.add(row(2, "--total-steps (with --moco-m-cos) must be at least 1, got 0", "golden", "make", "--out", "OUT", "--moco-m-cos"));
        r.add(row(2, "they need --moco-m-cos", "golden", "make", "--out", "OUT", "--total-steps", "5"));
        r.add(row(2, "--step-offset must be at least 0, got -1", "golden", "make", "--out", "OUT", "--moco-m-cos", "--total-steps", "5", "--step-offset", "-1"));
        r.add(row(2, "--float32-check: unknown 'x' (expected reference, cpu, opencl, none)", "golden", "make", "--out", "OUT", "--float32-check", "x"));
        r.add(row(2, "--float32-check needs a float32 backend, 'reference' is float64", "golden", "make", "--out", "OUT", "--float32-check", "reference"));
        r.add(row(1, "a-file: --out is a file, not a directory", "golden", "make", "--out", "FILE"));
        // ---- plot ----
        r.add(row(2, "Missing required parameter: 'RUN_DIR'", "plot"));
        r.add(row(1, "nowhere: no such run directory", "plot", "NOWHERE"));
        // ---- bench: its shared model and MoCo options ----
        r.add(row(2, "--mechanism: unknown mechanism 'simclr'", "bench", "--mechanism", "simclr"));
        r.add(row(2, "--steps must be at least 1, got 0", "bench", "--steps", "0"));
        r.add(row(2, "--warmup must be at least 0, got -1", "bench", "--warmup", "-1"));
        r.add(row(2, "--backend: unknown 'x'", "bench", "--backend", "x"));
        r.add(row(2, "--threads must be between 0 and 256, got -2", "bench", "--threads", "-2"));
        r.add(row(2, "--moco-k 64: end-to-end's dictionary is the batch, so K is --batch-size - 1 = 15", "bench", "--mechanism", "end-to-end",
                "--batch-size", "16", "--moco-k", "64"));
        r.add(row(2, "--symmetric needs two views' keys", "bench", "--mechanism", "memory-bank", "--symmetric"));
        r.add(row(2, "--width must be at least 1, got 0", "bench", "--width", "0"));
        r.add(row(2, "--arch: unknown arch 'x'", "bench", "--arch", "x"));
        r.add(row(2, "--stem: unknown stem 'x'", "bench", "--stem", "x"));
        r.add(row(2, "--in-channels must be 1 or 3, got 0", "bench", "--in-channels", "0"));
        r.add(row(2, "--image-size must be at least 1, got 0", "bench", "--image-size", "0"));
        r.add(row(2, "--moco-dim must be at least 1, got 0", "bench", "--moco-dim", "0"));
        r.add(row(2, "--moco-k 40 must be a multiple of the 16 keys", "bench", "--batch-size", "16", "--moco-k", "40"));
        r.add(row(2, "--batch-size must be at least 1, got -1", "bench", "--batch-size", "-1"));
        r.add(row(2, "--devices must be at least 1, got 0", "bench", "--devices", "0"));
        r.add(row(2, "--moco-m must be in [0, 1], got 3", "bench", "--moco-m", "3"));
        r.add(row(2, "--moco-t must be a positive number, got -1", "bench", "--moco-t", "-1"));
        r.add(row(2, "--lr must be a positive number, got 0", "bench", "--lr", "0"));
        r.add(row(2, "--momentum must be in [0, 1), got 2", "bench", "--momentum", "2"));
        r.add(row(2, "--wd must be 0 or more, got NaN", "bench", "--wd", "NaN"));
        return r;
    }

    static Stream<Arguments> table() {
        return rows().stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void refusedWithOneLineBeforeAnyWork(Row row) {
        long t0 = System.nanoTime();
        Cli.Result r = Cli.run(resolve(row.args()).toArray(new String[0]));
        double seconds = (System.nanoTime() - t0) / 1e9;
        String err = r.err().strip();
        assertEquals(row.code(), r.code(), err);
        assertEquals(1, err.lines().count(), "one line, no stack trace:\n" + err);
        assertTrue(err.contains(row.fragment()), "expected '" + row.fragment() + "' in: " + err);
        assertFalse(err.contains("internal error"), err);
        // The poison makes the order visible; this only catches a check that takes long by itself.
        assertTrue(seconds < 5, row + " took " + seconds + " s");
    }

    /** The count the reliability note quotes, kept honest. */
    @Test
    void theTableHasARowPerRule() {
        assertEquals(241, rows().size());
    }

    /** Every option of every command (but help, version and verbose) is named by a row, or listed as free. */
    @Test
    void everyOptionOfEveryCommandHasARowOrIsFree() {
        Set<String> missing = new TreeSet<>();
        CommandLine root = Main.commandLine();
        for (CommandLine top : root.getSubcommands().values()) {
            List<CommandLine> commands = top.getSubcommands().isEmpty() ? List.of(top) : List.copyOf(top.getSubcommands().values());
            for (CommandLine cl : commands) {
                String name = cl.getCommandSpec().qualifiedName().substring("moco-ref ".length());
                if (name.equals("devices")) continue; // no options
                for (OptionSpec o : cl.getCommandSpec().options()) {
                    String option = o.longestName();
                    if (Set.of("--help", "--version", "--verbose").contains(option)) continue;
                    if (FREE.getOrDefault(name, Set.of()).contains(option)) continue;
                    boolean named = rows().stream().anyMatch(r -> commandOf(r).equals(name) && r.args().contains(option));
                    if (!named) missing.add(name + " " + option);
                }
            }
        }
        assertEquals(Set.of(), missing);
    }

    /** What --resume lets change and what it holds fixed cover train's options exactly, without overlap. */
    @Test
    void everyTrainOptionIsEitherFixedOnResumeOrFreeToChange() {
        Set<String> options = new TreeSet<>();
        for (OptionSpec o : Main.commandLine().getSubcommands().get("train").getCommandSpec().options()) options.add(o.longestName());
        Set<String> classified = new TreeSet<>(ResumeRules.FIXED.keySet());
        classified.addAll(ResumeRules.MAY_CHANGE);
        assertEquals(options, classified);
        assertTrue(ResumeRules.FIXED.keySet().stream().noneMatch(ResumeRules.MAY_CHANGE::contains));
    }

    private static String commandOf(Row r) {
        return r.args().get(0).equals("golden") ? "golden " + r.args().get(1) : r.args().get(0);
    }
}
