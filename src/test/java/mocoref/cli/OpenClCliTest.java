package mocoref.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import mocoref.MocoRefException;
import mocoref.data.SyntheticData;
import mocoref.io.SafeTensors;
import mocoref.opencl.ClRuntime;
import mocoref.testing.Registered;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The opencl backend through the command line: {@code devices}, a short {@code train} on one device
 * and on two sub-devices, {@code knn}, {@code lincls}, {@code features} and {@code bench} on its
 * checkpoint, and the option errors of {@code --cl-device} and {@code --cl-devices}.
 */
class OpenClCliTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    static synchronized Result run(String... args) {
        PrintStream stdout = System.out, stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    static void requireOpenCl() {
        try {
            ClRuntime.devices();
        } catch (MocoRefException e) {
            if (Registered.ci()) throw new AssertionError("CI=true, so the OpenCL tests must run, but: " + e.getMessage(), e);
            Assumptions.abort("no OpenCL here (" + e.getMessage() + ")");
        }
    }

    @Test
    void devicesListsAndSelfTestsEveryDevice() {
        requireOpenCl();
        Result r = run("devices");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("device 0: ") && r.out().contains("compute units"), r.out());
        assertTrue(r.out().matches("(?s).*self-test: passed: 40 kernels.*"), r.out());
        assertTrue(r.out().contains("all " + ClRuntime.devices().size() + " devices passed"), r.out());
    }

    @Test
    void trainsOnOneDeviceAndOnTwoThenEvaluates() throws Exception {
        requireOpenCl();
        Path data = tmp.resolve("data");
        SyntheticData.writeIdx(data, 64, 24, 28, 28, false, 5);
        String[] common = {"train", "--backend", "opencl", "--data", data.toString(), "--epochs", "1", "--width", "4", "--image-size", "16",
                "--batch-size", "16", "--moco-k", "32", "--moco-dim", "16", "--knn-k", "5", "--no-baselines"};
        Path one = tmp.resolve("one"), two = tmp.resolve("two");
        Result a = run(concat(common, "--out", one.toString()));
        assertEquals(0, a.code(), a.out() + a.err());
        assertTrue(a.out().contains("backend: opencl"), a.out());
        Result b = run(concat(common, "--out", two.toString(), "--cl-devices", "split:2"));
        assertEquals(0, b.code(), b.out() + b.err());
        Path ckpt = one.resolve("checkpoint_last.safetensors");
        assertTrue(Files.isRegularFile(ckpt) && Files.isRegularFile(two.resolve("checkpoint_last.safetensors")));

        Result knn = run("knn", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--k", "5", "--backend", "opencl");
        assertEquals(0, knn.code(), knn.out() + knn.err());
        assertTrue(knn.out().matches("(?s).*kNN .*top-1 \\d+\\.\\d\\d%.*"), knn.out());
        Result lincls = run("lincls", "--checkpoint", ckpt.toString(), "--data", data.toString(), "--cached-features", "--epochs", "2",
                "--backend", "opencl", "--cl-devices", "split:2");
        assertEquals(0, lincls.code(), lincls.out() + lincls.err());
        Path images = tmp.resolve("images.safetensors"), out = tmp.resolve("f.safetensors");
        SafeTensors.write(images, java.util.Map.of("images", mocoref.io.StoredTensor.f32(new float[3 * 256], 3, 1, 16, 16)), java.util.Map.of());
        Result features = run("features", "--checkpoint", ckpt.toString(), "--input", images.toString(), "--out", out.toString(),
                "--backend", "opencl");
        assertEquals(0, features.code(), features.out() + features.err());
        assertEquals(3, SafeTensors.read(out).get("features").shape()[0]);
    }

    @Test
    void benchRunsOnOpencl() {
        requireOpenCl();
        Result r = run("bench", "--backend", "opencl", "--width", "4", "--image-size", "16", "--batch-size", "16", "--moco-k", "64",
                "--steps", "2", "--warmup", "1", "--json");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("\"backend\":\"opencl\""), r.out());
    }

    @Test
    void deviceOptionErrorsAreOneLineUsageErrors() {
        String c = "reference-tests/cases/cosine_m_g2";
        for (String[] bad : new String[][] {{"--cl-devices", "two"}, {"--cl-devices", "split:1"}, {"--cl-device", "-1"},
                {"--cl-device", "0", "--cl-devices", "0,1"}}) {
            Result r = run(concat(new String[] {"golden", "verify", c, "--backend", "opencl"}, bad));
            assertEquals(2, r.code(), String.join(" ", bad) + ": " + r.err());
            String first = r.err().lines().findFirst().orElse("");
            assertTrue(first.contains(bad[0]), first);
            assertFalse(r.err().contains("\tat "), r.err());
        }
        Result cpu = run("golden", "verify", c, "--backend", "cpu", "--cl-device", "0");
        assertEquals(2, cpu.code(), cpu.err());
        assertTrue(cpu.err().contains("--cl-device applies to --backend opencl only"), cpu.err());
    }

    static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
