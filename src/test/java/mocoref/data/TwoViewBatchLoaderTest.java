package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import mocoref.MocoRefException;
import mocoref.data.augment.AugmentPresets;
import mocoref.data.augment.Image;
import mocoref.data.augment.Normalize;
import mocoref.data.augment.Transform;
import org.junit.jupiter.api.Test;

/** The background two-view loader: shuffling, drop_last, thread-count independence, error propagation and closing. */
class TwoViewBatchLoaderTest {
    /** 45 random 1x12x12 images in 5 classes. */
    static Dataset data() {
        SplittableRandom rng = new SplittableRandom(42);
        int n = 45;
        float[] images = new float[n * 144];
        for (int i = 0; i < images.length; i++) images[i] = (float) rng.nextDouble();
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = i % 5;
        return new Dataset("synthetic", images, labels, n, 1, 12, 12, List.of("a", "b", "c", "d", "e"));
    }

    static Transform aug(Dataset d) {
        return AugmentPresets.fashion(10, d.normalization());
    }

    static List<TwoViewBatch> run(Dataset d, int threads, int prefetch, int epochs) {
        List<TwoViewBatch> out = new ArrayList<>();
        try (TwoViewBatchLoader loader = new TwoViewBatchLoader(d, aug(d), 8, 1234, threads, prefetch)) {
            for (int e = 0; e < epochs; e++) loader.epoch(e).forEachRemaining(out::add);
        }
        return out;
    }

    @Test
    void bitIdenticalWhateverTheThreadCountAndPrefetch() {
        Dataset d = data();
        List<TwoViewBatch> one = run(d, 1, 1, 2);
        List<TwoViewBatch> many = run(d, 3, 5, 2);
        assertEquals(2 * 5, one.size(), "45 / 8 = 5 full batches per epoch, the last 5 images dropped");
        for (int i = 0; i < one.size(); i++) {
            TwoViewBatch a = one.get(i);
            TwoViewBatch b = many.get(i);
            assertEquals(a.epoch(), b.epoch());
            assertEquals(a.index(), b.index());
            assertArrayEquals(a.indices(), b.indices());
            assertArrayEquals(a.imQ(), b.imQ());
            assertArrayEquals(a.imK(), b.imK());
        }
        // The synchronous batch(...) is the same computation.
        try (TwoViewBatchLoader loader = new TwoViewBatchLoader(d, aug(d), 8, 1234, 2, 2)) {
            TwoViewBatch sync = loader.batch(1, 3);
            assertArrayEquals(one.get(8).imK(), sync.imK());
        }
    }

    @Test
    void batchesHaveTheModelsLayoutAndTwoDifferentViews() {
        Dataset d = data();
        TwoViewBatch b = run(d, 2, 2, 1).get(0);
        assertEquals(8, b.size());
        assertEquals(1, b.channels());
        assertEquals(10, b.height());
        assertEquals(10, b.width());
        assertEquals(8 * 100, b.imQ().length);
        assertEquals(8 * 100, b.imK().length);
        assertFalse(Arrays.equals(b.imQ(), b.imK()), "query and key are separate augmentations");
        for (int i = 0; i < 8; i++) assertEquals(d.labels()[b.indices()[i]], b.labels()[i]);
    }

    @Test
    void eachEpochIsASeededShuffleWithoutRepeats() {
        Dataset d = data();
        List<TwoViewBatch> all = run(d, 2, 3, 2);
        for (int e = 0; e < 2; e++) {
            int epoch = e;
            int[] seen = all.stream().filter(b -> b.epoch() == epoch).flatMapToInt(b -> Arrays.stream(b.indices())).toArray();
            assertEquals(40, seen.length);
            assertEquals(40, Arrays.stream(seen).distinct().count());
        }
        try (TwoViewBatchLoader loader = new TwoViewBatchLoader(d, aug(d), 8, 1234)) {
            assertFalse(Arrays.equals(loader.order(0), loader.order(1)));
            assertArrayEquals(loader.order(0), loader.order(0));
            int[] sorted = loader.order(3);
            Arrays.sort(sorted);
            for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i]);
        }
    }

    @Test
    void jumpingToAnotherEpochRestartsAndStaleIteratorsRefuse() {
        Dataset d = data();
        List<TwoViewBatch> reference = run(d, 1, 1, 4);
        try (TwoViewBatchLoader loader = new TwoViewBatchLoader(d, aug(d), 8, 1234, 2, 7)) {
            Iterator<TwoViewBatch> e0 = loader.epoch(0);
            e0.next();
            Iterator<TwoViewBatch> e3 = loader.epoch(3);
            assertThrows(IllegalStateException.class, e0::next);
            TwoViewBatch b = e3.next();
            assertEquals(3, b.epoch());
            assertArrayEquals(reference.get(15).imQ(), b.imQ());
        }
    }

    @Test
    void aWorkersExceptionReachesTheConsumer() {
        Dataset d = data();
        // Image 17 is recognized by its first pixel, which random data makes unique.
        Transform failing = (Image x, SplittableRandom rng) -> {
            if (x.data()[0] == d.images()[17 * 144]) throw new MocoRefException("image 17: broken on purpose");
            return x;
        };
        try (TwoViewBatchLoader loader = new TwoViewBatchLoader(d, failing, 8, 5, 2, 3)) {
            MocoRefException e = assertThrows(MocoRefException.class, () -> loader.epoch(0).forEachRemaining(b -> { }));
            assertEquals("image 17: broken on purpose", e.getMessage());
        }
    }

    @Test
    void closeStopsTheWorkersAndTheLoader() {
        Dataset d = data();
        TwoViewBatchLoader loader = new TwoViewBatchLoader(d, aug(d), 8, 1, 2, 4);
        Iterator<TwoViewBatch> it = loader.epoch(0);
        it.next();
        loader.close();
        assertThrows(IllegalStateException.class, it::next);
        assertThrows(IllegalStateException.class, () -> loader.epoch(1));
        // close() waits for its workers, so none of this loader's may be left (other tests' loaders,
        // in the same JVM, are not this test's business).
        List<Thread> workers = loader.workerThreads();
        assertFalse(workers.isEmpty(), "the loader started no worker");
        assertTrue(workers.stream().noneMatch(Thread::isAlive), "worker threads still alive after close()");
    }

    @Test
    void tooSmallForOneBatch() {
        Dataset d = data();
        String m = assertThrows(MocoRefException.class, () -> new TwoViewBatchLoader(d, aug(d), 64, 1)).getMessage();
        assertTrue(m.contains("45 images, fewer than one batch of 64"), m);
    }

    @Test
    void plainBatchesCoverEveryImageOnceInOrderNormalized() {
        Dataset d = data();
        Normalize n = d.normalization();
        PlainBatches batches = new PlainBatches(d, n, 16);
        assertEquals(3, batches.batches());
        List<PlainBatch> list = new ArrayList<>();
        batches.forEach(list::add);
        assertEquals(List.of(16, 16, 13), list.stream().map(PlainBatch::size).toList());
        PlainBatch last = list.get(2);
        assertEquals(32, last.start());
        assertArrayEquals(n.apply(d.image(44)).data(), Arrays.copyOfRange(last.images(), 12 * 144, 13 * 144));
        assertEquals(d.labels()[40], last.labels()[8]);
    }
}
