package mocoref.cpu;

/**
 * Scratch shared by the layers of a model that never need it at the same time: the im2col buffer.
 * Layers reserve their size while the model is built; it is allocated once, on first use.
 */
final class Workspace {
    private long colSize;
    private float[] col;

    void reserve(long floats) {
        if (floats > Integer.MAX_VALUE - 16) {
            throw new mocoref.MocoRefException("an im2col buffer of " + floats + " floats exceeds a Java array; use a smaller batch");
        }
        colSize = Math.max(colSize, floats);
    }

    float[] col() {
        if (col == null || col.length < colSize) col = new float[(int) colSize];
        return col;
    }
}
