package mocoref.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Records measured errors as "kind, what, error" lines in the file named by the system property
 * {@code mocoref.errorlog} when it is set (as the reference package's tests do); silent otherwise.
 */
final class ErrorLog {
    private static final String FILE = System.getProperty("mocoref.errorlog");

    private ErrorLog() {}

    static synchronized void record(String kind, String what, double err) {
        if (FILE == null) return;
        try {
            Files.writeString(Path.of(FILE), kind + "\t" + what + "\t" + err + "\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + FILE, e);
        }
    }
}
