package mocoref.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import mocoref.MocoRefException;

/** Whole small-to-medium files (dataset archives of up to 2 GiB) as bytes, gunzipped when they are gzip. */
final class FileBytes {
    private FileBytes() {}

    /** The file's bytes; a gzip file (by its magic bytes, whatever its name) is decompressed. */
    static byte[] read(Path file) {
        return decode(file, readRaw(file));
    }

    /** {@code raw}, the contents of {@code file}, gunzipped when they are gzip. */
    static byte[] decode(Path file, byte[] raw) {
        if (raw.length >= 2 && (raw[0] & 0xFF) == 0x1f && (raw[1] & 0xFF) == 0x8b) return gunzip(file, raw);
        if (file.getFileName().toString().endsWith(".gz")) {
            throw new MocoRefException(file + ": named .gz but is not gzip data (no gzip magic bytes)");
        }
        return raw;
    }

    private static byte[] readRaw(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new MocoRefException(file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new MocoRefException(file + ": permission denied", e);
        } catch (IOException | OutOfMemoryError e) {
            throw new MocoRefException(file + ": cannot read: " + oneLine(e), e);
        }
    }

    private static byte[] gunzip(Path file, byte[] raw) {
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(raw), 1 << 16)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new MocoRefException(file + ": corrupt or truncated gzip data (" + oneLine(e) + ")", e);
        } catch (OutOfMemoryError e) {
            throw new MocoRefException(file + ": decompresses to more than a Java array holds (2 GiB)", e);
        }
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceAll("\\s+", " ").trim();
    }
}
