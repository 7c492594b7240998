package mocoref.train;

import java.io.PrintStream;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of long work with an ETA: a redrawn bar on a terminal, and on a log (output
 * redirected to a file, a CI job) one line every few seconds instead, so that the log shows how
 * far the work is and when it will end without holding thousands of redrawn bars.
 */
public final class Progress implements AutoCloseable {
    /** Seconds between two log lines. */
    public static final double LOG_INTERVAL_S = 5;

    private final String task;
    private final long total;
    private final java.util.function.Consumer<String> log;
    private final ProgressBar bar;
    private final long start = System.nanoTime();
    private long lastLine = System.nanoTime();
    private long done;
    /** Units done before this process started (a resumed run): counted as done, not in the rate. */
    private volatile long skipped;
    private String extra = "";

    private Progress(String task, long total, java.util.function.Consumer<String> log, boolean terminal) {
        this.task = task;
        this.total = Math.max(total, 1);
        this.log = log;
        this.bar = terminal ? new ProgressBarBuilder().setTaskName(task).setInitialMax(this.total).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500).setMaxRenderedLength(120)
                .setEtaFunction(state -> java.util.Optional.ofNullable(eta(state.getCurrent(), state.getTotalElapsed().toNanos() / 1e9))
                        .map(s -> java.time.Duration.ofMillis(Math.round(s * 1000))))
                .build() : null;
    }

    /** A bar when a console is attached and {@code log} is standard output, else log lines. */
    public static Progress start(String task, long total, PrintStream log) {
        return new Progress(task, total, log::println, System.console() != null && log == System.out);
    }

    /** Log lines only, whatever the output is (for tests and nested work). */
    public static Progress lines(String task, long total, PrintStream log) {
        return new Progress(task, total, log::println, false);
    }

    /** Log lines to a writer (a command's output), flushed as they are written. */
    public static Progress lines(String task, long total, java.io.PrintWriter out) {
        return new Progress(task, total, line -> {
            out.println(line);
            out.flush();
        }, false);
    }

    /** {@code n} more units done; {@code extra} (may be null) is shown after the count. */
    public void step(long n, String extra) {
        done = Math.min(total, done + n);
        if (extra != null) this.extra = extra;
        if (bar != null) {
            bar.stepTo(done);
            if (extra != null) bar.setExtraMessage(" " + extra);
            return;
        }
        long now = System.nanoTime();
        if ((now - lastLine) / 1e9 >= LOG_INTERVAL_S || done == total) {
            lastLine = now;
            log.accept(line(now));
        }
    }

    public void step(long n) {
        step(n, null);
    }

    /**
     * {@code n} units that were done before (read back from a checkpoint or a result file): they
     * count toward the total but not toward the rate, so the ETA stays the time the rest will take.
     */
    public void skip(long n, String extra) {
        skipped += Math.min(n, total - done);
        step(n, extra);
    }

    /** Seconds left at this pace, or null before anything was done in this process. */
    Double eta(long current, double elapsedS) {
        long worked = current - skipped;
        return worked <= 0 ? null : elapsedS / worked * (total - current);
    }

    /** "task: done/total (p%) 1m05s elapsed, ETA 3m10s[, extra]". */
    String line(long now) {
        double elapsed = (now - start) / 1e9;
        Double eta = eta(done, elapsed);
        return String.format("%s: %d/%d (%.0f%%) %s elapsed, ETA %s%s", task, done, total, 100.0 * done / total,
                Trainer.duration(elapsed), eta == null ? "?" : Trainer.duration(eta), extra.isEmpty() ? "" : ", " + extra);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
