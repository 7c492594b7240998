package mocoref.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import mocoref.MocoRefException;

/**
 * {@code --subset N}: N images with every class equally represented, so that a quick run on a
 * fraction of the data still sees all classes (and a kNN or linear evaluation on it is not skewed).
 * Each class gives {@code N / classes} images, and when N does not divide evenly the first
 * {@code N % classes} classes (in class order) give one more. Which images a class gives is a
 * seeded shuffle of that class's images, so a seed always picks the same subset.
 */
public final class BalancedSubset {
    private BalancedSubset() {}

    /**
     * Dataset indices of the subset, ascending (so the subset keeps the dataset's order).
     * {@code where} names the dataset in error messages.
     */
    public static int[] select(int[] labels, List<String> classes, int count, long seed, String where) {
        int k = classes.size();
        if (count < k) {
            throw new MocoRefException(where + ": --subset " + count + " is smaller than the number of classes (" + k
                    + "); a balanced subset needs at least one image per class");
        }
        if (count > labels.length) {
            throw new MocoRefException(where + ": --subset " + count + " is larger than the dataset (" + labels.length + " images)");
        }
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < k; c++) byClass.add(new ArrayList<>());
        for (int i = 0; i < labels.length; i++) byClass.get(labels[i]).add(i);

        int per = count / k;
        int extra = count % k;
        SplittableRandom rng = new SplittableRandom(seed);
        int[] picked = new int[count];
        int filled = 0;
        for (int c = 0; c < k; c++) {
            int want = per + (c < extra ? 1 : 0);
            List<Integer> members = byClass.get(c);
            if (members.size() < want) {
                throw new MocoRefException(where + ": --subset " + count + " needs " + want + " images of class '"
                        + classes.get(c) + "', which has only " + members.size());
            }
            int[] idx = members.stream().mapToInt(Integer::intValue).toArray();
            // Partial Fisher-Yates: only the first `want` positions need to be drawn.
            for (int i = 0; i < want; i++) {
                int j = i + rng.nextInt(idx.length - i);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
            System.arraycopy(idx, 0, picked, filled, want);
            filled += want;
        }
        Arrays.sort(picked);
        return picked;
    }
}
