package mocoref.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import mocoref.MocoRefException;

/**
 * What every parser must do with any input, checked by the fuzz tests: return, or throw the
 * project's one-line MocoRefException naming the file. Anything else (another exception, an
 * Error, a message over two lines) fails the fuzz test, and Jazzer keeps the input.
 */
public final class FuzzChecks {
    private FuzzChecks() {}

    /** {@code e} is a one-line message that names one of {@code files}. */
    public static void oneLineNaming(MocoRefException e, Path... files) {
        String m = e.getMessage();
        assertNotNull(m, "a MocoRefException without a message");
        assertFalse(m.contains("\n") || m.contains("\r"), "a message over several lines: " + m);
        boolean named = false;
        for (Path f : files) named |= m.contains(f.toString());
        assertTrue(named, "the message names none of the files: " + m);
    }
}
