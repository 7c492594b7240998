package mocoref.tensor;

import java.util.random.RandomGenerator;
import mocoref.MocoRefException;

/** Random permutations, as MoCo's key shuffle ({@code torch.randperm}) needs them. */
public final class Permutations {
    private Permutations() {}

    /** A uniformly random permutation of 0..n-1 (Fisher-Yates, drawing from the last position down). */
    public static int[] random(RandomGenerator rng, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** Refuses {@code idx} unless it is a permutation of 0..n-1, naming it as {@code name}. */
    public static void check(int[] idx, int n, String name) {
        if (idx == null || idx.length != n) {
            throw new MocoRefException(name + " must have " + n + " entries, got " + (idx == null ? "none" : idx.length));
        }
        boolean[] seen = new boolean[n];
        for (int v : idx) {
            if (v < 0 || v >= n || seen[v]) throw new MocoRefException(name + " is not a permutation of 0.." + (n - 1));
            seen[v] = true;
        }
    }
}
