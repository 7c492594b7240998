package mocoref.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {
    @Test
    void theEtaIsTheRestAtThePaceOfWorkDoneInThisProcess() {
        Progress p = Progress.lines("t", 100, new PrintStream(new ByteArrayOutputStream(), true));
        assertNull(p.eta(0, 3.0), "nothing done yet: no pace to extrapolate");
        p.step(20, null);
        assertEquals(80 * 10.0 / 20, p.eta(20, 10.0), 1e-12);
    }

    @Test
    void unitsDoneBeforeAResumeCountAsDoneButNotInThePace() {
        Progress p = Progress.lines("t", 100, new PrintStream(new ByteArrayOutputStream(), true));
        p.skip(50, "done before");
        assertNull(p.eta(50, 1.0), "only skipped units: no pace yet");
        p.step(10, null);
        // 10 units took 10 s here, so the 40 left take 40 s (not 40 * 10 / 60 as if 60 had been worked)
        assertEquals(40.0, p.eta(60, 10.0), 1e-12);
    }

    @Test
    void aLogGetsTheLastLineWithTheCount() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Progress p = Progress.lines("task", 4, new PrintStream(out, true, StandardCharsets.UTF_8));
        p.skip(1, null);
        p.step(3, "last");
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.startsWith("task: 4/4 (100%) "), text);
        assertTrue(text.trim().endsWith("ETA 0m00s, last"), text);
    }
}
