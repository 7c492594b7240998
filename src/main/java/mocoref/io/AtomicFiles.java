package mocoref.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;
import mocoref.MocoRefException;
import mocoref.Phases;

/**
 * Replaces a file all at once: the new contents go to a temporary file in the same folder, are
 * forced to disk, and only then renamed over the target (an atomic rename on one file system), and
 * the folder is forced so the rename itself survives a power cut. A crash or a failed write (a full
 * disk, say) at any moment leaves either the old file or the complete new one, never a torn one,
 * and no temporary file once the error is reported.
 */
public final class AtomicFiles {
    /** How this class names its temporary files: {@code .NAME.<hex>.tmp} beside NAME. */
    static final String TEMP_SUFFIX = ".tmp";

    /** Writes the new contents into the open temporary file. */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel ch) throws IOException;
    }

    private AtomicFiles() {}

    /** Replaces {@code target} with what {@code body} writes; creates parent folders. IOException: nothing was replaced. */
    public static void write(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path temp = createTemp(abs);
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                body.write(ch);
                // The data must be on disk before the rename publishes it, or a crash could expose a torn file.
                ch.force(true);
            }
            Phases.mark("rename " + abs.getFileName());
            Files.move(temp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
        } finally {
            if (!done) deleteQuietly(temp);
        }
        forceDirectory(abs.getParent());
    }

    /** Replaces {@code target} with {@code text} (UTF-8); a failure is a one-line error naming the file. */
    public static void writeString(Path target, String text) {
        try {
            write(target, ch -> {
                ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
                while (b.hasRemaining()) ch.write(b);
            });
        } catch (IOException e) {
            throw new MocoRefException(target + ": cannot write: " + OneLine.of(String.valueOf(e)), e);
        }
    }

    /** Whether {@code file} is a temporary file this class left behind (a process killed mid-write). */
    public static boolean isLeftover(Path file) {
        return file.getFileName().toString().matches("\\..+\\.[0-9a-f]{1,16}\\" + TEMP_SUFFIX);
    }

    /**
     * A new empty file next to {@code target}. Not Files.createTempFile: that makes the file
     * owner-only (0600), and the rename would carry those permissions over to the result.
     */
    private static Path createTemp(Path target) throws IOException {
        while (true) {
            String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong());
            Path temp = target.resolveSibling("." + target.getFileName() + "." + suffix + TEMP_SUFFIX);
            try {
                return Files.createFile(temp);
            } catch (FileAlreadyExistsException taken) {
                // another writer picked the same name; draw again
            }
        }
    }

    /** Makes the rename durable; some platforms cannot open a folder for that, and then the rename is as durable as they make it. */
    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not supported here (Windows); the file itself is complete
        }
    }

    private static void deleteQuietly(Path temp) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // the write already failed; that error is the one to report
        }
    }
}
