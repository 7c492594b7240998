package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How a product's rows split into micro-kernel tiles ({@link RowTiles}, {@link Kernels#rowTiles}),
 * on the kernels of this JVM (the AVX2 run of pom.xml takes the 5- and 4-row split) and the scalar ones.
 */
class RowTilesTest {
    private static List<Kernels> kernels() {
        List<Kernels> list = new ArrayList<>();
        list.add(new ScalarKernels(8, 32));
        list.add(new ScalarKernels(5, 16));
        Kernels v = KernelChoice.vector();
        if (v != null) list.add(v);
        return list;
    }

    @Test
    void everySplitCoversTheRowsOnceInAsFewTilesAsTilesOfMr() {
        for (Kernels k : kernels()) {
            for (int m = 1; m <= 1100; m++) {
                RowTiles tiles = new RowTiles(m, k);
                assertEquals((m + k.mr() - 1) / k.mr(), tiles.count(), k.name() + ", " + m + " rows");
                int next = 0;
                long packed = 0;
                for (int t = 0; t < tiles.count(); t++) {
                    String where = k.name() + ", " + m + " rows, tile " + t;
                    assertEquals(next, tiles.first(t), where);
                    assertTrue(tiles.rows(t) >= 1 && tiles.rows(t) <= k.mr(), where);
                    assertTrue(tiles.stride(t) >= k.packRows(tiles.rows(t)) && tiles.stride(t) <= k.mr(), where);
                    assertEquals(packed * 37, tiles.offset(t, 37), where);
                    next += tiles.rows(t);
                    packed += tiles.stride(t);
                }
                assertEquals(m, next);
                assertEquals(packed * 37, tiles.packedSize(37));
            }
        }
    }

    /** Whichever instruction set runs this JVM (the AVX2 run of pom.xml takes the other branch): no skip either way. */
    @Test
    void theVectorKernelsSplitAsTheirInstructionSetWants() {
        Kernels v = KernelChoice.vector();
        assertNotNull(v, "the tests run with --add-modules jdk.incubator.vector (pom.xml's mocoref.jvm.flags)");
        if (v.mr() == 5) { // AVX2: tiles of 5 and 4, none ragged from 12 rows on
            assertArrayEquals(new int[] {4, 4, 4, 4}, v.rowTiles(16));
            assertArrayEquals(new int[] {5, 5, 5, 5, 4, 4, 4}, v.rowTiles(32));
            assertArrayEquals(new int[] {5, 1}, v.rowTiles(6));
            int[] sixtyFour = v.rowTiles(64);
            assertEquals(13, sixtyFour.length);
            assertEquals(4, sixtyFour[12]);
            for (int m = 12; m <= 1100; m++) {
                for (int rows : v.rowTiles(m)) assertTrue(rows == 4 || rows == 5, m + " rows: a tile of " + rows);
            }
        } else { // AVX-512: tiles of 8 and a ragged last
            assertEquals(8, v.mr(), v.name());
            assertArrayEquals(new int[] {8, 8}, v.rowTiles(16));
            assertArrayEquals(new int[] {8, 8, 4}, v.rowTiles(20));
            assertEquals(4, v.packRows(3));
            assertEquals(8, v.packRows(7));
        }
    }

    @Test
    void theTileRefusesAStrideNarrowerThanItsKernel() {
        Kernels v = KernelChoice.vector();
        assertNotNull(v, "the tests run with --add-modules jdk.incubator.vector (pom.xml's mocoref.jvm.flags)");
        int nr = v.nr(), k = 4;
        int[] rowOff = {0, nr, 2 * nr, 3 * nr};
        float[] a = new float[k * v.mr()], b = new float[k * nr], c = new float[v.mr() * nr], t = new float[8 * nr];
        // 3 rows run the 4-row kernel, which reads 4 floats of A per k
        assertThrows(IllegalArgumentException.class, () -> v.tile(a, 0, 3, k, b, rowOff, 0, c, 0, nr, 3, false, null, 0, t));
        v.tile(a, 0, 4, k, b, rowOff, 0, c, 0, nr, 3, false, null, 0, t);
    }
}
