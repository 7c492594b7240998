package mocoref.cpu;

import mocoref.parallel.WorkerPool;

import mocoref.device.Activation;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/**
 * Convolution without bias on {@link Plane}-laid-out activations, forward and both backward
 * products, all through {@link Kernels#tile} (the weight gradient through {@link WeightGradient};
 * {@link Kernels#dot4x4} only for inputs whose channels don't fill a tile's columns). Weights are torchvision's
 * [out, in, k, k], i.e. a row-major [out][in*k*k] matrix W.
 *
 * <p>Two paths:
 * <ul>
 * <li><b>direct</b> (3x3 pad 1 or 1x1 pad 0, stride 1; nearly every convolution of a ResNet): input
 *     and output share one plane and tap (c, u, v) is a constant shift of channel row c, so the
 *     micro-kernel reads B from the activation's rows as they are, without im2col: each task from a
 *     copy of its stretch of every row ({@link #window}). The data gradient is the same kind of
 *     product with W transposed and the shifts mirrored, read from dY's rows the same way.</li>
 * <li><b>im2col</b> (strided, or other kernels: the first conv of a stage, the downsample, the
 *     ImageNet stem): the taps are gathered branch-free through {@link #srcPos}, when every tap
 *     stays within the zero border, into a per-task panel just before the task's tiles read it
 *     (for 3x3 kernels at the output's image positions only, see {@link #compactStrided});
 *     else (the 7x7 stem) into a [in*k*k][output span] buffer shared by the device's convolutions ({@link CpuDevice#col}). The
 *     data gradient runs per residue of the input positions (h mod stride, w mod stride): each is a
 *     convolution of dY, read in place, with the taps that reach it ({@link Residue}), and each
 *     input value is stored once where it lies (on 7x7 and smaller outputs of a 3x3, 4x4 of a 1x1,
 *     at dY's image positions only, gathered, see {@link #compactResidues}; the 7x7 stem: W^T dY into the
 *     whole-span buffer and a col2im). The weight gradient reads the input in place through {@link #srcPos}, without im2col.</li>
 * </ul>
 * 3x3 stride-1 convolutions of at least {@link #winogradFrom} channels in and out (128, 64 with AVX2: the deep
 * stages) take their forward and data gradient by Winograd's F(2x2, 3x3) instead ({@link Winograd}).
 * Every product is parallel over tiles of output positions (forward, data gradient) or over a
 * fixed split of the positions, one partial sum per part (weight gradient: reproducible for a
 * given thread count).
 */
final class CpuConv2d implements Device.Conv2d {
    /**
     * Positions per chunk of the fallback weight gradient's reduction (the stems, and on AVX-512 the
     * 16-channel layers, whose channels don't fill the tile's 32 columns). Each chunk ends in 16
     * horizontal sums per 4x4 block of dW and their adds into the thread's partial: fewer, longer
     * chunks pay that less often. ConvTiming, batch 256, 2 threads, AVX-512 (docs/performance.md,
     * fourteenth sitting): 16 -> 16 at 28x28 dW 6.1-7.8 ms at 2048, 3.9-6.1 at 8192, 4.0-4.6 at
     * 16384, 4.5-4.8 at 32768, 6.2-6.7 at 65536; the 1 -> 16 stem 0.65 -> 0.5, 1 -> 64 2.9 -> 2.3.
     * (At 65536 a thread has two chunks of the 16 -> 16 layer's 215 296 positions.)
     */
    private static final int CHUNK = 16384;
    /**
     * Position tiles per task of the forward and data-gradient products: 8 where the output has
     * enough positions for at least 16 such tasks a thread (14x14 and up at batch 64), else 4, so
     * that the deep layers' few positions still spread evenly. Measured on the whole step (Zen 5
     * VM, 2 threads, width 32, batch 64, pairs of runs): 8 everywhere +1 to +4% over 4 everywhere,
     * 16 everywhere 2% slower than 8.
     *
     * <p>Direct convolutions of at most 16 input channels (the stem and width 16's first stage) take
     * up to 128 tiles a task, at least 4 tasks a thread: their tile sums only 9 or 144 products, so a
     * task of 8 tiles read each of its input rows for 1 KB and moved on, and the start of each new run
     * of reads was a large share of its time. Timed inside real steps (the stem and the 16 -> 16
     * convolutions, nanoTime around each call, per run divided by BatchNorm's time in the same run to
     * take out this VM's drifts; pairs of runs, 8 tiles then long tasks): {@code bench} width 16 batch 256
     * 12% less time in 5 of 5 pairs natively and in 4 of 4 with -XX:UseAVX=2; {@code --arch resnet10 -b 64}
     * (train's model) 14% less in 4 of 4. The 32-channel convolutions at 14x14 with long tasks: no
     * change in 4 pairs. Every output's sum is the same, so the bits are.
     */
    private final int tilesPerTask;

    final int inChannels, outChannels, kernel, stride, padding;
    final Plane src, dst;
    final boolean direct;
    /** W [out][in*k*k] at weight[weightOffset ..], its gradient at the same place in grad (null: forward only) */
    private final float[] weight, grad;
    final int weightOffset;
    private final Kernels kernels;
    private final WorkerPool pool;
    private final CpuDevice device;
    private final int taps; // in*k*k: the reduction length of the forward product
    private final int mr, nr; // the micro-kernel's tile: at most mr rows (see outRows), nr columns
    /** The row tiles of the forward (output channels), of the direct and residue data gradients (input channels) and of the fallback's (taps). */
    private final RowTiles outRows, inRows, tapRows;

    /**
     * forward A: per row tile of {@link #outRows}, [taps][its stride]. The weights change every step, so every forward packs them
     * again, into the device's one packed-weights buffer (see {@link CpuDevice#packedWeights}).
     */
    private float[] packedW;
    /** forward B rows: where tap (c,u,v) starts, relative to position 0 */
    private final int[] tapOffset;
    /** data-gradient A: per row tile of {@link #inRows}, [out*k*k][its stride] (direct; per residue its taps), or of {@link #tapRows}, [out][its stride] (im2col); packed by every data gradient, as packedW */
    private float[] packedWt;
    /** data-gradient B rows over dY */
    private final int[] dyOffset;
    /** strided: output position q's source position (see {@link #sourcePositions}); null for direct or out-of-border taps */
    private final int[] srcPos;
    /** the weight gradient on the micro-kernel tile; null where channels don't fill its columns (the stem) */
    private final WeightGradient weightGrad;
    /** fallback weight gradient: per group (one per thread) partial sums [out*taps], per worker a 4x4 block */
    private final float[][] partialGrad;
    private final float[][] block;
    /** per worker: the micro-kernel's scratch tile */
    private final float[][] tileScratch;
    /**
     * Strided forward with {@link #srcPos}: per worker, one task's im2col panel [taps][positions of a
     * task], gathered just before its tiles read it (from L1/L2, where a whole-span im2col buffer
     * was read back from memory, one row a span away from the next); null otherwise.
     */
    private final float[][] panel;
    private final int[] panelRowOffset;
    /** Per tap, where it reads relative to a position's source ({@link #tapSource}): the panel's gather. */
    private final int[] panelSource;
    /**
     * Floats per panel row: the task's positions rounded up to an odd number of 64-byte lines. A
     * tile reads its columns of every row at once; with rows a power-of-two number of lines apart
     * (4 tiles of 32 = 512 bytes) those lines fall into an eighth of the L1 and L2 sets, and at 4x4
     * outputs (128 -> 256: 1152 rows, 147 KB a tile) the panel's share of L2 was a fraction of it.
     */
    private final int panelRow;
    /**
     * Direct convolutions: per worker, one task's window of every channel row it reads (positions
     * [start - halo, end + halo) of x for the forward, of dY for the data gradient), copied row by
     * row before its tiles read them. In place, a tile reads as many rows of memory as channels,
     * each a plane apart, at once; no hardware prefetcher follows that many streams, and every load
     * that misses waits on memory. One channel row at a time is one stream, read at memory's speed,
     * and the tiles then read the window from L1/L2. Same products in the same order: same bits.
     */
    private final float[][] window;
    /** Positions of the window a tap reaches beyond the task's own on each side; a window row's length. */
    private final int halo, windowRow;
    /** Where tap t (forward) and dY row (o, u, v) (data gradient) start in the window, relative to the task's first position. */
    private final int[] windowTapOffset, windowDyOffset;
    /**
     * Strided data gradient with {@link #srcPos}: the input positions of each residue (h mod stride,
     * w mod stride) that some tap reaches (see {@link #residues}); null for direct convolutions and
     * where a residue's shifts reach past the layout's one-wide border (then the whole-span col2im).
     */
    private final Residue[] residues;
    /** Whether the residues reach every input image position (3x3 pad 1: yes; 1x1 stride 2: the even ones only). */
    private final boolean residuesCover;
    /** Per worker: one position tile's results of every row tile [row tile][mr][nr], summed over the parts, before they are stored where they lie in dx. */
    private final float[][] residueResult;

    /**
     * The input positions h = s*a + rh, w = s*b + rw of residue (rh, rw) receive from output position
     * (i, j) only through the taps (u, v) with u - p = rh and v - p = rw (mod s), from i = a + di,
     * j = b + dj, di = (rh + p - u) / s: a convolution of dY with those taps of W (dY is zero on
     * its border) with shifts of one position at most. Tap t of the residue is kernel position
     * {@code uv[t]}; product row k = o * taps + t reads dY's window ({@link #residueWindow}) at
     * {@code windowRow[k]} + q - the task's first position; the result at dY's position q belongs at
     * input position {@code target[q]} (-1: none); the residue's packed W^T starts at {@code packBase}.
     */
    private record Residue(int[] uv, int[] windowRow, int[] target, int packBase, int[] bounds, int[][] windowRowParts) {
        /** With its product's parts ({@link #partBounds} of out channels by its taps; null: one part) and windowRow in them. */
        static Residue of(int[] uv, int[] windowRow, int[] target, int packBase) {
            int[] bounds = partBounds(windowRow.length);
            return new Residue(uv, windowRow, target, packBase, bounds, bounds == null ? new int[][] {windowRow} : split(windowRow, bounds));
        }

        int parts() {
            return windowRowParts.length;
        }

        /** Where part p starts in the product's reduction. */
        int partStart(int p) {
            return bounds == null ? 0 : bounds[p];
        }
    }

    /**
     * The residues' data gradient reads dY through a per-task window of every output channel's row
     * (positions [start - halo, end + halo) of the task, copied row by row), as the direct paths do:
     * {@code residueWindowRow} floats a channel, {@link Residue#windowRow} the product rows' offsets
     * in it relative to the task's first position. Null without residues.
     */
    private final float[][] residueWindow;
    private final int residueHalo, residueWindowRow;

    /**
     * A direct convolution on a small plane (the zero border is 23% of the layout's positions at
     * 7x7, 36% at 4x4) may compute its forward or data gradient at the images' positions only: per
     * tile of {@code nr} of them, their B rows are gathered into a panel, and the tile's results
     * are put back where the positions lie. Every output's sum runs over the same k in the same
     * order as in place, so the bits are the same. The gather costs about nr/channels of the
     * tile's products (nr per k, against one FMA per output channel per k), so each pass takes
     * this path where the border's share is at least {@link #COMPACT_MARGIN} times that.
     * {@code compact}: the image positions (relative to the plane's position 0) grouped by
     * {@link TapClass}, each class in order and padded to whole tiles by repeating its last; null
     * where neither pass takes the path.
     */
    private final int[] compact;
    private final boolean compactForward, compactDataGrad;
    /**
     * Fitted to ConvTiming's single layers on the Zen 5 VM (docs/performance.md, fifth sitting):
     * 64 -> 64 at 7x7 (border 0.23, nr/channels 0.5 on AVX-512, 0.25 on AVX2) was slower compact,
     * 128 -> 128 at 4x4 on AVX-512 (0.36 against 0.25) a little faster, 256 at 7x7 and 512 at 4x4
     * 10-25% faster on both. Since the in-place passes read a window of their rows (twelfth
     * sitting), 128 -> 128 at 4x4 on AVX-512 (border 1.44 times nr/channels) is faster in place
     * (batch 256: forward 5.6 ms against 6.7, data gradient 5.7 against 6.6), 256 at 7x7 (1.84) and
     * 512 at 4x4 (5.8) are level, and on AVX2 128 -> 128 at 4x4 (2.9) is still faster compact: so
     * the margin went from 1.4 to 1.5.
     */
    static final double COMPACT_MARGIN = 1.5;
    /**
     * The share of the in-place residue products that land nowhere from which the residues' data
     * gradient runs at dY's image positions only ({@link #compactResidues}): its gather of dY's rows
     * and the staged writes cost about as much as 13% of the products and less than 23%.
     * ConvTiming data gradient (batch 256, 2 threads, Sapphire Rapids, twentieth sitting), in place
     * / compact, ms: at 4x4 outputs from 7x7 (55% thrown away in place) 64 -> 128 4.80 / 2.71, AVX2
     * 7.18 / 4.11; 128 -> 256 18.69 / 12.02, AVX2 28.32 / 14.28; 256 -> 512 72.68 / 38.93. At 7x7
     * from 14x14 (23%) 32 -> 64 4.05 / 4.08, AVX2 5.47 / 4.96; 64 -> 128 12.88 / 12.87, AVX2 18.83 /
     * 16.39; 128 -> 256 48.57 / 43.95, AVX2 73.74 / 55.64. At 14x14 from 28x28 (13%) 32 -> 64 14.13 /
     * 18.59: in place.
     */
    static final double COMPACT_RESIDUE_WASTE = 0.2;
    /**
     * The same for residues that leave input positions unreached (1x1 stride 2: three quarters of
     * them): at dY's image positions the data gradient writes every input position of a group, the
     * unreached ones zero (or adds them, as the downsample's does, which accumulates), where in
     * place it touches the reached ones only. ConvTiming data gradient accumulated, in place /
     * compact, ms: 4x4 outputs (border 0.36) 64 -> 128 1.11 / 0.99, AVX2 1.38 / 1.23; 128 -> 256 3.84 /
     * 2.61, AVX2 4.13 / 3.43; 256 -> 512 10.80 / 7.65; 7x7 (0.23) 32 -> 64 1.00 / 1.36, 64 -> 128 2.80 /
     * 3.24, 128 -> 256 10.43 / 8.42.
     */
    static final double COMPACT_SPARSE_RESIDUE_WASTE = 0.3;
    /**
     * The compact path's positions grouped by the taps that reach into the image, so that a tile
     * multiplies only those: at a 4x4 map a third of the 3x3 taps land on the zero border (an
     * image's first row reads the row above it, which is padding, at u = 0; its last row the one
     * below at u = 2; columns alike), 18% at 7x7. A class holds the positions of one pattern (an
     * interior, an edge, a corner), its tiles run its taps only: the kernel reads their rows of the
     * one packing of every tap through the class's tap list ({@link Kernels#tileTaps}). The taps
     * left out add exact zeros (w * 0 = 0, and a float sum from +0 never holds -0), so every
     * output is the same float as with all the taps: the bits do not change.
     *
     * @param forwardTaps  the forward's k = (c, u, v) that read the image at these output positions, ascending
     * @param forwardFrom  where they read, for the compact forward's gather ({@link #tapOffset} of each)
     * @param dataGradTaps the data gradient's k = (o, u, v) that read dY's image at these input positions, ascending
     * @param dataGradFrom where they read ({@link #dyOffset} of each)
     * @param forwardSource where the forward's taps read relative to a position's source, for the strided forward's gather ({@link #tapSource})
     */
    private record TapClass(int[] forwardTaps, int[] forwardFrom, int[] dataGradTaps, int[] dataGradFrom, int[] forwardSource) {}
    private final TapClass[] tapClasses;
    /** Per compact tile: its class, and how many of its positions are real (the rest repeat the last). */
    private final int[] tileClass, tileLength;
    /**
     * The border positions below n*imageStride of the plane a pass sets without writing them (the
     * compact passes' output, the residues' dx), which it zeroes.
     */
    private final int[] outputGaps, inputGaps;
    /**
     * A strided 3x3 convolution's forward gathers its B panel anyway (through {@link #srcPos}), so
     * it can gather at the output's image positions only, as the compact path does, and skip the
     * border's share of the gather and of the products (13% of the positions at a 14x14 output, 23%
     * at 7x7, 36% at 4x4); the results are then put where they lie, one move per output channel
     * and position (through staging rows, see {@link #groupTile}). Taken where that store costs no
     * more than the gather it saves a part of: out channels at most the taps (the 3x3 layers), or
     * the output's border at least {@link #COMPACT_1X1_BORDER} (the 1x1 downsamples, which have
     * twice as many outputs as inputs, on 7x7 and 4x4 outputs). {@code compactSource}: the
     * source position each compact position reads at tap (padding, padding), as {@link #srcPos} is
     * for each position of the span.
     */
    private final boolean compactStrided;
    private final int[] compactSource;
    /**
     * The compact tiles come in groups of nr images (see the constructor): group g's tiles are
     * [groupTile[g], groupTile[g + 1]). The compact strided forward runs a group a task and puts its
     * results in the worker's staging rows [out][the group's compact positions, then one zero], then
     * writes each output channel's row over the group's images in order ({@link #stagedSlot}: each
     * position's slot there, the zero for the border). Stored where they lie tile by tile (one
     * position at a time, across 8 to 32 images: nearly a cache line of y per store) the results
     * took 2.1 of 12.3 ms at 128 -> 256 from 7x7 (docs/performance.md, nineteenth sitting).
     */
    private final int[] groupTile;
    /** Images a group of compact tiles covers: nr, so that every tap class fills whole tiles in a full group. */
    private final int groupImages;
    private final int stagedRow;
    private final float[][] staged;
    private final int[] stagedSlot;
    /** Per worker, a tile's gathered B [kLen][nr] and its results [mr][nr]; the panel's row offsets k*nr. */
    private final float[][] compactPanel, compactResult;
    private final int[] compactRows;
    /** Per worker, one part's taps of a compact tile's class, when the part does not start the list ({@link #tapTile}). */
    private final int[][] compactTapScratch;

    // arguments of the pass in flight
    private float[] x, y, dy, dx;
    private float[] col; // the workspace's im2col buffer, fetched on the calling thread
    private boolean accumulateDx;

    /**
     * The residues' data gradient at dY's image positions only, as the compact paths compute: per
     * residue, the positions whose input position exists (target >= 0), in tiles of nr, their dY
     * rows gathered into a panel ({@link Kernels#gatherRows}) and the products stored at the input
     * positions, the positions no residue reaches (1x1 stride 2) zero. In place the residues run
     * over dY's whole span, border included, and at an odd source size (7x7 -> 4x4) a 3x3's odd
     * residues have an output column and row with no input position: there 55% of the products are
     * thrown away (at 14x14 -> 7x7 23%, 28x28 -> 14x14 13%; a 1x1's: 36%, 23%, 13%).
     * Tiles come in groups of nr images, a group a task; {@code residueGroupTile[g]} is group g's
     * first tile, {@code residueTile} each tile's residue, {@code residuePositions} the tiles'
     * positions, nr each (a last, ragged tile repeats its last position). Each input value's sum
     * runs over the same k in the same order as in place: the same bits.
     */
    private final boolean compactResidues;
    private final int[] residueGroupTile, residueTile, residuePositions;
    /** Per residue, where product row k = (o, t) reads dY relative to a position (its channel row, shifted). */
    private final int[][] residueFrom;
    /** Per worker, a tile's gathered dY rows [kLen][nr]; the panel's row offsets k*nr. */
    private final float[][] residuePanel;
    private final int[] residuePanelRows;
    /**
     * Per worker, the group's results [in][its tiles' positions, then one zero], which are then
     * written row by row over the group's input images in order ({@code residueSlot}: each input
     * position's slot there, the zero for the border), as the compact strided forward does
     * ({@link #groupTile}). Stored where they lie, one position at a time, they took 3 of 13 ms at
     * 128 -> 256 from 7x7.
     */
    private final float[][] residueStaged;
    /** Per worker, one input channel's row over a group's images, gathered from the staging row to be added into dx. */
    private final float[][] residueSum;
    private final int residueStagedRow;
    private final int[] residueSlot;
    private final WorkerPool.Task compactResidueTask = this::compactResidueTiles;
    private final WorkerPool.Task forwardTask = this::forwardTiles;
    private final WorkerPool.Task compactForwardTask = this::compactForwardTile;
    private final WorkerPool.Task compactDataGradTask = this::compactDataGradTile;
    private final WorkerPool.Task compactStridedTask = this::compactStridedTiles;
    private final WorkerPool.Task phaseForwardTask = this::phaseForwardTiles;

    /**
     * A stride-2 3x3 convolution's forward by phases: the input's four phase planes (even and odd
     * rows by even and odd columns), each in the output's layout, make every tap a constant shift of
     * at most one row and one column within one phase plane, as a stride-1 convolution's taps are
     * within its input. So each task gathers a window of the four phase planes of every channel (4
     * values per channel and position, where the im2col panel gathered 9) and its tiles read B from
     * it in place. Same products in the same order as the gathered panel (the padding taps add exact
     * zeros): same bits. It computes the output's border positions and padding taps, which the
     * compact strided forward skips, so it is taken where the output's border is at most
     * {@link #PHASE_BORDER} of its layout.
     */
    private final boolean phaseForward;
    /**
     * ConvTiming, batch 256, 2 threads, forward ms before (the compact strided forward) / by phases,
     * each pair alternating in separate processes (docs/performance.md, sixteenth sitting). AVX-512:
     * 16 -> 32 @28 5.7, 5.4 / 3.7, 3.5; 32 -> 64 @28 13.4-13.5 / 9.7-9.95; 64 -> 128 @28 37.3, 36.8 / 29.9, 29.0;
     * 64 -> 128 @14 10.2-11.1 / 8.2-9.9; 128 -> 256 @14 35.2, 36.0 / 29.1, 28.9. With -XX:UseAVX=2: 16 -> 32 @28
     * 7.5, 7.6 / 5.5, 5.4; 32 -> 64 @28 18.5, 18.2 / 15.2, 14.7; 64 -> 128 @14 level (14.5, 14.3 / 14.4, 14.7).
     * With 4x4 outputs (border 0.36) slower: 128 -> 256 @7 9.3-9.6 / 11.2-11.4, 256 -> 512 @7 41.3-42.4 /
     * 49.9-50.4, AVX2 128 -> 256 @7 17.7-18.3 / 24.8-26.1. Outputs of 14x14 (border 0.13) and 7x7 (0.23)
     * took it, 4x4 not. (The strided 1x1 the same way measured level: it keeps its panel.) Since the
     * compact strided forward stages its results (nineteenth sitting) it is the faster one at 7x7
     * outputs too (twentieth sitting, Sapphire Rapids, phases / compact, medians of 2-3 runs):
     * 128 -> 256 @14 38.14 / 30.98, AVX2 59.86 / 48.50; 64 -> 128 @14 9.77 / 8.05, AVX2 15.71 /
     * 12.91; 32 -> 64 @14 2.88 / 2.42, AVX2 4.51 / 3.51; at 14x14 outputs still slower: 32 -> 64 @28
     * 11.77 / 13.66, 64 -> 128 @28 40.00 / 43.09. So only 14x14 outputs and larger (border 0.13) by phases.
     */
    static final double PHASE_BORDER = 0.2;
    /**
     * The output border from which a strided convolution with more outputs than taps (the 1x1
     * downsamples) takes the compact strided forward. ConvTiming forward, batch 256, 2 threads
     * (twentieth sitting, Sapphire Rapids), whole span / compact, ms: 4x4 outputs (border 0.36)
     * 128 -> 256 2.18 / 1.65, AVX2 3.12 / 2.36; 256 -> 512 9.05 / 5.97, AVX2 12.27 / 8.54; 7x7
     * (0.23) 32 -> 64 0.93 / 0.62, AVX2 0.95 / 0.76; 64 -> 128 1.97 / 1.80, AVX2 3.87 / 2.38; 128 ->
     * 256 7.01 / 6.59, AVX2 9.59 / 8.57; 14x14 (0.13) 64 -> 128 10.71 / 11.82.
     */
    static final double COMPACT_1X1_BORDER = 0.2;
    /** Phase planes per input channel. */
    private static final int PHASES = 4;
    /** Per tap t = (c, u, v), where it reads in a task's phase window. */
    private final int[] phaseTapOffset;
    /**
     * Per phase (a, b) and output position q, where its phase plane's value lies relative to an
     * input channel's first position: q's centre-tap source position, a rows and b columns on; -1
     * (the channel row's zero lead) on the output's border, so the gather needs no branch.
     */
    private final int[][] phaseSource;
    private final int phaseHalo, phaseWindowRow;
    private final float[][] phaseWindow;

    /**
     * A 3x3 stride-1 convolution with at least {@link CpuDevice#winogradFrom} channels in and out: its
     * forward and data gradient by Winograd's F(2x2, 3x3) ({@link Winograd}); null otherwise. (Its
     * weight gradient stays the direct one.)
     */
    private final Winograd winogradForward, winogradDataGrad;
    /**
     * ConvTiming, batch 256, 2 threads, forward / data gradient ms, direct against Winograd, in
     * separate processes one after the other (docs/performance.md, seventeenth sitting). AVX-512:
     * 512 -> 512 @4 51.1 / 52.2 against 42.9 / 42.0; 256 -> 256 @7 50.8 / 51.1 against 38.0 / 37.6;
     * 256 -> 256 @4 15.0 / 15.5 against 12.1 / 12.0; 128 -> 128 @14 44.3 / 44.1 against 41.0 / 41.0;
     * 128 -> 128 @4 4.9 / 5.0 against 4.4 / 4.5; 128 -> 128 @7 level (11.8 / 11.9 against 11.6 / 11.6);
     * 64 -> 64 @14 10.7 / 10.8 against 13.8 / 13.8 and 64 -> 64 @7 3.1 against 5.7: slower, the
     * transforms and the short products (64 channels a reduction) weigh more. With -XX:UseAVX=2:
     * 128 -> 128 @14 90.3 / 89.2 against 72.5 / 72.4; @7 30.9 / 28.7 against 18.1 / 19.4; @4 7.7 / 7.6
     * against 6.2 / 6.0; 256 -> 256 @7 90.6 / 91.3 against 67.9 / 68.6; @4 27.4 / 26.9 against
     * 20.0 / 19.9; 512 -> 512 @4 88.4 / 93.1 against 75.4 / 77.9; 64 -> 64 @14 22.1 / 22.2 against
     * 26.4 / 25.6. So from 128 channels on. After the epilogue fusion (6ebbe8a) the 64-channel
     * layers: AVX-512 64 -> 64 @14 11.6 / 12.4 against 15.9 / 15.2, @7 3.4 against 4.8, @4 level;
     * AVX2 @14 22.0 against 21.5 and @7 6.2 against 6.5 (level), @4 2.4 against 1.8 (no such layer
     * in the CIFAR ResNets at widths 16 to 64).
     *
     * <p>That was the Zen 5 VM, natively (AVX-512). With 256-bit vectors the 64-channel layers are
     * level there and faster on the Sapphire Rapids VM (twenty-first sitting, {@code ConvAB}: both
     * settings in one JVM, 12 rounds over 6 copies each, Winograd / direct): -XX:UseAVX=2 64 -> 64
     * @14 forward 0.834, data gradient 0.830 (21.4 -> 17.8 ms); @28 0.885 / 0.877; @7 0.975 / 0.977;
     * whole steps 0.995 / 0.978 / 0.985 at widths 16 / 32 / 64. Natively on Sapphire Rapids 0.96 /
     * 0.96 at @14 and 0.98 / 1.01 at @28 (steps 1.003 / 0.990 / 0.985), but 30% slower on Zen 5: so
     * from 64 channels with 256-bit vectors ({@link #WINOGRAD_FROM_256_BIT}), from 128 with 512.
     */
    static final int WINOGRAD_FROM = 128;
    /** {@link #WINOGRAD_FROM} for kernels of 256-bit vectors (a tile 16 floats wide: AVX2). */
    static final int WINOGRAD_FROM_256_BIT = 64;

    /** The fewest channels at which 3x3 stride-1 convolutions run by Winograd on these kernels (see {@link #WINOGRAD_FROM}). */
    static int winogradFrom(Kernels kernels) {
        return kernels.nr() == 16 ? WINOGRAD_FROM_256_BIT : WINOGRAD_FROM;
    }

    private final WorkerPool.Task outputGapsTask = this::zeroOutputGaps;
    private final WorkerPool.Task inputGapsTask = this::zeroInputGaps;
    private final WorkerPool.Task packTask = this::packTile;
    private final WorkerPool.Task packTransposedTask = this::packTransposedTile;
    private final WorkerPool.Task im2colTask = this::im2colRow;
    private final WorkerPool.Task weightGradTask = this::weightGradGroup;
    private final WorkerPool.Task dataGradTask = this::dataGradTiles;
    private final WorkerPool.Task col2imTask = this::col2imChannel;
    private final WorkerPool.Task residueDataGradTask = this::residueDataGradTiles;
    private final WorkerPool.Task clearInputTask = this::clearInputSpan;

    /** A convolution of {@code shape} from activations in {@code src} to {@code dst} (its output geometry), W from {@code w}. */
    CpuConv2d(Device.ConvShape shape, ParamRef w, Plane src, Plane dst, Kernels kernels, WorkerPool pool, CpuDevice device) {
        this(shape, w, src, dst, kernels, pool, device, COMPACT_MARGIN, PHASE_BORDER, device.winogradFrom());
    }

    /**
     * With the compact path's margin given: 0 takes it wherever it can, infinity never, also not
     * for the strided forward ({@link #compactStrided}) and the residues' data gradient
     * ({@link #compactResidues}); never by phases. For tests.
     */
    CpuConv2d(Device.ConvShape shape, ParamRef w, Plane src, Plane dst, Kernels kernels, WorkerPool pool, CpuDevice device,
              double compactMargin) {
        this(shape, w, src, dst, kernels, pool, device, compactMargin, -1);
    }

    /** With the compact path's margin and the phase forward's largest output border (-1: never, 1: always) given; never by Winograd. For tests. */
    CpuConv2d(Device.ConvShape shape, ParamRef w, Plane src, Plane dst, Kernels kernels, WorkerPool pool, CpuDevice device,
              double compactMargin, double phaseBorder) {
        this(shape, w, src, dst, kernels, pool, device, compactMargin, phaseBorder, Integer.MAX_VALUE);
    }

    /**
     * With the compact path's margin, the phase forward's largest output border and the fewest
     * channels (in and out) at which a 3x3 stride-1 convolution runs by Winograd (1: always,
     * Integer.MAX_VALUE: never) given. For tests.
     */
    CpuConv2d(Device.ConvShape shape, ParamRef w, Plane src, Plane dst, Kernels kernels, WorkerPool pool, CpuDevice device,
              double compactMargin, double phaseBorder, int winogradFrom) {
        int in = shape.in(), out = shape.out(), kernel = shape.kernel();
        boolean trainable = w.trainable();
        this.inChannels = in;
        this.outChannels = out;
        this.kernel = kernel;
        this.stride = shape.stride();
        this.padding = shape.padding();
        this.src = src;
        this.dst = dst;
        this.weight = CpuDevice.data(w.value());
        this.grad = trainable ? CpuDevice.data(w.grad()) : null;
        this.weightOffset = Math.toIntExact(w.offset());
        this.kernels = kernels;
        this.pool = pool;
        this.device = device;
        this.mr = kernels.mr();
        this.nr = kernels.nr();
        this.taps = in * kernel * kernel;
        this.direct = stride == 1 && ((kernel == 3 && padding == 1) || (kernel == 1 && padding == 0));
        // A strided or non-3x3 convolution may map one geometry to itself too (stride 2 on 1x1 images).
        if (direct && src != dst) throw new IllegalArgumentException("a direct convolution reads and writes one layout");
        boolean winograd = direct && kernel == 3 && padding == 1 && Math.min(in, out) >= winogradFrom;
        winogradForward = winograd ? new Winograd(src, in, out, kernels, pool, device) : null;
        winogradDataGrad = winograd && trainable ? new Winograd(src, out, in, kernels, pool, device) : null;
        outRows = new RowTiles(out, kernels);
        inRows = new RowTiles(in, kernels);
        tapRows = new RowTiles(taps, kernels);
        device.reservePackedWeights(outRows.packedSize(taps));
        tapOffset = new int[taps];
        if (direct) {
            for (int t = 0; t < taps; t++) tapOffset[t] = tapSource(t);
        } else {
            for (int t = 0; t < taps; t++) tapOffset[t] = t * dst.span();
        }
        if (direct) {
            int kk = kernel * kernel;
            if (trainable) device.reservePackedWeights(inRows.packedSize(out * kk));
            dyOffset = new int[out * kk];
            for (int o = 0; o < out; o++) {
                for (int u = 0; u < kernel; u++) {
                    for (int v = 0; v < kernel; v++) {
                        dyOffset[(o * kernel + u) * kernel + v] = o * dst.rowLength() + dst.lead()
                                + (padding - u) * dst.rowStride() + (padding - v);
                    }
                }
            }
        } else {
            if (trainable) device.reservePackedWeights(Math.max(tapRows.packedSize(out), inRows.packedSize(out * kernel * kernel)));
            dyOffset = new int[out];
            for (int o = 0; o < out; o++) dyOffset[o] = o * dst.rowLength() + dst.lead();
        }
        srcPos = direct ? null : sourcePositions();
        double outputBorder = 1 - (double) dst.h() * dst.w() / dst.imageStride();
        phaseForward = srcPos != null && stride == 2 && kernel == 3 && padding == 1
                && outputBorder <= phaseBorder;
        compactStrided = srcPos != null && compactMargin != Double.POSITIVE_INFINITY && !phaseForward
                && (out <= taps || outputBorder >= COMPACT_1X1_BORDER || compactMargin == 0);
        forwardBounds = direct ? partBounds(taps) : null;
        dataGradBounds = direct && trainable ? partBounds(out * kernel * kernel) : null;
        int positionTiles = dst.span() / nr;
        int shortTasks = positionTiles >= 8 * 16 * pool.threads() ? 8 : 4;
        tilesPerTask = direct && in <= 16 ? Math.max(shortTasks, Math.min(128, positionTiles / (4 * pool.threads()))) : shortTasks;
        residueHalo = dst.rowStride() + 1;
        residueWindowRow = Plane.oddLines(tilesPerTask * nr + 2 * residueHalo);
        residues = trainable && srcPos != null ? residues() : null;
        residuesCover = residues != null && covered(residues) == (long) src.n() * src.h() * src.w();
        groupImages = nr;
        compactResidues = residues != null && compactMargin != Double.POSITIVE_INFINITY
                && (compactMargin == 0 ? compactResidueWaste() > 0
                        : compactResidueWaste() >= (residuesCover ? COMPACT_RESIDUE_WASTE : COMPACT_SPARSE_RESIDUE_WASTE));
        if (compactResidues) {
            java.util.List<int[]> tileList = new java.util.ArrayList<>(); // per tile: its residue, then its nr positions
            java.util.List<Integer> groupStarts = new java.util.ArrayList<>();
            int groups = (dst.n() + groupImages - 1) / groupImages;
            for (int g = 0; g < groups; g++) {
                groupStarts.add(tileList.size());
                int first = g * groupImages * dst.imageStride(), end = Math.min(dst.n(), (g + 1) * groupImages) * dst.imageStride();
                for (int r = 0; r < residues.length; r++) {
                    int[] target = residues[r].target();
                    java.util.List<Integer> members = new java.util.ArrayList<>();
                    for (int q = first; q < end; q++) if (target[q] >= 0) members.add(q);
                    for (int i = 0; i < members.size(); i += nr) {
                        int[] t = new int[1 + nr];
                        t[0] = r;
                        for (int j = 0; j < nr; j++) t[1 + j] = members.get(Math.min(i + j, members.size() - 1));
                        tileList.add(t);
                    }
                }
            }
            groupStarts.add(tileList.size());
            residueGroupTile = groupStarts.stream().mapToInt(Integer::intValue).toArray();
            residueTile = new int[tileList.size()];
            residuePositions = new int[tileList.size() * nr];
            for (int tile = 0; tile < tileList.size(); tile++) {
                int[] t = tileList.get(tile);
                residueTile[tile] = t[0];
                System.arraycopy(t, 1, residuePositions, tile * nr, nr);
            }
            residueFrom = new int[residues.length][];
            int kMax = 0;
            for (int r = 0; r < residues.length; r++) {
                int[] rows = residues[r].windowRow(), from = new int[rows.length];
                int count = residues[r].uv().length;
                for (int k = 0; k < rows.length; k++) {
                    int o = k / count; // windowRow[k] = o * residueWindowRow + residueHalo + the tap's shift in dY
                    from[k] = o * dst.rowLength() + dst.lead() + rows[k] - o * residueWindowRow - residueHalo;
                }
                residueFrom[r] = from;
                kMax = Math.max(kMax, rows.length);
            }
            residuePanel = WorkerPool.scratch(pool.threads(), kMax * nr);
            residuePanelRows = new int[kMax];
            for (int k = 0; k < kMax; k++) residuePanelRows[k] = k * nr;
            residueStagedRow = stagedRow(residueGroupTile);
            residueStaged = WorkerPool.scratch(pool.threads(), in * residueStagedRow); // the slot past each row's tiles stays zero
            residueSum = WorkerPool.scratch(pool.threads(), groupImages * src.imageStride());
            residueSlot = stagedSlots(src.span(), residueGroupTile, residueStagedRow, i -> residues[residueTile[i / nr]].target()[residuePositions[i]]);
        } else {
            residueGroupTile = residueTile = residuePositions = residuePanelRows = residueSlot = null;
            residueFrom = null;
            residuePanel = residueStaged = residueSum = null;
            residueStagedRow = 0;
        }
        residueWindow = residues != null && !compactResidues ? WorkerPool.scratch(pool.threads(), outChannels * residueWindowRow) : null;
        residueResult = residues != null && !compactResidues ? WorkerPool.scratch(pool.threads(), inRows.count() * mr * nr) : null; // a tile per row tile
        int[] images = dst.imagePositions();
        weightGrad = trainable ? weightGradient(kernels, pool, images) : null;
        partialGrad = trainable && weightGrad == null ? new float[pool.threads()][out * taps] : null;
        // the whole-span im2col buffer: for the 7x7 stem's forward and data gradient, and the fallback weight gradient
        if (!direct && (srcPos == null || (trainable && (weightGrad == null || residues == null)))) {
            device.reserveCol((long) taps * dst.span());
        }
        block = WorkerPool.scratch(pool.threads(), 16);
        tileScratch = WorkerPool.scratch(pool.threads(), 8 * nr); // the tile needs mr*nr, dot4x4 8*nr
        int taskWidth = tilesPerTask * nr;
        panelRow = Plane.oddLines(taskWidth);
        panel = srcPos != null && !phaseForward && !compactStrided ? WorkerPool.scratch(pool.threads(), taps * panelRow) : null;
        panelRowOffset = new int[taps];
        for (int t = 0; t < taps; t++) panelRowOffset[t] = t * panelRow;
        stridedBounds = srcPos != null ? partBounds(taps) : null; // the panel, the phases and the compact tiles alike: the same bits
        stridedParts = stridedBounds == null ? 1 : stridedBounds.length - 1;
        panelParts = panel != null && stridedBounds != null ? split(panelRowOffset, stridedBounds) : null;
        panelSource = panel != null ? java.util.stream.IntStream.range(0, taps).map(this::tapSource).toArray() : null;
        double border = 1 - (double) dst.h() * dst.w() / dst.imageStride();
        compactForward = direct && !winograd && border > 0 && border >= compactMargin * nr / out;
        compactDataGrad = direct && !winograd && trainable && border > 0 && border >= compactMargin * nr / in;
        halo = direct ? padding * (src.rowStride() + 1) : 0;
        windowRow = Plane.oddLines(taskWidth + 2 * halo);
        int windowChannels = winograd ? 0 : Math.max(compactForward ? 0 : in, trainable && !compactDataGrad ? out : 0);
        window = direct && windowChannels > 0 ? WorkerPool.scratch(pool.threads(), windowChannels * windowRow) : null;
        int kk = kernel * kernel;
        windowTapOffset = new int[direct ? taps : 0];
        for (int t = 0; t < windowTapOffset.length; t++) windowTapOffset[t] = t / kk * windowRow + halo + shift(t % kk);
        windowDyOffset = new int[direct ? out * kk : 0];
        for (int k = 0; k < windowDyOffset.length; k++) {
            int u = k % kk / kernel, v = k % kernel; // row k = (o, u, v) reads dY at the mirrored shift
            windowDyOffset[k] = k / kk * windowRow + halo + (padding - u) * dst.rowStride() + (padding - v);
        }
        forwardParts = direct && !winograd && !compactForward && forwardBounds != null ? split(windowTapOffset, forwardBounds) : null;
        dataGradParts = direct && trainable && !winograd && !compactDataGrad && dataGradBounds != null ? split(windowDyOffset, dataGradBounds) : null;
        phaseHalo = phaseForward ? dst.rowStride() + 1 : 0;
        phaseWindowRow = phaseForward ? Plane.oddLines(taskWidth + 2 * phaseHalo) : 0;
        phaseWindow = phaseForward ? WorkerPool.scratch(pool.threads(), in * PHASES * phaseWindowRow) : null;
        phaseSource = new int[phaseForward ? PHASES : 0][];
        for (int phase = 0; phase < phaseSource.length; phase++) {
            int shift = phase / 2 * src.rowStride() + phase % 2;
            phaseSource[phase] = new int[dst.span()];
            for (int q = 0; q < dst.span(); q++) phaseSource[phase][q] = dst.mask()[q] != 0f ? srcPos[q] + shift : -1;
        }
        phaseTapOffset = new int[phaseForward ? taps : 0];
        for (int t = 0; t < phaseTapOffset.length; t++) {
            int c = t / kk, iu = t % kk / kernel - padding, iv = t % kernel - padding;
            int phase = Math.floorMod(iu, 2) * 2 + Math.floorMod(iv, 2); // tap u reads row 2i + u - 1 = 2(i + floorDiv(iu, 2)) + floorMod(iu, 2)
            phaseTapOffset[t] = (c * PHASES + phase) * phaseWindowRow + phaseHalo + Math.floorDiv(iu, 2) * dst.rowStride() + Math.floorDiv(iv, 2);
        }
        phaseParts = phaseForward && stridedBounds != null ? split(phaseTapOffset, stridedBounds) : null; // in parts, as the direct forward (directProducts)
        outputGaps = compactForward ? dst.borderPositions() : null;
        inputGaps = compactDataGrad || residues != null ? src.borderPositions() : null;
        if (compactForward || compactDataGrad || compactStrided) {
            // Tiles of one class's positions, class by class within groups of nr images: in a full group
            // every class has a whole number of tiles (nr times its positions per image), and a group's
            // outputs are one run of each channel row, which the strided forward writes in one go.
            java.util.Map<String, Integer> classOf = new java.util.HashMap<>();
            java.util.List<TapClass> classes = new java.util.ArrayList<>();
            java.util.List<int[]> tileList = new java.util.ArrayList<>(); // per tile: its class, its real positions' count, its nr positions
            java.util.List<Integer> groupStarts = new java.util.ArrayList<>();
            for (int g0 = 0, g1; g0 < images.length; g0 = g1) {
                groupStarts.add(tileList.size());
                int group = images[g0] / dst.imageStride() / groupImages;
                java.util.Map<Integer, java.util.List<Integer>> byClass = new java.util.TreeMap<>();
                for (g1 = g0; g1 < images.length && images[g1] / dst.imageStride() / groupImages == group; g1++) {
                    int q = images[g1];
                    String pattern = tapPattern(q);
                    Integer c = classOf.get(pattern);
                    if (c == null) {
                        c = classes.size();
                        classOf.put(pattern, c);
                        classes.add(tapClass(q));
                    }
                    byClass.computeIfAbsent(c, key -> new java.util.ArrayList<>()).add(q);
                }
                for (java.util.Map.Entry<Integer, java.util.List<Integer>> e : byClass.entrySet()) {
                    java.util.List<Integer> members = e.getValue();
                    for (int i = 0; i < members.size(); i += nr) {
                        int[] t = new int[2 + nr];
                        t[0] = e.getKey();
                        t[1] = Math.min(nr, members.size() - i);
                        for (int j = 0; j < nr; j++) t[2 + j] = members.get(Math.min(i + j, members.size() - 1));
                        tileList.add(t);
                    }
                }
            }
            int tiles = tileList.size();
            groupStarts.add(tiles);
            groupTile = groupStarts.stream().mapToInt(Integer::intValue).toArray();
            compact = new int[tiles * nr];
            tileClass = new int[tiles];
            tileLength = new int[tiles];
            tapClasses = classes.toArray(new TapClass[0]);
            for (int tile = 0; tile < tiles; tile++) {
                int[] t = tileList.get(tile);
                tileClass[tile] = t[0];
                tileLength[tile] = t[1];
                System.arraycopy(t, 2, compact, tile * nr, nr);
            }
            // the panels of the compact passes' reductions (the strided forward's: a tile's class taps)
            int kLen = Math.max(Math.max(compactForward ? taps : 0, compactDataGrad ? out * kernel * kernel : 0), compactStrided ? taps : 0);
            compactPanel = WorkerPool.scratch(pool.threads(), kLen * nr);
            compactResult = WorkerPool.scratch(pool.threads(), mr * nr);
            compactRows = new int[kLen];
            compactTapScratch = new int[pool.threads()][kLen];
            for (int k = 0; k < kLen; k++) compactRows[k] = k * nr;
        } else {
            compact = null;
            tileClass = null;
            tileLength = null;
            tapClasses = null;
            compactPanel = null;
            compactResult = null;
            compactRows = null;
            compactTapScratch = null;
            groupTile = null;
        }
        stagedRow = compactStrided ? stagedRow(groupTile) : 1;
        staged = compactStrided ? WorkerPool.scratch(pool.threads(), out * stagedRow) : null; // the slot past each row's tiles stays zero
        stagedSlot = compactStrided ? stagedSlots(dst.span(), groupTile, stagedRow, i -> compact[i]) : null;
        compactSource = compactStrided ? new int[compact.length] : null;
        for (int i = 0; compactStrided && i < compact.length; i++) compactSource[i] = srcPos[compact[i]];
    }

    /** Whether the forward (and data gradient) run by Winograd. */
    boolean byWinograd() {
        return winogradForward != null;
    }

    /** Which taps read the image at compact position q: the forward's at output position q, the data gradient's at input position q. */
    private String tapPattern(int q) {
        return java.util.Arrays.toString(forwardTapsAt(q)) + java.util.Arrays.toString(dataGradTapsAt(q));
    }

    /** The taps (u, v) whose source for output position q (of dst) lies in the image, as u * kernel + v, ascending. */
    private int[] forwardTapsAt(int q) {
        if (!compactForward && !compactStrided) return new int[0];
        int i = q % dst.imageStride() / dst.rowStride(), j = q % dst.rowStride();
        return tapsWhere((u, v) -> inside(src, i * stride + u - padding, j * stride + v - padding));
    }

    /** The taps (u, v) whose dY position for input position q (stride 1: dY at the mirrored shift) lies in the image. */
    private int[] dataGradTapsAt(int q) {
        if (!compactDataGrad) return new int[0];
        int i = q % src.imageStride() / src.rowStride(), j = q % src.rowStride();
        return tapsWhere((u, v) -> inside(dst, i + padding - u, j + padding - v));
    }

    /** The taps u * kernel + v, ascending, for which {@code reads} holds. */
    private int[] tapsWhere(java.util.function.BiPredicate<Integer, Integer> reads) {
        return java.util.stream.IntStream.range(0, kernel * kernel).filter(uv -> reads.test(uv / kernel, uv % kernel)).toArray();
    }

    private static boolean inside(Plane p, int h, int w) {
        return h >= 0 && h < p.h() && w >= 0 && w < p.w();
    }

    /** The class of the compact positions that share position q's taps. */
    private TapClass tapClass(int q) {
        int kk = kernel * kernel;
        int[] fw = forwardTapsAt(q), dg = dataGradTapsAt(q);
        int[] forwardTaps = new int[inChannels * fw.length], forwardFrom = new int[forwardTaps.length];
        for (int c = 0, k = 0; c < inChannels; c++) {
            for (int uv : fw) {
                int t = c * kk + uv;
                forwardTaps[k] = t;
                forwardFrom[k++] = tapOffset[t];
            }
        }
        int[] dataGradTaps = new int[outChannels * dg.length], dataGradFrom = new int[dataGradTaps.length];
        for (int o = 0, k = 0; o < outChannels; o++) {
            for (int uv : dg) {
                dataGradTaps[k] = o * kk + uv;
                dataGradFrom[k++] = dyOffset[o * kk + uv];
            }
        }
        int[] forwardSource = java.util.Arrays.stream(forwardTaps).map(this::tapSource).toArray();
        return new TapClass(forwardTaps, forwardFrom, dataGradTaps, dataGradFrom, forwardSource);
    }

    /**
     * For a strided convolution whose every tap lands in the image or the layout's one-wide zero
     * border (3x3 pad 1, 1x1 pad 0), the source position (relative to the plane's position 0) that
     * output position q reads at tap (padding, padding); at the output's padding positions, where
     * dY is zero and the forward masks, a copy of the previous one, so every entry is safe to read.
     * Null when some tap reaches further out (the 7x7 ImageNet stem).
     */
    private int[] sourcePositions() {
        boolean inBorder = padding <= 1 && (dst.h() - 1) * stride + kernel - 1 - padding <= src.h()
                && (dst.w() - 1) * stride + kernel - 1 - padding <= src.w();
        if (!inBorder) return null;
        int[] pos = new int[dst.span()];
        for (int q = 0; q < dst.span(); q++) {
            int b = q / dst.imageStride(), i = q % dst.imageStride() / dst.rowStride(), j = q % dst.rowStride();
            boolean valid = b < dst.n() && i < dst.h() && j < dst.w();
            pos[q] = valid ? b * src.imageStride() + i * stride * src.rowStride() + j * stride : pos[q - 1];
        }
        return pos;
    }

    /** The residues of {@link #residues}, in order (rh, rw); null where a shift exceeds one position. */
    private Residue[] residues() {
        int kk = kernel * kernel;
        java.util.List<Residue> list = new java.util.ArrayList<>();
        int packBase = 0;
        for (int rh = 0; rh < stride; rh++) {
            for (int rw = 0; rw < stride; rw++) {
                int[] uv = new int[kk], di = new int[kk], dj = new int[kk];
                int count = 0;
                for (int u = 0; u < kernel; u++) {
                    for (int v = 0; v < kernel; v++) {
                        if (Math.floorMod(u - padding - rh, stride) != 0 || Math.floorMod(v - padding - rw, stride) != 0) continue;
                        uv[count] = u * kernel + v;
                        di[count] = (rh + padding - u) / stride; // exact: u - padding = rh (mod stride)
                        dj[count] = (rw + padding - v) / stride;
                        if (Math.abs(di[count]) > 1 || Math.abs(dj[count]) > 1) return null;
                        count++;
                    }
                }
                if (count == 0) continue; // no tap reaches these input positions: their gradient is 0
                int[] target = new int[dst.span()];
                for (int q = 0; q < dst.span(); q++) {
                    int b = q / dst.imageStride(), i = q % dst.imageStride() / dst.rowStride(), j = q % dst.rowStride();
                    int h = i * stride + rh, w = j * stride + rw;
                    boolean valid = b < dst.n() && i < dst.h() && j < dst.w() && h < src.h() && w < src.w();
                    target[q] = valid ? b * src.imageStride() + h * src.rowStride() + w : -1;
                }
                int[] windowRow = new int[outChannels * count];
                for (int o = 0; o < outChannels; o++) {
                    for (int t = 0; t < count; t++) {
                        windowRow[o * count + t] = o * residueWindowRow + residueHalo + di[t] * dst.rowStride() + dj[t];
                    }
                }
                list.add(Residue.of(java.util.Arrays.copyOf(uv, count), windowRow, target, packBase));
                packBase += Math.toIntExact(inRows.packedSize(outChannels * count));
            }
        }
        return list.toArray(new Residue[0]);
    }

    /** How many input positions the residues reach (each at most once). */
    private static long covered(Residue[] residues) {
        long n = 0;
        for (Residue r : residues) {
            for (int t : r.target()) if (t >= 0) n++;
        }
        return n;
    }

    /**
     * The weight gradient on the micro-kernel tile, reading the input in place: directly, or for a strided
     * convolution through a table of source positions, when every tap lands in the image or the
     * layout's one-wide zero border (3x3 pad 1, 1x1 pad 0). Null otherwise (also when the input's
     * channels don't fill the tile's columns: the 1- or 3-channel stem), for the dot-product fallback.
     */
    private WeightGradient weightGradient(Kernels kernels, WorkerPool pool, int[] images) {
        if (!WeightGradient.supports(kernels, inChannels, kernel) || (!direct && srcPos == null)) return null;
        // paired taps (fewer channels than the tile's columns) only where the fallback needs im2col: on a
        // direct 16 -> 16 3x3 at 28x28 (AVX-512) they measured no faster than the dot-product kernel
        // reading in place (ConvTiming dW 8.2 / 8.1 ms against 7.0 / 7.8), on the strided 16 -> 32 faster
        // (5.8 / 6.6 against 8.8 / 8.3)
        if (direct && inChannels < kernels.nr()) return null;
        int kk = kernel * kernel;
        int[] shift = new int[kk];
        for (int uv = 0; uv < kk; uv++) shift[uv] = shift(uv);
        return new WeightGradient(kernels, pool, outChannels, inChannels, kernel, shift, srcPos, images, stride * stride,
                device.weightGradientWorkspace());
    }

    /** Tap (u, v)'s offset from the position an output reads at its centre tap, in the source plane. */
    private int shift(int uv) {
        return (uv / kernel - padding) * src.rowStride() + (uv % kernel - padding);
    }

    /** Where tap t = (c, u, v) reads, relative to an output position's source position (channel c's row, shifted). */
    private int tapSource(int t) {
        return t / (kernel * kernel) * src.rowLength() + src.lead() + shift(t % (kernel * kernel));
    }

    /** x [in, plane src] -> y [out, plane dst]; padding of y comes out zero. */
    @Override
    public void forward(Activation x, Activation y) {
        forward(CpuDevice.data(x), CpuDevice.overwritten(y, x));
    }

    void forward(float[] x, float[] y) {
        this.x = x;
        this.y = y;
        if (winogradForward != null) {
            winogradForward.run(weight, weightOffset, false, x, y, false);
            return;
        }
        packedW = device.packedWeights();
        pool.forEach(outRows.count(), packTask);
        col = device.col();
        if (!direct && srcPos == null) pool.forEach(taps, im2colTask);
        if (phaseForward) {
            pool.forEach(taskCount(dst), phaseForwardTask);
            return;
        }
        if (compactForward || compactStrided) {
            if (compactStrided) {
                pool.forEach(groupTile.length - 1, compactStridedTask);
                return;
            }
            pool.forEach(outChannels, outputGapsTask);
            pool.forEach(compact.length / nr, compactForwardTask);
            return;
        }
        pool.forEach(taskCount(dst), forwardTask);
    }

    /** Forward of the image positions of compact tile {@code tile}: y[o, position] = (W B)[o, j]. */
    private void compactForwardTile(int tile, int worker) {
        float[] p = compactPanel[worker], r = compactResult[worker];
        TapClass tc = tapClasses[tileClass[tile]];
        gatherCompact(x, tc.forwardFrom(), tc.forwardTaps().length, tile, p);
        for (int mt = 0; mt < outRows.count(); mt++) {
            int rows = outRows.rows(mt);
            tapTile(packedW, outRows.offset(mt, taps), outRows.stride(mt), tc.forwardTaps(), taps, forwardBounds, false, p, r, rows, worker);
            scatterCompact(r, rows, y, outRows.first(mt), dst, tile, false);
        }
    }

    /**
     * The strided forward of group g's images: per tile of their compact positions, the im2col rows
     * of its class's taps gathered (one gatherRows call), then the products into the staging rows;
     * last each output channel's row over the group's images, border positions zero.
     */
    private void compactStridedTiles(int g, int worker) {
        float[] p = compactPanel[worker], stage = staged[worker];
        for (int tile = groupTile[g]; tile < groupTile[g + 1]; tile++) {
            TapClass tc = tapClasses[tileClass[tile]];
            int q = tile * nr, slot = q - groupTile[g] * nr;
            kernels.gatherRows(x, tc.forwardSource(), tc.forwardSource().length, compactSource, q, nr, p, 0, nr);
            // per part of the reduction (as the panel's and the phases'), the class's taps in it over every row tile
            int[] aTap = tc.forwardTaps();
            boolean added = false;
            for (int part = 0, i = 0; part < stridedParts; part++) {
                int k0 = stridedBounds == null ? 0 : stridedBounds[part], k1 = stridedBounds == null ? taps : stridedBounds[part + 1], i0 = i;
                while (i < aTap.length && aTap[i] < k1) i++;
                int kLen = i - i0;
                if (kLen == 0) continue;
                int[] partTaps = partTaps(aTap, i0, kLen, worker);
                for (int mt = 0; mt < outRows.count(); mt++) {
                    int rows = outRows.rows(mt), at = outRows.first(mt) * stagedRow + slot, stride = outRows.stride(mt);
                    if (kLen == k1 - k0) {
                        kernels.tile(packedW, outRows.offset(mt, taps) + k0 * stride, stride, kLen, p, compactRows, i0 * nr, stage, at, stagedRow, rows,
                                added, null, 0, tileScratch[worker]);
                    } else {
                        kernels.tileTaps(packedW, outRows.offset(mt, taps), stride, partTaps, kLen, p, compactRows, i0 * nr, stage, at, stagedRow, rows,
                                added, null, 0, tileScratch[worker]);
                    }
                }
                added = true;
            }
        }
        int first = g * groupImages * dst.imageStride();
        int len = Math.min(dst.n() - g * groupImages, groupImages) * dst.imageStride(), ld = dst.rowLength();
        for (int o = 0; o < outChannels; o++) kernels.gather(stage, o * stagedRow, stagedSlot, first, len, y, o * ld + dst.lead() + first);
    }

    /** Data gradient of compact tile {@code tile}: dx[c, position] (+)= (W^T dY)[c, j], dY's taps gathered. */
    private void compactDataGradTile(int tile, int worker) {
        float[] p = compactPanel[worker], r = compactResult[worker];
        TapClass tc = tapClasses[tileClass[tile]];
        int kLen = outChannels * kernel * kernel;
        gatherCompact(dy, tc.dataGradFrom(), tc.dataGradTaps().length, tile, p);
        for (int ct = 0; ct < inRows.count(); ct++) {
            int rows = inRows.rows(ct);
            // accumulated: dx's values first, each part's sum added to them, as in place (tile adds its sum to dx)
            if (accumulateDx) gatherCompactResults(r, rows, dx, inRows.first(ct), src, tile);
            tapTile(packedWt, inRows.offset(ct, kLen), inRows.stride(ct), tc.dataGradTaps(), kLen, dataGradBounds, accumulateDx, p, r, rows, worker);
            scatterCompact(r, rows, dx, inRows.first(ct), src, tile, false);
        }
    }

    /**
     * A compact tile's product over its class's taps {@code aTap} (ascending) of A's packing of all
     * {@code all} rows, B's k-th row (the class's k-th tap) at b[k * nr], into the result tile r: per
     * part of {@code bounds} (null: one part) as in place, the class's taps in it, the first part
     * with any set and the others added (a part without any adds nothing: in place it added the sum
     * of exact zeros, +0); the plain kernel where the class has every tap of a part. With
     * {@code accumulate} every part adds to what r holds.
     */
    private void tapTile(float[] a, int aOff, int aStride, int[] aTap, int all, int[] bounds, boolean accumulate, float[] b, float[] r, int rows,
                         int worker) {
        int parts = bounds == null ? 1 : bounds.length - 1;
        boolean added = accumulate;
        for (int part = 0, i = 0; part < parts; part++) {
            int k0 = bounds == null ? 0 : bounds[part], k1 = bounds == null ? all : bounds[part + 1], i0 = i;
            while (i < aTap.length && aTap[i] < k1) i++;
            int kLen = i - i0;
            if (kLen == 0) continue;
            if (kLen == k1 - k0 && rows == mr && !added) { // straight into r: the same bits as through the scratch tile
                // (a later part adds its sum to r, as tile does in place; tileInto would sum on from r's value, other bits)
                kernels.tileInto(a, aOff + k0 * aStride, aStride, kLen, b, compactRows, i0 * nr, r, 0, false);
            } else if (kLen == k1 - k0) {
                kernels.tile(a, aOff + k0 * aStride, aStride, kLen, b, compactRows, i0 * nr, r, 0, nr, rows, added, null, 0, tileScratch[worker]);
            } else {
                kernels.tileTaps(a, aOff, aStride, partTaps(aTap, i0, kLen, worker), kLen, b, compactRows, i0 * nr, r, 0, nr, rows, added, null, 0, tileScratch[worker]);
            }
            added = true;
        }
    }

    /** aTap[i0 .. i0 + kLen) from index 0, as tileTaps reads them: aTap itself where i0 is 0, else a copy in the worker's scratch. */
    private int[] partTaps(int[] aTap, int i0, int kLen, int worker) {
        if (i0 == 0) return aTap;
        int[] taps = compactTapScratch[worker];
        System.arraycopy(aTap, i0, taps, 0, kLen);
        return taps;
    }

    /** p[k][j] = from[rowOffset[k] + position j of compact tile {@code tile}], for k < kLen. */
    private void gatherCompact(float[] from, int[] rowOffset, int kLen, int tile, float[] p) {
        int q0 = tile * nr;
        for (int k = 0; k < kLen; k++) {
            int base = rowOffset[k], at = k * nr;
            for (int j = 0; j < nr; j++) p[at + j] = from[base + compact[q0 + j]];
        }
    }

    /** The inverse of {@link #scatterCompact}'s store: r's rows [0, rows) from channels from {@code channel0} of {@code from} at the tile's image positions. */
    private void gatherCompactResults(float[] r, int rows, float[] from, int channel0, Plane plane, int tile) {
        int q0 = tile * nr, len = tileLength[tile], ld = plane.rowLength(), lead = plane.lead();
        for (int i = 0; i < rows; i++) {
            int row = (channel0 + i) * ld + lead;
            for (int j = 0; j < len; j++) r[i * nr + j] = from[row + compact[q0 + j]];
        }
    }

    /** Rows [0, rows) of a tile's results into channels from {@code channel0} of {@code to}, at the tile's image positions. */
    private void scatterCompact(float[] r, int rows, float[] to, int channel0, Plane plane, int tile, boolean accumulate) {
        int q0 = tile * nr, len = tileLength[tile], ld = plane.rowLength(), lead = plane.lead();
        for (int i = 0; i < rows; i++) {
            int row = (channel0 + i) * ld + lead;
            if (accumulate) {
                for (int j = 0; j < len; j++) to[row + compact[q0 + j]] += r[i * nr + j];
            } else {
                for (int j = 0; j < len; j++) to[row + compact[q0 + j]] = r[i * nr + j];
            }
        }
    }

    private void zeroOutputGaps(int c, int worker) {
        zeroGaps(y, c, dst, outputGaps);
    }

    private void zeroInputGaps(int c, int worker) {
        zeroGaps(dx, c, src, inputGaps);
    }

    /** Zeroes channel c's border positions among the images (the compact passes write only the images'). */
    static void zeroGaps(float[] a, int c, Plane plane, int[] gaps) {
        int row = c * plane.rowLength() + plane.lead();
        for (int g : gaps) a[row + g] = 0f;
    }

    private int taskCount(Plane p) {
        int positionTiles = p.span() / nr;
        return (positionTiles + tilesPerTask - 1) / tilesPerTask;
    }

    private void forwardTiles(int task, int worker) {
        int start = task * tilesPerTask * nr, end = Math.min(dst.span(), (task + 1) * tilesPerTask * nr);
        float[] b = direct ? window[worker] : panel != null ? panel[worker] : col;
        int[] rowOffset = direct ? windowTapOffset : panel != null ? panelRowOffset : tapOffset;
        if (direct) copyWindow(x, src, inChannels, start, end, halo, windowRow, b);
        if (panel != null) gatherPanel(start, end, b);
        if (direct && forwardParts != null || panel != null && panelParts != null) { // the reduction in parts whose B rows stay in L1
            directProducts(packedW, outRows, taps, b, direct ? forwardParts : panelParts, start, start, end, y, dst, false, worker);
            return;
        }
        forwardProducts(b, rowOffset, direct || panel != null ? start : 0, start, end, worker); // B from a per-task copy, or the span's im2col
    }

    /**
     * Taps per part of a direct product's reduction ({@link #forwardParts}): 32 channels of a 3x3.
     * A 64-channel 3x3 tile reads 576 B rows (64 channels by 3 rows of 2-3 lines: 36 KB) and its A
     * panel (18 KB) for each row tile: more than the 48 KB L1, so every row tile read B again from
     * L2. In parts of 288 taps, B's rows for one part (18 KB) stay in L1 across the row tiles.
     */
    static final int PART_TAPS = Integer.getInteger("part.taps", 288);

    /**
     * The direct products' parts: where each starts in the reduction, then its end (null: one
     * part), and for the in-place passes per part the window offsets of its B rows (the forward by
     * phases too, in its phase window: 64 -> 128 s2 @28 0.940, 128 -> 256 0.952 of its time in one
     * part, ConvAB). The compact passes split their taps at the same places, so that they keep the
     * in-place bits.
     */
    private final int[] forwardBounds, dataGradBounds;
    private final int[][] forwardParts, dataGradParts, phaseParts, panelParts;
    /** The strided forwards' parts (the panel's, the phases' and the compact tiles'): bounds as {@link #forwardBounds}, and how many. */
    private final int[] stridedBounds;
    private final int stridedParts;

    /** Equal parts of at most {@link #PART_TAPS} of a reduction over {@code taps}: their bounds, or null for one part. */
    static int[] partBounds(int taps) {
        if (taps <= PART_TAPS) return null;
        int n = (taps + PART_TAPS - 1) / PART_TAPS;
        int[] bounds = new int[n + 1];
        for (int i = 0; i <= n; i++) bounds[i] = (int) ((long) taps * i / n);
        return bounds;
    }

    /** rowOffset in the parts of {@code bounds}. */
    private static int[][] split(int[] rowOffset, int[] bounds) {
        int[][] p = new int[bounds.length - 1][];
        for (int i = 0; i < p.length; i++) p[i] = java.util.Arrays.copyOfRange(rowOffset, bounds[i], bounds[i + 1]);
        return p;
    }

    /**
     * to's positions [start, end) of every row of the row tiles {@code tiles} (A packed per row tile
     * over {@code kLen} taps): per position tile, each part of the reduction over every row tile,
     * the first set (or added, {@code accumulate}), the others added, the last masked to the layout.
     * The sums run over the parts in order: the same for any thread count.
     */
    private void directProducts(float[] a, RowTiles tiles, int kLen, float[] b, int[][] parts, int bStart, int start, int end, float[] to,
                                Plane plane, boolean accumulate, int worker) {
        int ld = plane.rowLength();
        for (int q = start; q < end; q += nr) {
            for (int p = 0, k0 = 0; p < parts.length; k0 += parts[p].length, p++) {
                boolean last = p == parts.length - 1;
                for (int mt = 0; mt < tiles.count(); mt++) {
                    int stride = tiles.stride(mt);
                    kernels.tile(a, tiles.offset(mt, kLen) + k0 * stride, stride, parts[p].length, b, parts[p], q - bStart, to,
                            tiles.first(mt) * ld + plane.lead() + q, ld, tiles.rows(mt), p > 0 || accumulate, last ? plane.mask() : null, q,
                            tileScratch[worker]);
                }
            }
        }
    }

    /** y's positions [start, end) of every output channel: the tiles over every tap, B's row k at rowOffset[k] + q - bStart. */
    private void forwardProducts(float[] b, int[] rowOffset, int bStart, int start, int end, int worker) {
        int ld = dst.rowLength();
        for (int q = start; q < end; q += nr) {
            for (int mt = 0; mt < outRows.count(); mt++) {
                kernels.tile(packedW, outRows.offset(mt, taps), outRows.stride(mt), taps, b, rowOffset, q - bStart,
                        y, outRows.first(mt) * ld + dst.lead() + q, ld, outRows.rows(mt), false, dst.mask(), q, tileScratch[worker]);
            }
        }
    }

    /**
     * The phase forward's positions [task * tilesPerTask * nr, ...): their window of every phase
     * plane, gathered from x (phase (a, b) at output position q: x at the source position q reads
     * at its centre tap, a rows and b columns on, which is in the image or on the input's zero
     * border; zero at the output's border and beyond its span), then the tiles in place.
     */
    private void phaseForwardTiles(int task, int worker) {
        int start = task * tilesPerTask * nr, end = Math.min(dst.span(), (task + 1) * tilesPerTask * nr);
        int first = start - phaseHalo, len = end - start + 2 * phaseHalo, span = dst.span();
        int inside0 = Math.max(0, -first), inside1 = Math.min(len, span - first);
        float[] w = phaseWindow[worker];
        for (int c = 0; c < inChannels; c++) {
            int from = c * src.rowLength() + src.lead();
            for (int phase = 0; phase < PHASES; phase++) {
                int row = (c * PHASES + phase) * phaseWindowRow;
                java.util.Arrays.fill(w, row, row + inside0, 0f);
                kernels.gather(x, from, phaseSource[phase], first + inside0, inside1 - inside0, w, row + inside0);
                java.util.Arrays.fill(w, row + inside1, row + len, 0f);
            }
        }
        if (phaseParts != null) directProducts(packedW, outRows, taps, w, phaseParts, start, start, end, y, dst, false, worker);
        else forwardProducts(w, phaseTapOffset, start, start, end, worker);
    }

    /** Positions [start - halo, end + halo) of each of the first {@code channels} channel rows of {@code from} into a task's window, windowRow floats a row. */
    private static void copyWindow(float[] from, Plane plane, int channels, int start, int end, int halo, int windowRow, float[] w) {
        int ld = plane.rowLength(), at = plane.lead() + start - halo, len = end - start + 2 * halo;
        for (int c = 0; c < channels; c++) System.arraycopy(from, c * ld + at, w, c * windowRow, len);
    }

    /**
     * The im2col rows of positions [start, end) (each tap's reads at its offset from the source position
     * {@link #srcPos} gives) into a task's panel (branch-free, as {@link #im2colRow}).
     */
    private void gatherPanel(int start, int end, float[] p) {
        kernels.gatherRows(x, panelSource, taps, srcPos, start, end - start, p, 0, panelRow);
    }

    /** Row t = (c, u, v) of the im2col buffer: input pixel (c, i*s+u-p, j*s+v-p) at every output position. */
    private void im2colRow(int t, int worker) {
        int c = t / (kernel * kernel), u = t / kernel % kernel, v = t % kernel;
        int base = t * dst.span();
        if (srcPos != null) { // branch-free: every tap is in the image or the zero border; padding columns are masked later
            int from = tapSource(t);
            for (int q = 0; q < dst.span(); q++) col[base + q] = x[from + srcPos[q]];
            return;
        }
        java.util.Arrays.fill(col, base, base + dst.span(), 0f);
        int oh = dst.h(), ow = dst.w();
        for (int b = 0; b < dst.n(); b++) {
            for (int i = 0; i < oh; i++) {
                int h = i * stride + u - padding;
                if (h < 0 || h >= src.h()) continue;
                int out = base + b * dst.imageStride() + i * dst.rowStride(), in = src.at(c, b, h, 0);
                for (int j = 0; j < ow; j++) {
                    int w = j * stride + v - padding;
                    if (w >= 0 && w < src.w()) col[out + j] = x[in + w];
                }
            }
        }
    }

    @Override
    public void backwardWeight(Activation dy, Activation x) {
        backwardWeight(CpuDevice.data(dy), CpuDevice.data(x));
    }

    @Override
    public void backwardInput(Activation dy, Activation dx, boolean accumulate) {
        backwardInput(CpuDevice.data(dy), accumulate ? CpuDevice.data(dx) : CpuDevice.overwritten(dx, dy), accumulate);
    }

    /** dy [out, plane dst] -> adds dL/dW into the gradient; x is the forward's input. */
    void backwardWeight(float[] dy, float[] x) {
        if (grad == null) throw new IllegalStateException("this convolution was built without gradients");
        this.dy = dy;
        this.x = x;
        col = device.col();
        // weight gradient: dW[o, t] = sum_q dY[o, q] * B[t, q]
        if (weightGrad != null) {
            weightGrad.accumulate(dy, dst.rowLength(), dst.lead(), x, src.rowLength(), src.lead(), grad, weightOffset);
        } else {
            if (!direct) pool.forEach(taps, im2colTask);
            for (float[] p : partialGrad) java.util.Arrays.fill(p, 0f);
            pool.forEach(partialGrad.length, weightGradTask); // a fixed split: the sums don't depend on scheduling
            for (float[] p : partialGrad) {
                for (int i = 0; i < p.length; i++) grad[weightOffset + i] += p[i];
            }
        }
    }

    /** dy [out, plane dst] -> sets (or with {@code accumulateDx} adds into) dx [in, plane src]. */
    void backwardInput(float[] dy, float[] dx, boolean accumulateDx) {
        if (grad == null) throw new IllegalStateException("this convolution was built without gradients");
        this.dy = dy;
        this.dx = dx;
        this.accumulateDx = accumulateDx;
        if (winogradDataGrad != null) {
            winogradDataGrad.run(weight, weightOffset, true, dy, dx, accumulateDx);
            return;
        }
        col = device.col();
        packTransposed();
        if (compactResidues) { // every input position written once in order, the border's zeros too
            pool.forEach(residueGroupTile.length - 1, compactResidueTask);
            return;
        }
        if (residues != null) {
            // every input image position is stored once (border positions never): with all of them
            // reached, only the border needs its zeros; else the span is cleared and the residues add
            if (!accumulateDx) pool.forEach(inChannels, residuesCover ? inputGapsTask : clearInputTask);
            pool.forEach(taskCount(dst), residueDataGradTask);
            return;
        }
        if (compactDataGrad) {
            if (!accumulateDx) pool.forEach(inChannels, inputGapsTask);
            pool.forEach(compact.length / nr, compactDataGradTask);
            return;
        }
        pool.forEach(taskCount(direct ? src : dst), dataGradTask);
        if (!direct) pool.forEach(inChannels, col2imTask);
    }

    /**
     * The residues' data gradient at dY's positions [task * tilesPerTask * nr, ...): per position tile,
     * residue and tile of input channels, the micro-kernel's [mr][nr] results, each stored (or added)
     * once at its input position. Residues and positions map to distinct input positions, so tasks
     * never write the same element, and each element's sum runs over (o, tap) in one fixed order.
     */
    private void residueDataGradTiles(int task, int worker) {
        int start = task * tilesPerTask * nr, end = Math.min(dst.span(), (task + 1) * tilesPerTask * nr);
        float[] r = residueResult[worker], w = residueWindow[worker];
        copyWindow(dy, dst, outChannels, start, end, residueHalo, residueWindowRow, w);
        for (int q = start; q < end; q += nr) {
            for (Residue res : residues) {
                if (res.parts() == 1) { // each row tile's product, then its results stored
                    for (int ct = 0; ct < inRows.count(); ct++) {
                        residueProduct(res, 0, ct, w, q - start, r, 0, worker);
                        storeResidueTile(res, ct, q, r, 0);
                    }
                    continue;
                }
                // per part of the reduction, every row tile (each its own results tile in r), so that
                // the part's B rows stay in L1 across them; then the tiles stored
                for (int part = 0; part < res.parts(); part++) {
                    for (int ct = 0; ct < inRows.count(); ct++) residueProduct(res, part, ct, w, q - start, r, ct * mr * nr, worker);
                }
                for (int ct = 0; ct < inRows.count(); ct++) storeResidueTile(res, ct, q, r, ct * mr * nr);
            }
        }
    }

    /** Part {@code part} of residue res's product for row tile ct into r[at ..] [rows][nr]: set by the first part, added by the others. */
    private void residueProduct(Residue res, int part, int ct, float[] w, int col, float[] r, int at, int worker) {
        int kLen = outChannels * res.uv().length, rows = inRows.rows(ct), stride = inRows.stride(ct);
        int aOff = res.packBase() + inRows.offset(ct, kLen) + res.partStart(part) * stride;
        int[] rowsOfPart = res.windowRowParts()[part];
        if (rows == mr && part == 0) { // a full tile's first part straight into r: tile's bits, no copy through the scratch tile
            kernels.tileInto(packedWt, aOff, stride, rowsOfPart.length, w, rowsOfPart, col, r, at, false);
        } else {
            kernels.tile(packedWt, aOff, stride, rowsOfPart.length, w, rowsOfPart, col, r, at, nr, rows, part > 0, null, 0, tileScratch[worker]);
        }
    }

    /** Row tile ct's results r[at ..] of residue res at position tile q stored (or added) at their input positions in dx. */
    private void storeResidueTile(Residue res, int ct, int q, float[] r, int at) {
        int ld = src.rowLength(), lead = src.lead();
        boolean set = !accumulateDx && residuesCover;
        int[] target = res.target();
        for (int i = 0; i < inRows.rows(ct); i++) {
            int row = (inRows.first(ct) + i) * ld + lead, from = at + i * nr;
            if (set) {
                for (int j = 0; j < nr; j++) {
                    int to = target[q + j];
                    if (to >= 0) dx[row + to] = r[from + j];
                }
            } else {
                for (int j = 0; j < nr; j++) {
                    int to = target[q + j];
                    if (to >= 0) dx[row + to] += r[from + j];
                }
            }
        }
    }

    /** A staging row's length for tiles grouped as {@code groupTile} says: the most tiles of a group, nr positions each, then one zero. */
    private int stagedRow(int[] groupTile) {
        int most = 0;
        for (int g = 0; g + 1 < groupTile.length; g++) most = Math.max(most, groupTile[g + 1] - groupTile[g]);
        return most * nr + 1;
    }

    /**
     * Per position of a span, its slot in its group's staging row: tile position i (of the tiles
     * grouped as {@code groupTile}) holds position {@code positionAt(i)}; the positions no tile holds
     * get the row's last slot, the zero.
     */
    private int[] stagedSlots(int span, int[] groupTile, int stagedRow, java.util.function.IntUnaryOperator positionAt) {
        int[] slots = new int[span];
        java.util.Arrays.fill(slots, stagedRow - 1);
        for (int g = 0; g + 1 < groupTile.length; g++) {
            for (int i = groupTile[g] * nr; i < groupTile[g + 1] * nr; i++) {
                int q = positionAt.applyAsInt(i);
                if (slots[q] == stagedRow - 1) slots[q] = i - groupTile[g] * nr; // a padded tile repeats its last position
            }
        }
        return slots;
    }

    /**
     * The share of the in-place residue products that land nowhere: dY's border positions and, at an
     * odd source size, the odd residues' last output column or row.
     */
    private double compactResidueWaste() {
        long computed = 0, used = 0;
        for (Residue r : residues) {
            computed += (long) r.uv().length * dst.n() * dst.imageStride();
            for (int t : r.target()) if (t >= 0) used += r.uv().length;
        }
        return 1 - (double) used / computed;
    }

    /**
     * The residues' data gradient of group g's images: per tile, its dY rows gathered and the
     * products into the staging rows; last each input channel's row over the group's images, border
     * positions zero.
     */
    private void compactResidueTiles(int g, int worker) {
        float[] p = residuePanel[worker], stage = residueStaged[worker];
        for (int tile = residueGroupTile[g]; tile < residueGroupTile[g + 1]; tile++) {
            Residue res = residues[residueTile[tile]];
            int[] from = residueFrom[residueTile[tile]];
            int kLen = from.length, slot = (tile - residueGroupTile[g]) * nr;
            kernels.gatherRows(dy, from, kLen, residuePositions, tile * nr, nr, p, 0, nr);
            for (int part = 0; part < res.parts(); part++) { // in the in-place parts: the same bits
                int k0 = res.partStart(part), len = res.windowRowParts()[part].length;
                for (int ct = 0; ct < inRows.count(); ct++) {
                    kernels.tile(packedWt, res.packBase() + inRows.offset(ct, kLen) + k0 * inRows.stride(ct), inRows.stride(ct), len, p, residuePanelRows,
                            k0 * nr, stage, inRows.first(ct) * residueStagedRow + slot, residueStagedRow, inRows.rows(ct), part > 0, null, 0,
                            tileScratch[worker]);
                }
            }
        }
        int first = g * groupImages * src.imageStride(), len = Math.min(src.n() - g * groupImages, groupImages) * src.imageStride();
        for (int c = 0; c < inChannels; c++) {
            int to = c * src.rowLength() + src.lead() + first, row = c * residueStagedRow;
            if (accumulateDx) {
                float[] sum = residueSum[worker];
                kernels.gather(stage, row, residueSlot, first, len, sum, 0);
                for (int i = 0; i < len; i++) dx[to + i] += sum[i];
            } else {
                kernels.gather(stage, row, residueSlot, first, len, dx, to);
            }
        }
    }

    /** Zeroes channel c's positions of dx (lead and tail are zero already). */
    private void clearInputSpan(int c, int worker) {
        int row = c * src.rowLength() + src.lead();
        java.util.Arrays.fill(dx, row, row + src.span(), 0f);
    }

    /** Group g's contiguous range of chunks, into partialGrad[g]. */
    private void weightGradGroup(int g, int worker) {
        int chunks = (dst.span() + CHUNK - 1) / CHUNK, groups = partialGrad.length;
        for (int ch = chunks * g / groups; ch < chunks * (g + 1) / groups; ch++) weightGradChunk(ch, partialGrad[g], worker);
    }

    private void weightGradChunk(int chunk, float[] part, int worker) {
        int q0 = chunk * CHUNK, len = Math.min(CHUNK, dst.span() - q0);
        float[] b = direct ? x : col;
        float[] sums = block[worker];
        int dyBase = dst.lead() + q0, ld = dst.rowLength();
        for (int o = 0; o < outChannels; o += 4) {
            int o1 = Math.min(o + 1, outChannels - 1), o2 = Math.min(o + 2, outChannels - 1), o3 = Math.min(o + 3, outChannels - 1);
            for (int t = 0; t < taps; t += 4) {
                int t1 = Math.min(t + 1, taps - 1), t2 = Math.min(t + 2, taps - 1), t3 = Math.min(t + 3, taps - 1);
                java.util.Arrays.fill(sums, 0f);
                kernels.dot4x4(dy, o * ld + dyBase, o1 * ld + dyBase, o2 * ld + dyBase, o3 * ld + dyBase,
                        b, tapOffset[t] + q0, tapOffset[t1] + q0, tapOffset[t2] + q0, tapOffset[t3] + q0, len, sums, 0, tileScratch[worker]);
                for (int r = 0; r < 4 && o + r < outChannels; r++) {
                    for (int s = 0; s < 4 && t + s < taps; s++) part[(o + r) * taps + t + s] += sums[r * 4 + s];
                }
            }
        }
    }

    /**
     * The forward's A for output tile {@code tile}: A[tile][t][r] = W[first + r][t]. Weights change
     * every step, so every forward packs them, one task per tile (disjoint writes).
     */
    private void packTile(int tile, int worker) {
        float[] w = weight;
        int base = outRows.offset(tile, taps), stride = outRows.stride(tile), first = outRows.first(tile);
        for (int r = 0; r < outRows.rows(tile); r++) {
            for (int t = 0; t < taps; t++) packedW[base + t * stride + r] = w[weightOffset + (first + r) * taps + t];
        }
    }

    /** The data gradient's A: W transposed, per tap for the direct path; one task per tile of A's rows. */
    private void packTransposed() {
        packedWt = device.packedWeights();
        int tasks = direct ? inRows.count() : residues != null ? residues.length * inRows.count() : tapRows.count();
        pool.forEach(tasks, packTransposedTask);
    }

    private void packTransposedTile(int tile, int worker) {
        float[] w = weight;
        int kk = kernel * kernel;
        if (residues != null) { // per residue, A[c-tile][(o, its tap t)][r] = W[o, c, uv[t]]
            Residue res = residues[tile / inRows.count()];
            int ct = tile % inRows.count(), count = res.uv().length, kLen = outChannels * count;
            int base = res.packBase() + inRows.offset(ct, kLen), stride = inRows.stride(ct), first = inRows.first(ct);
            for (int r = 0; r < inRows.rows(ct); r++) {
                for (int o = 0; o < outChannels; o++) {
                    for (int t = 0; t < count; t++) {
                        packedWt[base + (o * count + t) * stride + r] = w[weightOffset + (o * inChannels + first + r) * kk + res.uv()[t]];
                    }
                }
            }
        } else if (direct) { // A[c-tile][(o,u,v)][r] = W[o, c, u, v]
            int kLen = outChannels * kk;
            int base = inRows.offset(tile, kLen), stride = inRows.stride(tile), first = inRows.first(tile);
            for (int r = 0; r < inRows.rows(tile); r++) {
                for (int o = 0; o < outChannels; o++) {
                    for (int uv = 0; uv < kk; uv++) {
                        packedWt[base + (o * kk + uv) * stride + r] = w[weightOffset + (o * inChannels + first + r) * kk + uv];
                    }
                }
            }
        } else { // A[t-tile][o][r] = W[o, t]
            int base = tapRows.offset(tile, outChannels), stride = tapRows.stride(tile), first = tapRows.first(tile);
            for (int r = 0; r < tapRows.rows(tile); r++) {
                for (int o = 0; o < outChannels; o++) packedWt[base + o * stride + r] = w[weightOffset + o * taps + first + r];
            }
        }
    }

    private void dataGradTiles(int task, int worker) {
        if (direct) {
            int kLen = outChannels * kernel * kernel, ld = src.rowLength();
            int start = task * tilesPerTask * nr, end = Math.min(src.span(), start + tilesPerTask * nr);
            float[] w = window[worker];
            copyWindow(dy, dst, outChannels, start, end, halo, windowRow, w);
            if (dataGradParts != null) {
                directProducts(packedWt, inRows, kLen, w, dataGradParts, start, start, end, dx, src, accumulateDx, worker);
                return;
            }
            for (int q = start; q < end; q += nr) {
                for (int ct = 0; ct < inRows.count(); ct++) {
                    kernels.tile(packedWt, inRows.offset(ct, kLen), inRows.stride(ct), kLen, w, windowDyOffset, q - start,
                            dx, inRows.first(ct) * ld + src.lead() + q, ld, inRows.rows(ct), accumulateDx, src.mask(), q, tileScratch[worker]);
                }
            }
        } else { // dcol[t, q] = sum_o W[o, t] dY[o, q]; dY's padding is zero, so dcol's is too
                int end = Math.min(dst.span(), (task + 1) * tilesPerTask * nr);
            for (int q = task * tilesPerTask * nr; q < end; q += nr) {
                for (int tt = 0; tt < tapRows.count(); tt++) {
                    kernels.tile(packedWt, tapRows.offset(tt, outChannels), tapRows.stride(tt), outChannels, dy, dyOffset, q,
                            col, tapRows.first(tt) * dst.span() + q, dst.span(), tapRows.rows(tt), false, null, 0, tileScratch[worker]);
                }
            }
        }
    }

    /** dx[c] (+)= the im2col buffer's rows (c, u, v) added back where forward took them from (taps reaching past the zero border: the 7x7 stem). */
    private void col2imChannel(int c, int worker) {
        if (!accumulateDx) {
            java.util.Arrays.fill(dx, c * src.rowLength(), (c + 1) * src.rowLength(), 0f);
        }
        for (int u = 0; u < kernel; u++) {
            for (int v = 0; v < kernel; v++) {
                int base = ((c * kernel + u) * kernel + v) * dst.span();
                for (int b = 0; b < dst.n(); b++) {
                    for (int i = 0; i < dst.h(); i++) {
                        int h = i * stride + u - padding;
                        if (h < 0 || h >= src.h()) continue;
                        int from = base + b * dst.imageStride() + i * dst.rowStride(), to = src.at(c, b, h, 0);
                        for (int j = 0; j < dst.w(); j++) {
                            int w = j * stride + v - padding;
                            if (w >= 0 && w < src.w()) dx[to + w] += col[from + j];
                        }
                    }
                }
            }
        }
    }
}
