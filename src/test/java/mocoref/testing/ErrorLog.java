package mocoref.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Records every measured error as "kind, what, error" lines in the file named by the system
 * property {@code mocoref.errorlog}, when it is set (the closing notes' worst-error tables come
 * from it: {@code mvn test -Dmocoref.jvm.flags=-Dmocoref.errorlog=target/errors.tsv}). Silent otherwise.
 */
public final class ErrorLog {
    private static final String FILE = System.getProperty("mocoref.errorlog");

    private ErrorLog() {}

    public static synchronized void record(String kind, String what, double err) {
        if (FILE == null) return;
        try {
            Files.writeString(Path.of(FILE), kind + "\t" + what + "\t" + err + "\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + FILE, e);
        }
    }
}
