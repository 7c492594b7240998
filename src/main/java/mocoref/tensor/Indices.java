package mocoref.tensor;

import mocoref.MocoRefException;

/** Checks of index arrays that address rows of a table (the memory bank's). */
public final class Indices {
    private Indices() {}

    /**
     * Refuses {@code idx} unless it has {@code n} entries in 0..rows-1 (and, when {@code distinct},
     * no repeats), naming it as {@code name}.
     */
    public static void check(int[] idx, int n, int rows, boolean distinct, String name) {
        if (idx == null || idx.length != n) {
            throw new MocoRefException("the memory bank needs '" + name + "' with " + n + " entries, got " + (idx == null ? "none" : idx.length));
        }
        boolean[] seen = new boolean[rows];
        for (int v : idx) {
            if (v < 0 || v >= rows) throw new MocoRefException(name + " " + v + " is outside the bank's " + rows + " rows");
            if (distinct && seen[v]) throw new MocoRefException(name + " holds " + v + " twice: a batch's images must be distinct");
            seen[v] = true;
        }
    }
}
