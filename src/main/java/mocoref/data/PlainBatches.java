package mocoref.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import mocoref.data.augment.Normalize;

/**
 * The dataset in order, in batches of {@code batchSize} (the last one smaller), normalized only: for
 * extracting features (kNN monitor, linear evaluation), where every image must be seen exactly once
 * and as it is. Normalizing is cheap next to the encoder, so it runs on the calling thread.
 */
public final class PlainBatches implements Iterable<PlainBatch> {
    private final Dataset data;
    private final Normalize normalize;
    private final int batchSize;

    public PlainBatches(Dataset data, Normalize normalize, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (normalize.channels() != data.channels()) {
            throw new IllegalArgumentException("normalization has " + normalize.channels() + " channels, " + data.name()
                    + " has " + data.channels());
        }
        this.data = data;
        this.normalize = normalize;
        this.batchSize = batchSize;
    }

    /** The number of batches, the last one partial: {@code ceil(n / batchSize)}. */
    public int batches() {
        return (data.n() + batchSize - 1) / batchSize;
    }

    public PlainBatch batch(int index) {
        if (index < 0 || index >= batches()) throw new IndexOutOfBoundsException("batch " + index + " of " + batches());
        int start = index * batchSize;
        int size = Math.min(batchSize, data.n() - start);
        int v = data.imageValues();
        int plane = data.height() * data.width();
        float[] images = new float[size * v];
        int[] labels = new int[size];
        for (int i = 0; i < size; i++) {
            normalize.apply(data.images(), (start + i) * v, images, i * v, data.channels(), plane);
            labels[i] = data.labels()[start + i];
        }
        return new PlainBatch(index, start, size, data.channels(), data.height(), data.width(), images, labels);
    }

    @Override
    public Iterator<PlainBatch> iterator() {
        return new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < batches();
            }

            @Override
            public PlainBatch next() {
                if (!hasNext()) throw new NoSuchElementException();
                return batch(next++);
            }
        };
    }
}
