package mocoref.cpu;

import java.util.HashMap;
import java.util.Map;

/**
 * Memory shared by the layers of a model (one per {@link CpuMoCo}: both encoders) that never need it
 * at the same time:
 * <ul>
 * <li>the im2col buffer: layers reserve their size while the model is built; it is allocated once,
 *     on first use;</li>
 * <li>activation buffers by {@link #activation slot}: a block's backward gradients, which live only
 *     while that block's backward runs, the shortcut's BatchNorm output, read only by its block's
 *     residual add, and every activation of a forward-only encoder (the key encoder, the eval
 *     encoder), which lives only until the next block has read it. Only what a training backward
 *     reads keeps a buffer of its own. The key encoder's forward and the query encoder's backward
 *     take turns on the same buffers; four per layout serve a basic-block network.</li>
 * </ul>
 * A shared buffer belongs to one layout (plane and channel count), so the zeros a {@link Plane}
 * keeps outside its images, which every writer preserves, stay zero whoever wrote last.
 */
final class Workspace {
    /** Slots 0 to 5: a block's transient activations or gradients (at most six live at once). */
    static final int TRANSIENT = 0;
    /**
     * The activation (forward-only encoder) or gradient (backward) handed from one block to the next.
     * A block whose input and output share a layout writes its output over its input: its last
     * reads of the input are elementwise ({@link Kernels#scaleShift}'s residual, BatchNorm's backward).
     */
    static final int HANDOFF = 6;

    private record Key(int n, int h, int w, int span, int lead, int rowLength, int channels, int slot) {}

    private long colSize;
    private float[] col;
    private final Map<Key, float[]> shared = new HashMap<>();

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

    /** The buffer of {@code channels} channels in {@code plane}'s layout in {@code slot}, the same array for every caller. */
    float[] activation(Plane plane, int channels, int slot) {
        Key key = new Key(plane.n(), plane.h(), plane.w(), plane.span(), plane.lead(), plane.rowLength(), channels, slot);
        return shared.computeIfAbsent(key, k -> new float[plane.size(channels)]);
    }

}
