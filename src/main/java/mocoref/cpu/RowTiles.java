package mocoref.cpu;

/**
 * How the rows of a product's A (its output channels) split into micro-kernel tiles, and where each
 * tile's packed A lies. Tile t covers rows [first(t), first(t) + rows(t)); its A is packed
 * [k][stride(t)] from {@code offset(t, kLen)}, the tiles one after the other (the rows from rows(t)
 * to stride(t), which the kernel reads too, hold anything: their results are dropped). The split is
 * the kernels' ({@link Kernels#rowTiles}): on AVX2 tiles of 5 rows and of 4, so that 32 channels run
 * as 5+5+5+5+4+4+4 instead of eight tiles of 4 or 5+5+5+5+5+5+2.
 *
 * <p>An output's sum runs over k in the same order whichever tile holds its row, so the split
 * changes no result.
 */
final class RowTiles {
    private final int[] first;   // count + 1 entries: first[count] = the number of rows
    private final int[] stride;  // per tile
    private final int[] packed;  // count + 1 entries: packed rows before tile t

    RowTiles(int m, Kernels kernels) {
        int[] rows = kernels.rowTiles(m);
        first = new int[rows.length + 1];
        stride = new int[rows.length];
        packed = new int[rows.length + 1];
        for (int t = 0; t < rows.length; t++) {
            if (rows[t] < 1 || rows[t] > kernels.mr()) throw new IllegalStateException("a tile of " + rows[t] + " rows");
            first[t + 1] = first[t] + rows[t];
            stride[t] = kernels.packRows(rows[t]);
            packed[t + 1] = packed[t] + stride[t];
        }
        if (first[rows.length] != m) throw new IllegalStateException(kernels.name() + " split " + m + " rows into " + first[rows.length]);
    }

    int count() {
        return stride.length;
    }

    int first(int t) {
        return first[t];
    }

    int rows(int t) {
        return first[t + 1] - first[t];
    }

    /** Floats per k of tile t's packed A. */
    int stride(int t) {
        return stride[t];
    }

    /** Where tile t's packed A starts, for a reduction of kLen. */
    int offset(int t, int kLen) {
        return packed[t] * kLen;
    }

    /** Floats of the whole packed A, for a reduction of kLen. */
    long packedSize(int kLen) {
        return (long) packed[stride.length] * kLen;
    }
}
