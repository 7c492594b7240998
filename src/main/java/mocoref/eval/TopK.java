package mocoref.eval;

/**
 * The k largest similarities offered so far and their bank indices, kept loosely: candidates above
 * the current threshold are appended to a buffer of {@code 2k}; when it fills, a quickselect keeps
 * the k largest and raises the threshold to the smallest of them. An append costs a store where a
 * heap insertion costs a sift of unpredictable branches, and at k 200 the monitor makes a few
 * thousand per query (measured: a heap spent a quarter of the kNN time in its sifts).
 * Call {@link #finish()} before reading the entries.
 */
final class TopK {
    private final int k;
    private final float[] sims;
    private final int[] index;
    private int size;
    private float threshold = Float.NEGATIVE_INFINITY;

    TopK(int k) {
        if (k < 1) throw new IllegalArgumentException("k must be positive, got " + k);
        this.k = k;
        int capacity = Math.max(2 * k, k + 32);
        sims = new float[capacity];
        index = new int[capacity];
    }

    /** What a candidate must exceed to get in: -infinity until k are kept, then the k-th largest at the last selection. */
    float threshold() {
        return threshold;
    }

    void offer(float sim, int i) {
        if (!(sim > threshold)) return;
        sims[size] = sim;
        index[size] = i;
        if (++size == sims.length) keepLargest();
    }

    /** Cuts the entries to the k largest (fewer if fewer were offered). */
    void finish() {
        if (size > k) keepLargest();
    }

    int size() {
        return size;
    }

    /** The j-th entry, in no particular order. */
    float sim(int j) {
        return sims[j];
    }

    int index(int j) {
        return index[j];
    }

    /** Quickselect (Hoare partition, descending, median-of-three pivot): the k largest to the front. */
    private void keepLargest() {
        int lo = 0;
        int hi = size - 1;
        int kth = k - 1;
        while (lo < hi) {
            float pivot = medianOfThree(sims[lo], sims[(lo + hi) >>> 1], sims[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (sims[i] > pivot) i++;
                while (sims[j] < pivot) j--;
                if (i <= j) swap(i++, j--);
            }
            if (kth <= j) hi = j;
            else if (kth >= i) lo = i;
            else break; // kth sits among values equal to the pivot: done
        }
        size = k;
        float min = Float.POSITIVE_INFINITY;
        for (int j = 0; j < k; j++) min = Math.min(min, sims[j]);
        threshold = min;
    }

    private static float medianOfThree(float a, float b, float c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    private void swap(int a, int b) {
        float s = sims[a];
        sims[a] = sims[b];
        sims[b] = s;
        int t = index[a];
        index[a] = index[b];
        index[b] = t;
    }
}
