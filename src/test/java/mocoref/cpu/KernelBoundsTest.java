package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * The Vector API kernels run with the API's own per-load check off
 * ({@code jdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0}, set by the launcher, the tests and
 * {@link KernelChoice}), so their own range checks are all that stands between a wrong offset and
 * a read or write outside an array. Each call here reaches one element past an array and must
 * throw before any vector touches memory. Each kernel is first run {@link #WARM} times in bounds so
 * that C2 compiles it: interpreted, the Vector API falls back to plain (checked) array accesses, and
 * only compiled code skips the check. (Without the kernels' own checks the compiled calls read or
 * write past the array silently, and the test fails: tried by deleting them.)
 */
class KernelBoundsTest {
    static final int WARM = 30_000;
    final Kernels v = KernelChoice.vector();

    @Test
    void theTestsRunWithoutTheApisOwnCheck() {
        assertEquals("0", System.getProperty(KernelChoice.OOB_CHECK));
    }

    @Test
    void theMicroKernelChecksEveryRowOfB() {
        assumeTrue(v != null, "the Vector API module is not present");
        int mr = v.mr(), nr = v.nr(), k = 5;
        float[] a = new float[k * mr], c = new float[mr * nr], t = new float[8 * nr];
        float[] b = new float[k * nr];
        int[] rows = new int[k];
        for (int i = 0; i < k; i++) rows[i] = i * nr;
        for (int i = 0; i < WARM; i++) v.tile(a, 0, mr, k, b, rows, 0, c, 0, nr, mr, i % 2 == 0, i % 3 == 0 ? null : new float[nr], 0, t);
        rows[3] = (k - 1) * nr + 1; // its second vector ends one past b
        assertThrows(IndexOutOfBoundsException.class, () -> v.tile(a, 0, mr, k, b, rows, 0, c, 0, nr, mr, false, null, 0, t));
        rows[3] = -1;
        assertThrows(IndexOutOfBoundsException.class, () -> v.tile(a, 0, mr, k, b, rows, 0, c, 0, nr, mr, false, null, 0, t));
        rows[3] = 3 * nr;
        for (int r = 2; r <= mr; r++) { // every tile shape, C one row short
            int rowsOfC = r;
            assertThrows(IndexOutOfBoundsException.class,
                    () -> v.tile(a, 0, mr, k, b, rows, 0, new float[(rowsOfC - 1) * nr + nr - 1], 0, nr, rowsOfC, true, null, 0, t));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> v.tile(a, 0, mr, k, b, rows, 0, c, 0, nr, mr, false, new float[nr - 1], 0, t));
    }

    @Test
    void theInPlaceTileChecksBAndC() {
        assumeTrue(v != null, "the Vector API module is not present");
        int mr = v.mr(), nr = v.nr(), k = 5;
        float[] a = new float[k * mr], c = new float[mr * nr];
        float[] b = new float[k * nr];
        int[] rows = new int[k];
        for (int i = 0; i < k; i++) rows[i] = i * nr;
        for (int i = 0; i < WARM; i++) v.tileInto(a, 0, mr, k, b, rows, 0, c, 0, i % 2 == 0);
        rows[3] = (k - 1) * nr + 1; // its second vector ends one past b
        assertThrows(IndexOutOfBoundsException.class, () -> v.tileInto(a, 0, mr, k, b, rows, 0, c, 0, false));
        rows[3] = -1;
        assertThrows(IndexOutOfBoundsException.class, () -> v.tileInto(a, 0, mr, k, b, rows, 0, c, 0, true));
        rows[3] = 3 * nr;
        assertThrows(IndexOutOfBoundsException.class, () -> v.tileInto(a, 0, mr, k, b, rows, 0, c, 1, true)); // C one float short
        assertThrows(IndexOutOfBoundsException.class, () -> v.tileInto(a, 0, mr, k, b, rows, 0, new float[mr * nr - 1], 0, false));
    }

    @Test
    void theTapSubsetKernelChecksEveryRowOfB() {
        assumeTrue(v != null, "the Vector API module is not present");
        int mr = v.mr(), nr = v.nr(), k = 5;
        float[] a = new float[2 * k * mr], c = new float[mr * nr], t = new float[8 * nr];
        float[] b = new float[k * nr];
        int[] rows = new int[k], taps = {0, 2, 4, 6, 8};
        for (int i = 0; i < k; i++) rows[i] = i * nr;
        for (int i = 0; i < WARM; i++) v.tileTaps(a, 0, mr, taps, k, b, rows, 0, c, 0, nr, mr, i % 2 == 0, null, 0, t);
        rows[3] = (k - 1) * nr + 1; // its second vector ends one past b
        assertThrows(IndexOutOfBoundsException.class, () -> v.tileTaps(a, 0, mr, taps, k, b, rows, 0, c, 0, nr, mr, false, null, 0, t));
        rows[3] = -1;
        assertThrows(IndexOutOfBoundsException.class, () -> v.tileTaps(a, 0, mr, taps, k, b, rows, 0, c, 0, nr, mr, false, null, 0, t));
        rows[3] = 3 * nr;
        assertThrows(IndexOutOfBoundsException.class,
                () -> v.tileTaps(a, 0, mr, taps, k, b, rows, 0, new float[(mr - 1) * nr + nr - 1], 0, nr, mr, true, null, 0, t));
    }

    @Test
    void theElementwiseKernelsCheckTheirRanges() {
        assumeTrue(v != null, "the Vector API module is not present");
        int n = 64;
        float[] x = new float[n], y = new float[n], m = new float[n], shortArray = new float[n - 1];
        double[] sums = new double[2];
        float[] out = new float[16], scratch = new float[8 * v.nr()];
        for (int i = 0; i < WARM; i++) { // in bounds
            v.sum(x, 0, n);
            v.shiftedSums(x, 0, n, 0f, m, 0, sums);
            v.max(x, 0, n);
            v.scaleShift(x, 0, i % 2 == 0 ? null : x, 0, 1f, 0f, i % 3 == 0, m, 0, y, 0, n);
            v.reluGradSums(x, i % 2 == 0 ? null : y, x, 0, n, 0f, y, sums);
            v.bnInputGrad(x, x, 0, n, 0f, 1f, 0f, 0f, m, 0, y, 0);
            v.expShifted(x, 0, n, 0f, y, 0);
            v.dot4x4(x, 0, 0, 0, 0, y, 0, 0, 0, 0, n, out, 0, scratch);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> v.sum(x, 1, n));
        assertThrows(IndexOutOfBoundsException.class, () -> v.shiftedSums(x, 1, n, 0f, m, 0, sums));
        assertThrows(IndexOutOfBoundsException.class, () -> v.shiftedSums(x, 0, n, 0f, shortArray, 0, sums));
        assertThrows(IndexOutOfBoundsException.class, () -> v.max(x, 1, n));
        assertThrows(IndexOutOfBoundsException.class, () -> v.scaleShift(x, 0, null, 0, 1f, 0f, true, m, 0, shortArray, 0, n));
        assertThrows(IndexOutOfBoundsException.class, () -> v.scaleShift(x, 0, shortArray, 0, 1f, 0f, true, m, 0, y, 0, n));
        assertThrows(IndexOutOfBoundsException.class, () -> v.reluGradSums(x, y, x, 0, n, 0f, shortArray, sums));
        assertThrows(IndexOutOfBoundsException.class, () -> v.bnInputGrad(x, x, 0, n, 0f, 1f, 0f, 0f, m, 1, y, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> v.expShifted(x, 0, n, 0f, shortArray, 0));
        assertThrows(IndexOutOfBoundsException.class,
                () -> v.dot4x4(x, 0, 0, 0, 1, y, 0, 0, 0, 0, n, out, 0, scratch));
    }

    @Test
    void theGathersCheckEveryIndex() {
        assumeTrue(v != null, "the Vector API module is not present");
        int n = 64, ld = 64, channels = 4 * v.nr();
        float[] x = new float[n], y = new float[n], rows = new float[channels * ld], xt = new float[n * channels];
        int[] index = new int[n];
        for (int i = 0; i < n; i++) index[i] = i - 8; // in [-8, 56): in bounds from offset 8
        for (int i = 0; i < WARM; i++) {
            v.gather(x, 8, index, 0, n, y, 0);
            v.transpose(rows, 0, ld, channels, i % 2 == 0 ? null : index, 8, n - 8, xt, 0, channels);
        }
        int[] starts = {8, 8, 8};
        for (int i = 0; i < WARM; i++) v.gatherRows(x, starts, 3, index, 0, n / 4, y, 0, n / 4);
        assertThrows(IndexOutOfBoundsException.class, () -> v.gatherRows(x, new int[] {8, 7}, 2, index, 0, n, y, 0, 0)); // row 1 reaches x[-1]
        assertThrows(IndexOutOfBoundsException.class, () -> v.gatherRows(x, new int[] {9, 8}, 2, index, 0, n, y, 0, 0)); // row 0 reaches x[64]
        assertThrows(IndexOutOfBoundsException.class, () -> v.gatherRows(x, starts, 3, index, 0, n / 2, y, 0, n / 2)); // the third row past y
        assertThrows(IndexOutOfBoundsException.class, () -> v.gather(x, 7, index, 0, n, y, 0)); // index -8 reaches x[-1]
        assertThrows(IndexOutOfBoundsException.class, () -> v.gather(x, 9, index, 0, n, y, 0)); // index 55 reaches x[64]
        for (int at : new int[] {0, 20, n - 4}) { // one bad index at the start, inside and in the tail of a vector loop
            int[] bad = index.clone();
            bad[at] = n;
            assertThrows(IndexOutOfBoundsException.class, () -> v.gather(x, 8, bad, 0, n - 3, y, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> v.gatherRows(x, new int[] {8}, 1, bad, 0, n - 3, y, 0, 0));
            int[] far = new int[n];
            far[at] = ld; // the last channel row's element one past rows
            assertThrows(IndexOutOfBoundsException.class, () -> v.transpose(rows, 0, ld, channels, far, 0, n - 3, xt, 0, channels));
        }
        int half = v.nr() / 4; // L/2 channels into rows of L/2: two positions a gather
        float[] few = new float[half * ld];
        for (int i = 0; i < WARM; i++) v.transpose(few, 0, ld, half, i % 2 == 0 ? null : index, 8, n - 8, xt, 0, half);
        for (int at : new int[] {0, 1, 20, 21, n - 4}) { // first or second of a pair, or the odd one out
            int[] far = new int[n];
            for (int i = 0; i < n; i++) far[i] = i % ld;
            far[at] = ld; // with neighbours on either side: the pair is a run or not
            if (at + 1 < n) far[at + 1] = Math.min(ld - 1, far[at + 1]);
            assertThrows(IndexOutOfBoundsException.class, () -> v.transpose(few, 0, ld, half, far, 0, n - 3, xt, 0, half));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> v.transpose(few, 1, ld, half, null, 0, ld, xt, 0, half));
        assertThrows(IndexOutOfBoundsException.class, () -> v.transpose(rows, 1, ld, channels, null, 0, ld, xt, 0, channels));
        assertThrows(IndexOutOfBoundsException.class, () -> v.transpose(rows, 0, ld + 1, channels, null, 0, 8, xt, 0, channels));
        assertThrows(IndexOutOfBoundsException.class, () -> v.transpose(rows, 0, ld, channels, null, 0, n, xt, 1, channels));
    }
}
