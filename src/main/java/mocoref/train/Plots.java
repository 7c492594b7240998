package mocoref.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import mocoref.MocoRefException;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The run directory's pictures, drawn from what the run wrote: {@code metrics.jsonl} (loss,
 * contrastive accuracy, kNN accuracy, learning rate and momentum per epoch) and
 * {@code test_features.safetensors} (a 2-D PCA of the test set's features, colored by class).
 */
public final class Plots {
    public static final String METRICS = "metrics.jsonl";
    public static final String TEST_FEATURES = "test_features.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Plots() {}

    /** Redraws every plot whose data is in {@code runDir}; returns the files written. */
    public static List<Path> drawAll(Path runDir) {
        System.setProperty("java.awt.headless", "true");
        List<Path> written = new ArrayList<>();
        Path metrics = runDir.resolve(METRICS);
        if (Files.isRegularFile(metrics)) {
            List<JsonNode> rows = readMetrics(metrics);
            if (!rows.isEmpty()) {
                written.add(line(runDir, "loss.png", "InfoNCE loss", rows, "loss", 1, "loss"));
                written.add(line(runDir, "contrastive_accuracy.png", "Contrastive accuracy (positive key ranked first)",
                        rows, "contrastive_acc", 100, "%"));
                written.add(line(runDir, "knn_accuracy.png", "kNN top-1 accuracy on the test set", rows, "knn_top1", 100, "%"));
                written.add(schedules(runDir, rows));
            }
        }
        if (Files.isRegularFile(runDir.resolve(TEST_FEATURES))) written.add(pca(runDir));
        return written;
    }

    static List<JsonNode> readMetrics(Path file) {
        List<JsonNode> rows = new ArrayList<>();
        try {
            int n = 0;
            for (String line : Files.readAllLines(file)) {
                n++;
                if (line.isBlank()) continue;
                try {
                    rows.add(JSON.readTree(line));
                } catch (IOException e) {
                    throw new MocoRefException(file + ": line " + n + " is not JSON");
                }
            }
        } catch (IOException e) {
            throw new MocoRefException(file + ": cannot read (" + e.getMessage() + ")");
        }
        return rows;
    }

    private static double[] column(List<JsonNode> rows, String key, double scale) {
        return rows.stream().mapToDouble(r -> r.path(key).asDouble(Double.NaN) * scale).toArray();
    }

    private static Path line(Path dir, String file, String title, List<JsonNode> rows, String key, double scale, String yTitle) {
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("epoch").yAxisTitle(yTitle).build();
        chart.getStyler().setLegendVisible(false);
        chart.addSeries(key, column(rows, "epoch", 1), column(rows, key, scale)).setMarker(SeriesMarkers.CIRCLE);
        return save(chart, dir.resolve(file));
    }

    private static Path schedules(Path dir, List<JsonNode> rows) {
        XYChart chart = new XYChartBuilder().width(800).height(500).title("Schedules: learning rate and key-encoder momentum")
                .xAxisTitle("epoch").build();
        double[] epochs = column(rows, "epoch", 1);
        chart.addSeries("learning rate", epochs, column(rows, "lr", 1)).setMarker(SeriesMarkers.CIRCLE);
        XYSeries m = chart.addSeries("momentum m", epochs, column(rows, "moco_m", 1));
        m.setMarker(SeriesMarkers.DIAMOND);
        m.setYAxisGroup(1);
        chart.setYAxisGroupTitle(0, "learning rate");
        chart.setYAxisGroupTitle(1, "momentum m");
        return save(chart, dir.resolve("schedules.png"));
    }

    /** The test set's features projected on their two principal components, one color per class. */
    private static Path pca(Path dir) {
        SafeTensorsFile f = SafeTensors.read(dir.resolve(TEST_FEATURES));
        float[] x = f.get("features").toFloats();
        long[] labels = f.get("labels").toLongs();
        int n = labels.length, d = x.length / Math.max(n, 1);
        double[] mean = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
        double[][] cov = new double[d][d];
        for (int i = 0; i < n; i++) {
            for (int a = 0; a < d; a++) {
                double xa = x[i * d + a] - mean[a];
                for (int b = a; b < d; b++) cov[a][b] += xa * (x[i * d + b] - mean[b]);
            }
        }
        for (int a = 0; a < d; a++) for (int b = a; b < d; b++) cov[b][a] = cov[a][b] /= Math.max(n - 1, 1);
        RealMatrix eig = new EigenDecomposition(new Array2DRowRealMatrix(cov, false)).getV();
        // EigenDecomposition sorts eigenvalues in descending order: columns 0 and 1 are the top two
        String[] classes = f.metadata().getOrDefault("classes", "").split(",");
        int numClasses = (int) java.util.Arrays.stream(labels).max().orElse(0) + 1;
        XYChart chart = new XYChartBuilder().width(900).height(700).title("Test set features, first two principal components")
                .xAxisTitle("PC 1").yAxisTitle("PC 2").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(3);
        for (int c = 0; c < numClasses; c++) {
            List<Double> px = new ArrayList<>(), py = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (labels[i] != c) continue;
                double p1 = 0, p2 = 0;
                for (int j = 0; j < d; j++) {
                    double v = x[i * d + j] - mean[j];
                    p1 += v * eig.getEntry(j, 0);
                    p2 += v * eig.getEntry(j, 1);
                }
                px.add(p1);
                py.add(p2);
            }
            if (px.isEmpty()) continue;
            String name = c < classes.length && !classes[c].isEmpty() ? classes[c] : "class " + c;
            XYSeries s = chart.addSeries(name, px, py);
            s.setMarker(SeriesMarkers.CIRCLE);
            s.setMarkerColor(Color.getHSBColor((float) c / numClasses, 0.85f, 0.85f));
        }
        return save(chart, dir.resolve("pca.png"));
    }

    private static Path save(XYChart chart, Path file) {
        try {
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp.png");
            BitmapEncoder.saveBitmap(chart, tmp.toString(), BitmapEncoder.BitmapFormat.PNG);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return file;
        } catch (IOException e) {
            throw new MocoRefException(file + ": cannot write the plot (" + e.getMessage() + ")");
        }
    }
}
