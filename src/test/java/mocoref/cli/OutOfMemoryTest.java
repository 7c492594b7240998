package mocoref.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A model too large for the heap is the user's problem, said in one line at start: not a stack trace after hours. */
class OutOfMemoryTest {
    @Test
    void aModelTooLargeForTheHeapFailsAtStartWithOneLineNamingTheHeapAndTheMachine() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // width 64 at batch 512 needs about 4 GiB of activations; the heap is capped at 96 MiB
        Process p = new ProcessBuilder(List.of(java, "-Xss8m", "-Xmx96m", "-XX:+UseSerialGC", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), "mocoref.cli.Main", "bench", "--width", "64", "-b", "512", "--steps", "1",
                "--warmup", "0", "--threads", "1")).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "bench did not end");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                .filter(l -> !l.startsWith("WARNING: Using incubator modules")).reduce("", (a, b) -> a + b + "\n");
        assertEquals(1, p.exitValue(), out + err);
        assertEquals(1, err.lines().count(), "one line, no stack trace: " + err);
        assertTrue(err.startsWith("moco-ref: out of memory: the Java heap (at most "), err);
        assertTrue(err.contains("MiB; this machine has ") && err.contains("--batch-size") && err.contains("MOCOREF_JAVA_OPTS=-Xmx"), err);
        assertTrue(!out.contains("images_per_s") && !out.contains("img/s"), "no step was timed: " + out);
    }
}
