package mocoref.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends "kind, what, error" lines to the file named by the system property
 * {@code mocoref.errorlog}, when set, as the other packages' tests do, for the worst-error tables;
 * silent otherwise.
 */
final class ErrorLog {
    private static final String FILE = System.getProperty("mocoref.errorlog");

    private ErrorLog() {}

    static synchronized void record(String kind, String what, double err) {
        if (FILE == null) return;
        try {
            Files.writeString(Path.of(FILE), kind + "\t" + what + "\t" + err + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + FILE, e);
        }
    }
}
