package mocoref.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import mocoref.data.SyntheticData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code moco-ref ablate} end to end, a tiny version of every study on synthetic data: each writes
 * its table (one row per setting, numbers in range), CSV and plot; a rerun reads the finished runs
 * back instead of training again; m = 0's row says "fail" only if its runs diverged.
 */
class AblateCommandTest {
    @TempDir
    Path tmp;

    private int run(ByteArrayOutputStream out, String... args) {
        PrintStream savedOut = System.out, savedErr = System.err;
        try {
            System.setOut(new PrintStream(out));
            System.setErr(new PrintStream(out));
            return Main.run(args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    String[] tiny(String study, Path out) {
        return new String[] {"ablate", study, "--data", tmp.resolve("data").toString(), "--out", out.toString(), "--epochs", "1",
            "--seeds", "2", "--subset", "64", "--monitor", "32", "--width", "4", "--image-size", "8", "--batch-size", "16",
            "--moco-k", "32", "--moco-dim", "8", "--sizes", "16,32", "--threads", "2"};
    }

    @Test
    void everyStudyWritesItsTableCsvAndPlot() throws Exception {
        SyntheticData.writeIdx(tmp.resolve("data"), 96, 40, 28, 28, false, 5);
        int[] rows = {5, 6, 2, 2}; // momentum, mechanism (end-to-end, bank and MoCo at 16 and 32), shuffle-bn, queue-size
        String[] studies = {"momentum", "mechanism", "shuffle-bn", "queue-size"};
        for (int i = 0; i < studies.length; i++) {
            Path out = tmp.resolve(studies[i]);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            assertEquals(0, run(log, tiny(studies[i], out)), log.toString());
            List<String> md = Files.readAllLines(out.resolve(studies[i] + ".md"));
            long tableRows = md.stream().filter(l -> l.startsWith("| ") && !l.startsWith("| setting") && !l.startsWith("| ---")).count();
            assertEquals(rows[i], tableRows, String.join("\n", md));
            List<String> csv = Files.readAllLines(out.resolve(studies[i] + ".csv"));
            assertEquals(rows[i] + 1, csv.size());
            for (String line : csv.subList(1, csv.size())) {
                String[] f = line.split(",", -1);
                if (f[5].isEmpty()) continue; // a setting whose runs all failed
                double knn = Double.parseDouble(f[5]);
                assertTrue(knn > 0 && knn <= 1, line);
            }
            assertTrue(Files.size(out.resolve(studies[i] + ".png")) > 1000);
        }
        // a rerun of a finished study trains nothing
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        assertEquals(0, run(again, tiny("shuffle-bn", tmp.resolve("shuffle-bn"))));
        assertTrue(again.toString().contains("done before"), again.toString());
    }

    @Test
    void anUnknownStudyIsRefusedNamingTheFour() {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        assertEquals(1, run(log, "ablate", "learning-rate"));
        assertTrue(log.toString().contains("momentum, mechanism, shuffle-bn or queue-size"), log.toString());
    }
}
