package mocoref.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import mocoref.golden.GoldenCase;
import mocoref.testing.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code golden verify} and {@code golden make} as a user runs them: what passes, what is skipped, what the exit code says. */
class GoldenCommandTest {
    static final String HELD = "reference-tests/cases/basic_cifar_g1_k16";
    /** float32.held is false: float32 backends skip it. */
    static final String NOT_HELD = "reference-tests/cases/basic_cifar_g4_b8_tiny";

    @TempDir
    Path tmp;

    @Test
    void verifyingNothingIsAnError() {
        Cli.Result r = Cli.run("golden", "verify", NOT_HELD, "--backend", "cpu", "--threads", "1");
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("0 passed, 0 failed, 1 case(s) skipped"), r.out());
        assertEquals("moco-ref: golden verify: nothing was verified (every case was skipped for the cpu backend)", r.err().strip());
    }

    @Test
    void aSkippedCaseBesideAVerifiedOneIsReportedNotFailed() {
        Cli.Result r = Cli.run("golden", "verify", HELD, NOT_HELD, "--backend", "cpu", "--threads", "1");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().matches("(?s).*\\d+ passed, 0 failed, 1 case\\(s\\) skipped.*"), r.out());
    }

    @Test
    void toleranceIsHonouredWhenABackendRuns() {
        // The reference backend agrees with PyTorch's float64 to about 1e-15, not to 1e-30, on some tensors at least.
        Cli.Result strict = Cli.run("golden", "verify", HELD, "--backend", "reference", "--tolerance", "1e-30");
        assertEquals(1, strict.code(), strict.out());
        assertTrue(strict.out().contains("tolerance 1e-30"), strict.out());
        assertTrue(strict.out().contains("FAIL"), strict.out());
        Cli.Result loose = Cli.run("golden", "verify", HELD, "--backend", "reference");
        assertEquals(0, loose.code(), loose.out());
        assertTrue(loose.out().contains("tolerance 1e-09"), loose.out());
    }

    /** What golden make writes must be a case golden verify accepts, on the backend that made it and on the float32 one that judged it. */
    @Test
    void aMadeCaseVerifies() {
        Path dir = tmp.resolve("made");
        Cli.Result made = Cli.run("golden", "make", "--out", dir.toString(), "--steps", "2", "--seed", "5", "--batch-size", "8",
                "--devices", "2", "--moco-k", "16");
        assertEquals(0, made.code(), made.err());
        assertTrue(GoldenCase.load(dir).float32Held(), "a batch of 4 per device is held for float32");
        Cli.Result ref = Cli.run("golden", "verify", dir.toString(), "--backend", "reference");
        assertEquals(0, ref.code(), ref.out() + ref.err());
        assertTrue(ref.out().contains(" passed, 0 failed"), ref.out());
        Cli.Result cpu = Cli.run("golden", "verify", dir.toString(), "--backend", "cpu", "--threads", "2");
        assertEquals(0, cpu.code(), cpu.out() + cpu.err());
        assertTrue(cpu.out().contains("tolerance 2e-04"), cpu.out());
    }
}
