package mocoref.data;

import java.io.Closeable;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mocoref.MocoRefException;
import mocoref.data.augment.Image;
import mocoref.data.augment.Transform;

/**
 * MoCo's training loader: each epoch a seeded shuffle of the dataset, cut into batches of
 * {@code batchSize} with the incomplete last batch dropped (main_moco.py's {@code drop_last=True}:
 * the queue is enqueued a whole batch at a time), and every image augmented twice
 * ({@code TwoCropsTransform}) into a {@link TwoViewBatch}.
 *
 * <p>Batches are made on a small pool of background threads, {@code prefetch} batches ahead of
 * the consumer, continuing into the next epoch, so the model does not wait for data. The results do
 * not depend on the thread count or on timing: sample {@code p} of epoch {@code e} draws both its
 * views from its own generator, seeded by {@link SampleSeeds#sample}(seed, e, p), and the shuffle
 * from {@link SampleSeeds#shuffle}. A worker's exception is rethrown to the consumer by the
 * {@code next()} that asks for that batch.
 *
 * <p>One consumer thread drives it; {@link #close()} stops the workers.
 */
public final class TwoViewBatchLoader implements Closeable {
    public static final int DEFAULT_THREADS = 2;
    public static final int DEFAULT_PREFETCH = 4;

    private final Dataset data;
    private final Transform augmentation;
    private final int batchSize;
    private final long seed;
    private final int prefetch;
    private final ExecutorService pool;
    private final WorkerThreads workers = new WorkerThreads();

    /** Batches scheduled ahead, in consumption order. */
    private final ArrayDeque<Scheduled> ahead = new ArrayDeque<>();
    /** The next batch to schedule. */
    private int nextEpoch;
    private int nextIndex;
    /** The order of {@code nextEpoch}, computed once per epoch when its first batch is scheduled. */
    private int[] nextOrder;
    /** Bumped by each {@link #epoch(int)}, so an abandoned iterator cannot take a newer epoch's batches. */
    private int generation;
    private boolean closed;

    private record Scheduled(int epoch, int index, Future<TwoViewBatch> batch) {}

    public TwoViewBatchLoader(Dataset data, Transform augmentation, int batchSize, long seed) {
        this(data, augmentation, batchSize, seed, DEFAULT_THREADS, DEFAULT_PREFETCH);
    }

    /**
     * @param threads worker threads (at least 1)
     * @param prefetch batches made ahead of the consumer (at least 1); each holds {@code 2 * batchSize}
     *     augmented images, so mind memory at large image sizes
     */
    public TwoViewBatchLoader(Dataset data, Transform augmentation, int batchSize, long seed, int threads, int prefetch) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (threads < 1) throw new IllegalArgumentException("threads must be positive, got " + threads);
        if (prefetch < 1) throw new IllegalArgumentException("prefetch must be positive, got " + prefetch);
        if (data.n() < batchSize) {
            throw new MocoRefException(data.name() + ": " + data.n() + " images, fewer than one batch of " + batchSize
                    + " (the last incomplete batch is dropped, so an epoch would be empty); lower --batch-size");
        }
        this.data = data;
        this.augmentation = augmentation;
        this.batchSize = batchSize;
        this.seed = seed;
        this.prefetch = prefetch;
        this.pool = Executors.newFixedThreadPool(threads, workers);
    }

    /** Full batches per epoch: {@code n / batchSize}, the rest dropped. */
    public int batchesPerEpoch() {
        return data.n() / batchSize;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Epoch {@code epoch}'s order of dataset indices: a Fisher-Yates shuffle seeded by (seed, epoch). */
    public int[] order(int epoch) {
        int[] order = new int[data.n()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        SplittableRandom rng = new SplittableRandom(SampleSeeds.shuffle(seed, epoch));
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** Batch {@code index} of {@code epoch}, made on the calling thread: what the iterator yields, bit for bit. */
    public TwoViewBatch batch(int epoch, int index) {
        return make(epoch, index, order(epoch));
    }

    /**
     * The batches of {@code epoch}, in order. Batches already prefetched for it are kept; starting
     * any other epoch discards what was scheduled. Only the most recently started iterator may be used.
     */
    public Iterator<TwoViewBatch> epoch(int epoch) {
        ensureOpen();
        Scheduled head = ahead.peekFirst();
        if (head == null || head.epoch != epoch || head.index != 0) {
            cancelScheduled();
            nextEpoch = epoch;
            nextIndex = 0;
            nextOrder = null;
        }
        int mine = ++generation;
        topUp();
        return new Iterator<>() {
            private int taken;

            @Override
            public boolean hasNext() {
                return taken < batchesPerEpoch();
            }

            @Override
            public TwoViewBatch next() {
                ensureOpen();
                if (mine != generation) throw new IllegalStateException("epoch " + epoch + "'s iterator was superseded by a newer epoch(...)");
                if (!hasNext()) throw new NoSuchElementException();
                Scheduled s = ahead.pollFirst();
                if (s == null || s.epoch != epoch || s.index != taken) throw new IllegalStateException("loader schedule out of step");
                taken++;
                topUp(); // keep the workers busy while the consumer trains on this batch
                return await(s.batch);
            }
        };
    }

    /** Stops the workers and discards scheduled batches; the loader cannot be used afterwards. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        cancelScheduled();
        pool.shutdownNow();
        try {
            pool.awaitTermination(10, TimeUnit.SECONDS);
            // The pool reports termination from inside its last worker, a moment before that thread
            // ends; joining the threads makes "close() returned" mean "no worker is left".
            for (Thread t : workers.created()) t.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The worker threads this loader started (for tests that check close() left none alive). */
    List<Thread> workerThreads() {
        return workers.created();
    }

    private void topUp() {
        while (ahead.size() < prefetch) {
            if (nextOrder == null) nextOrder = order(nextEpoch);
            int e = nextEpoch;
            int b = nextIndex;
            int[] order = nextOrder;
            ahead.addLast(new Scheduled(e, b, pool.submit(() -> make(e, b, order))));
            if (++nextIndex == batchesPerEpoch()) {
                nextEpoch++;
                nextIndex = 0;
                nextOrder = null;
            }
        }
    }

    private void cancelScheduled() {
        for (Scheduled s : ahead) s.batch.cancel(true);
        ahead.clear();
    }

    private TwoViewBatch make(int epoch, int index, int[] order) {
        if (index < 0 || index >= batchesPerEpoch()) throw new IndexOutOfBoundsException("batch " + index + " of " + batchesPerEpoch());
        int[] indices = new int[batchSize];
        int[] labels = new int[batchSize];
        float[] imQ = null;
        float[] imK = null;
        int c = 0;
        int h = 0;
        int w = 0;
        for (int i = 0; i < batchSize; i++) {
            int position = index * batchSize + i;
            int idx = order[position];
            indices[i] = idx;
            labels[i] = data.labels()[idx];
            SplittableRandom rng = new SplittableRandom(SampleSeeds.sample(seed, epoch, position));
            Image image = data.image(idx);
            Image q = augmentation.apply(image, rng);
            Image k = augmentation.apply(image, rng);
            if (imQ == null) {
                c = q.channels();
                h = q.height();
                w = q.width();
                imQ = new float[batchSize * c * h * w];
                imK = new float[imQ.length];
            }
            int v = c * h * w;
            for (Image view : new Image[] {q, k}) {
                if (view.channels() != c || view.height() != h || view.width() != w) {
                    throw new IllegalStateException("augmentation made views of different shapes: " + view.dims() + " and "
                            + c + "x" + h + "x" + w + "; a pipeline must end at a fixed size (RandomResizedCrop)");
                }
            }
            System.arraycopy(q.data(), 0, imQ, i * v, v);
            System.arraycopy(k.data(), 0, imK, i * v, v);
        }
        return new TwoViewBatch(epoch, index, batchSize, c, h, w, imQ, imK, indices, labels);
    }

    private static TwoViewBatch await(Future<TwoViewBatch> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) throw re;
            if (cause instanceof Error err) throw err;
            throw new IllegalStateException("batch worker failed: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a batch", e);
        } catch (CancellationException e) {
            throw new IllegalStateException("batch was cancelled (loader closed?)", e);
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("loader is closed");
    }

    /** Daemon threads, so a consumer that forgets close() does not keep the JVM alive. */
    private static final class WorkerThreads implements ThreadFactory {
        private static final AtomicInteger POOLS = new AtomicInteger();
        private final int pool = POOLS.incrementAndGet();
        private final AtomicInteger count = new AtomicInteger();
        private final List<Thread> created = new CopyOnWriteArrayList<>();

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, "moco-data-" + pool + "-" + count.incrementAndGet());
            t.setDaemon(true);
            created.add(t);
            return t;
        }

        List<Thread> created() {
            return List.copyOf(created);
        }
    }
}
