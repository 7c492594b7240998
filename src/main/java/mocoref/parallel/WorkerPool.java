package mocoref.parallel;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of {@code threads} threads (the caller plus threads-1 daemon workers) that run the
 * indices 0..count-1 of a task, claiming them one at a time from a shared counter so that a thread
 * slowed by a noisy neighbour simply takes fewer. Dispatch allocates nothing: tasks are long-lived
 * objects (usually a layer's field) that read their arguments from their owner.
 *
 * <p>Workers spin briefly after a task (layers follow each other within microseconds), then park.
 * Calls are serialized: one pool may be shared by several models, one dispatch at a time.
 */
public final class WorkerPool {
    /** One unit of parallel work: index in 0..count-1, worker in 0..threads-1 (for per-thread scratch). */
    @FunctionalInterface
    public interface Task {
        void run(int index, int worker);
    }

    private static final ConcurrentHashMap<Integer, WorkerPool> SHARED = new ConcurrentHashMap<>();
    /** Spin iterations before a waiting worker parks. */
    private static final int SPINS = 1 << 14;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger busyWorkers = new AtomicInteger();
    private volatile Task task;
    private volatile int count;
    private volatile long generation;
    private volatile Throwable failure;

    /** The pool of {@code threads} threads shared by every model that asks for that many. */
    public static WorkerPool shared(int threads) {
        return SHARED.computeIfAbsent(threads, WorkerPool::new);
    }

    /**
     * One float[size] per thread for per-thread scratch, each followed by a cache line of padding:
     * arrays allocated one after the other share a 64-byte line at their boundary, and two threads
     * writing their own tile scratch into one line cost a coherence miss per micro-kernel call.
     */
    public static float[][] scratch(int threads, int size) {
        float[][] a = new float[threads][];
        for (int t = 0; t < threads; t++) a[t] = new float[size + PAD_FLOATS];
        return a;
    }

    /** {@link #scratch} for doubles. */
    public static double[][] scratchDoubles(int threads, int size) {
        double[][] a = new double[threads][];
        for (int t = 0; t < threads; t++) a[t] = new double[size + PAD_FLOATS / 2];
        return a;
    }

    /** A cache line of floats. */
    private static final int PAD_FLOATS = 16;

    public static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    public WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        this.threads = threads;
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int id = i + 1;
            workers[i] = new Thread(() -> workLoop(id), "moco-cpu-" + id);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs task(i, worker) for every i in 0..count-1 and returns when all have finished. */
    public synchronized void forEach(int count, Task task) {
        if (count <= 0) return;
        if (threads == 1 || count == 1) {
            for (int i = 0; i < count; i++) task.run(i, 0);
            return;
        }
        this.task = task;
        this.count = count;
        this.failure = null;
        next.set(0);
        busyWorkers.set(workers.length);
        generation++; // publishes task and count to the workers
        for (Thread w : workers) LockSupport.unpark(w);
        try {
            drain(task, count, 0);
        } catch (RuntimeException | Error e) {
            next.set(count); // the others stop claiming
            waitForWorkers();
            throw e;
        }
        waitForWorkers();
        Throwable f = failure;
        if (f instanceof RuntimeException r) throw r;
        if (f instanceof Error e) throw e;
    }

    private void waitForWorkers() {
        for (int spins = 0; busyWorkers.get() != 0; spins++) {
            if (spins < SPINS) Thread.onSpinWait();
            else Thread.yield();
        }
    }

    private void drain(Task t, int n, int worker) {
        for (int i; (i = next.getAndIncrement()) < n; ) t.run(i, worker);
    }

    private void workLoop(int id) {
        long seen = 0;
        while (true) {
            for (int spins = 0; generation == seen; spins++) {
                if (spins < SPINS) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            seen = generation;
            try {
                drain(task, count, id);
            } catch (Throwable e) {
                failure = e;
                next.set(Integer.MAX_VALUE / 2);
            }
            busyWorkers.decrementAndGet();
        }
    }
}
