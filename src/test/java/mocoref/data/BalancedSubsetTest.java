package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import mocoref.MocoRefException;
import org.junit.jupiter.api.Test;

/** {@code --subset N}: per-class counts, the remainder rule, determinism and its errors. */
class BalancedSubsetTest {
    static final List<String> CLASSES = List.of("a", "b", "c");

    /** 10 of class a, 20 of b, 5 of c, interleaved. */
    static int[] labels() {
        int[] l = new int[35];
        for (int i = 0; i < 35; i++) l[i] = i < 15 ? i % 3 == 2 ? 2 : i % 3 : i < 20 ? 0 : 1;
        return l;
    }

    @Test
    void equalCountsPerClassAndTheRemainderToTheFirstClasses() {
        int[] l = labels();
        int[] counts = new int[3];
        for (int c : l) counts[c]++;
        assertArrayEquals(new int[] {10, 20, 5}, counts, "the fixture itself");

        int[] picked = BalancedSubset.select(l, CLASSES, 14, 1, "d");
        int[] perClass = new int[3];
        for (int i : picked) perClass[l[i]]++;
        assertArrayEquals(new int[] {5, 5, 4}, perClass);
        assertEquals(14, Arrays.stream(picked).distinct().count());
        int[] sorted = picked.clone();
        Arrays.sort(sorted);
        assertArrayEquals(sorted, picked, "ascending, keeping dataset order");
    }

    @Test
    void sameSeedSameSubsetOtherSeedAnother() {
        int[] l = labels();
        assertArrayEquals(BalancedSubset.select(l, CLASSES, 9, 7, "d"), BalancedSubset.select(l, CLASSES, 9, 7, "d"));
        assertTrue(!Arrays.equals(BalancedSubset.select(l, CLASSES, 9, 7, "d"), BalancedSubset.select(l, CLASSES, 9, 8, "d")));
    }

    @Test
    void errors() {
        int[] l = labels();
        String m = assertThrows(MocoRefException.class, () -> BalancedSubset.select(l, CLASSES, 18, 1, "data")).getMessage();
        assertEquals("data: --subset 18 needs 6 images of class 'c', which has only 5", m);
        m = assertThrows(MocoRefException.class, () -> BalancedSubset.select(l, CLASSES, 2, 1, "data")).getMessage();
        assertTrue(m.contains("smaller than the number of classes (3)"), m);
        m = assertThrows(MocoRefException.class, () -> BalancedSubset.select(l, CLASSES, 36, 1, "data")).getMessage();
        assertTrue(m.contains("larger than the dataset (35 images)"), m);
    }
}
