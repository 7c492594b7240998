package mocoref.eval;

/** The plain-Java twin of {@link VectorSimilarityKernel}: the same arithmetic, one element at a time. */
final class ScalarSimilarityKernel implements SimilarityKernel {
    private final int nr;

    ScalarSimilarityKernel(int nr) {
        if (nr < 1) throw new IllegalArgumentException("nr must be positive, got " + nr);
        this.nr = nr;
    }

    @Override
    public int nr() {
        return nr;
    }

    @Override
    public String name() {
        return "scalar " + MR + "x" + nr;
    }

    @Override
    public void tile(float[] q, int qOff, float[] bank, int pOff, int dim, float[] out) {
        java.util.Arrays.fill(out, 0, MR * nr, 0f);
        for (int c = 0; c < dim; c++) {
            int b = pOff + c * nr;
            for (int r = 0; r < MR; r++) {
                float a = q[qOff + c * MR + r];
                int o = r * nr;
                for (int j = 0; j < nr; j++) out[o + j] = Math.fma(a, bank[b + j], out[o + j]);
            }
        }
    }
}
