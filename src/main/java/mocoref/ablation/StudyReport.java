package mocoref.ablation;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import mocoref.MocoRefException;
import org.apache.commons.math3.distribution.TDistribution;
import org.apache.commons.math3.stat.descriptive.SummaryStatistics;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A study's table and plot: per setting, the mean over seeds of the final kNN and linear-probe
 * accuracy with a 95% interval (Student's t over the seeds, Commons Math), the pretext
 * (contrastive) accuracy, and "fail" where runs diverged; written as Markdown, CSV and a PNG
 * shaped like the paper's figure, the paper's numbers beside ours where it gives them.
 */
public final class StudyReport {
    /** One setting's summary. {@code failed} runs are excluded from the means. */
    public record Row(Study.Setting setting, int runs, int failed, Stat knn, Stat linear, Stat contrastive, double wallS) {}

    /** Mean and half-width of the 95% interval (NaN with fewer than two values). */
    public record Stat(double mean, double halfWidth, List<Double> values) {
        public String format() {
            if (values.isEmpty()) return "fail";
            return Double.isNaN(halfWidth) ? pct(mean) : pct(mean) + " ± " + String.format(Locale.ROOT, "%.2f", 100 * halfWidth);
        }
    }

    private StudyReport() {}

    static Stat stat(List<Double> values) {
        SummaryStatistics s = new SummaryStatistics();
        for (double v : values) s.addValue(v);
        if (values.isEmpty()) return new Stat(Double.NaN, Double.NaN, values);
        if (values.size() < 2) return new Stat(s.getMean(), Double.NaN, values);
        double t = new TDistribution(values.size() - 1).inverseCumulativeProbability(0.975);
        return new Stat(s.getMean(), t * s.getStandardDeviation() / Math.sqrt(values.size()), values);
    }

    public static List<Row> summarize(List<Study.Setting> settings, List<StudyRunner.RunResult> results) {
        List<Row> rows = new ArrayList<>();
        for (Study.Setting s : settings) {
            List<Double> knn = new ArrayList<>(), lin = new ArrayList<>(), con = new ArrayList<>();
            int runs = 0, failed = 0;
            double wall = 0;
            for (StudyRunner.RunResult r : results) {
                if (!r.setting().equals(s.id())) continue;
                runs++;
                wall += r.wallS();
                if (!r.ok()) {
                    failed++;
                    continue;
                }
                knn.add(r.knnTop1());
                lin.add(r.linearTop1());
                con.add(r.contrastiveAcc());
            }
            rows.add(new Row(s, runs, failed, stat(knn), stat(lin), stat(con), wall));
        }
        return rows;
    }

    static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f", 100 * v);
    }

    /** The Markdown table (with the command and wall time above it, the paper's claim below). */
    public static String markdown(Study study, List<Row> rows, String command, double wallS, String machine) {
        StringBuilder b = new StringBuilder();
        b.append("# Ablation: ").append(study.axis).append(" (`").append(study.id).append("`)\n\n");
        b.append("```\n").append(command).append("\n```\n\n");
        b.append(String.format(Locale.ROOT, "Wall time %.1f minutes on %s (the runs' own times summed, so a study resumed across several invocations counts each run once).%n%n", wallS / 60, machine));
        b.append("| setting | seeds | kNN top-1 (%) | linear top-1 (%) | pretext acc (%) | paper |\n");
        b.append("| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row r : rows) {
            String paper = r.setting().paperFails() ? "fail" : Double.isNaN(r.setting().paper()) ? "" : String.valueOf(r.setting().paper());
            String fails = r.failed() > 0 ? " (" + r.failed() + " failed)" : "";
            b.append("| ").append(r.setting().label()).append(" | ").append(r.runs()).append(fails).append(" | ")
                    .append(r.knn().format()).append(" | ").append(r.linear().format()).append(" | ")
                    .append(r.contrastive().format()).append(" | ").append(paper).append(" |\n");
        }
        b.append("\nMeans over seeds with the half-width of a 95% interval (Student's t); \"fail\": every run diverged "
                + "(the loss became NaN). Pretext accuracy: the fraction of queries whose positive key scored highest in "
                + "the last epoch. kNN: k 200, t 0.1, the train split as bank; linear: main_lincls.py's SGD on cached features, "
                + "its lr and wd chosen on a held-out tenth of the training images, then trained on all of them. "
                + "The paper's numbers are ImageNet linear top-1 with ResNet-50, for the shape of the curve, not the scale.\n\n");
        b.append("The paper: ").append(study.paperClaim()).append("\n");
        return b.toString();
    }

    public static String csv(List<Row> rows) {
        StringBuilder b = new StringBuilder("setting,series,x,runs,failed,knn_mean,knn_ci95,linear_mean,linear_ci95,pretext_mean,pretext_ci95,paper,knn_values,linear_values\n");
        for (Row r : rows) {
            b.append(r.setting().id()).append(',').append(r.setting().series()).append(',').append(r.setting().x()).append(',')
                    .append(r.runs()).append(',').append(r.failed()).append(',')
                    .append(num(r.knn().mean())).append(',').append(num(r.knn().halfWidth())).append(',')
                    .append(num(r.linear().mean())).append(',').append(num(r.linear().halfWidth())).append(',')
                    .append(num(r.contrastive().mean())).append(',').append(num(r.contrastive().halfWidth())).append(',')
                    .append(r.setting().paperFails() ? "fail" : num(r.setting().paper())).append(',')
                    .append(join(r.knn().values())).append(',').append(join(r.linear().values())).append('\n');
        }
        return b.toString();
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v);
    }

    private static String join(List<Double> v) {
        List<String> s = new ArrayList<>();
        for (double d : v) s.add(String.format(Locale.ROOT, "%.6f", d));
        return String.join(";", s);
    }

    /** The plot: lines over log K for the size studies, bars for the others; the paper's numbers on a second axis. */
    public static void plot(Study study, List<Row> rows, Path file) {
        try {
            if (study.logX) {
                XYChart chart = new XYChartBuilder().width(900).height(560).title("Ablation: " + study.axis + " (kNN top-1, mean of seeds, 95% interval)")
                        .xAxisTitle(study.axis).yAxisTitle("kNN top-1 (%)").build();
                chart.getStyler().setXAxisLogarithmic(true);
                chart.getStyler().setYAxisMin(0, 0.0);
                chart.getStyler().setYAxisMax(0, 100.0);
                Map<String, List<Row>> bySeries = new LinkedHashMap<>();
                for (Row r : rows) if (!r.knn().values().isEmpty()) bySeries.computeIfAbsent(r.setting().series(), k -> new ArrayList<>()).add(r);
                for (Map.Entry<String, List<Row>> e : bySeries.entrySet()) {
                    List<Double> x = new ArrayList<>(), y = new ArrayList<>(), err = new ArrayList<>();
                    for (Row r : e.getValue()) {
                        x.add(r.setting().x());
                        y.add(100 * r.knn().mean());
                        err.add(Double.isNaN(r.knn().halfWidth()) ? 0 : 100 * r.knn().halfWidth());
                    }
                    XYSeries s = chart.addSeries(e.getKey(), x, y, err);
                    s.setMarker(SeriesMarkers.CIRCLE);
                }
                if (study == Study.MECHANISM || study == Study.QUEUE_SIZE) { // the paper's two end points at K = 65536
                    XYSeries p = chart.addSeries("paper, MoCo (ImageNet linear)", List.of(65536.0), List.of(60.6));
                    p.setYAxisGroup(1);
                    p.setMarker(SeriesMarkers.DIAMOND);
                    p.setLineColor(Color.GRAY);
                    if (study == Study.MECHANISM) {
                        XYSeries q = chart.addSeries("paper, memory bank (ImageNet linear)", List.of(65536.0), List.of(58.0));
                        q.setYAxisGroup(1);
                        q.setMarker(SeriesMarkers.SQUARE);
                    }
                    chart.setYAxisGroupTitle(1, "paper: ImageNet linear top-1 (%)");
                    chart.getStyler().setYAxisMin(1, 50.0);
                    chart.getStyler().setYAxisMax(1, 65.0);
                }
                save(chart, file);
            } else {
                CategoryChart chart = new CategoryChartBuilder().width(900).height(560)
                        .title("Ablation: " + study.axis + " (mean of seeds, 95% interval)").xAxisTitle(study.axis).yAxisTitle("accuracy (%)").build();
                chart.getStyler().setYAxisMin(0.0);
                chart.getStyler().setYAxisMax(100.0);
                List<String> labels = new ArrayList<>();
                List<Double> knn = new ArrayList<>(), knnErr = new ArrayList<>(), pre = new ArrayList<>(), preErr = new ArrayList<>();
                List<Double> paper = new ArrayList<>();
                boolean anyPaper = false;
                for (Row r : rows) {
                    labels.add(r.setting().label() + (r.knn().values().isEmpty() ? " (fail)" : ""));
                    knn.add(r.knn().values().isEmpty() ? 0 : 100 * r.knn().mean());
                    knnErr.add(Double.isNaN(r.knn().halfWidth()) ? 0 : 100 * r.knn().halfWidth());
                    pre.add(r.contrastive().values().isEmpty() ? 0 : 100 * r.contrastive().mean());
                    preErr.add(Double.isNaN(r.contrastive().halfWidth()) ? 0 : 100 * r.contrastive().halfWidth());
                    paper.add(Double.isNaN(r.setting().paper()) ? 0 : r.setting().paper());
                    anyPaper |= !Double.isNaN(r.setting().paper());
                }
                chart.addSeries("kNN top-1 (ours)", labels, knn, knnErr);
                chart.addSeries("pretext accuracy (ours)", labels, pre, preErr);
                if (anyPaper) chart.addSeries("paper: ImageNet linear top-1", labels, paper);
                save(chart, file);
            }
        } catch (IOException e) {
            throw new MocoRefException(file + ": cannot write the plot (" + e.getMessage() + ")");
        }
    }

    private static void save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp.png");
        BitmapEncoder.saveBitmap(chart, tmp.toString(), BitmapEncoder.BitmapFormat.PNG);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
