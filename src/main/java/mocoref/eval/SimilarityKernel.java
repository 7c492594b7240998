package mocoref.eval;

/**
 * The kNN monitor's hot loop: dot products of {@link #MR} queries with {@code nr()} bank vectors,
 * both packed so that the loop over the dimension reads consecutive floats. A scalar and a Vector
 * API version sit side by side ({@link ScalarSimilarityKernel}, {@link VectorSimilarityKernel}); both
 * fuse every multiply-add (Math.fma / FloatVector.fma) in the same order, so they agree bit for bit.
 */
interface SimilarityKernel {
    /** Queries per tile. Four rows of two vectors each is 8 accumulators: fits AVX2's 16 registers. */
    int MR = 4;

    /** Bank vectors per panel. */
    int nr();

    String name();

    /**
     * {@code out[r*nr + j] = sum_c q[qOff + c*MR + r] * bank[pOff + c*nr + j]} for r < MR, j < nr,
     * accumulated in c order with fused multiply-adds.
     *
     * <p>It does not also test the tile against the queries' thresholds: on this project's AVX
     * (no AVX2) machines C2 does not intrinsify the lane reductions and mask tests such a test needs,
     * and the fallback made the whole monitor 3.5x slower (measured, JDK 17); at k 200 the test
     * rejected under half of the tiles anyway.
     */
    void tile(float[] q, int qOff, float[] bank, int pOff, int dim, float[] out);

    /** The Vector API kernel when {@code jdk.incubator.vector} is present, else the scalar one. */
    static SimilarityKernel pick() {
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        if (vectorModule && !Boolean.getBoolean("mocoref.cpu.scalar")) {
            try {
                // By name, so that the JVM never links the incubator classes when the module is absent.
                return (SimilarityKernel) Class.forName("mocoref.eval.VectorSimilarityKernel").getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                // fall through to the scalar kernel
            }
        }
        return new ScalarSimilarityKernel(16);
    }
}
