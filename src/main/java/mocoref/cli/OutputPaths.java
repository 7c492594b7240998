package mocoref.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import mocoref.MocoRefException;

/**
 * Checks, before any work, that an output path can be written: otherwise a command would compute
 * for minutes and only then fail to save. The file system's answer is a data error (exit 1).
 */
final class OutputPaths {
    private OutputPaths() {}

    /** {@code path} is a file to (over)write: not a folder, and its folder exists or can be made. */
    static void checkFile(String option, Path path) {
        if (Files.isDirectory(path)) throw new MocoRefException(path + ": " + option + " is a directory; give a file name");
        checkParents(option, path);
    }

    /** {@code path} is a folder to write into: a folder already, or one that can be made. */
    static void checkFolder(String option, Path path) {
        if (Files.exists(path) && !Files.isDirectory(path)) throw new MocoRefException(path + ": " + option + " is a file, not a directory");
        checkParents(option, path);
    }

    /** The nearest existing folder above {@code path} must be a folder, or nothing can be made below it. */
    private static void checkParents(String option, Path path) {
        for (Path p = path.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                if (!Files.isDirectory(p)) throw new MocoRefException(path + ": cannot write " + option + " there: " + p + " is a file");
                return;
            }
        }
    }
}
