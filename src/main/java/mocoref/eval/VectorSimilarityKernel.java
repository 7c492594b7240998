package mocoref.eval;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link SimilarityKernel} on the Vector API, preferred species (8 floats on AVX2, 16 on AVX-512):
 * a 4 x 2L tile, accumulators in locals so that C2 keeps them in registers. Loaded by name from
 * {@link SimilarityKernel#pick()}.
 */
final class VectorSimilarityKernel implements SimilarityKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    @Override
    public int nr() {
        return 2 * L;
    }

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize() + " " + MR + "x" + (2 * L);
    }

    @Override
    public void tile(float[] q, int qOff, float[] bank, int pOff, int dim, float[] out) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        int nr = 2 * L;
        // the ranges this tile touches, checked here (see mocoref.cpu.VectorKernels on bounds)
        java.util.Objects.checkFromIndexSize(pOff, dim * nr, bank.length);
        java.util.Objects.checkFromIndexSize(0, 4 * nr, out.length);
        for (int c = 0, qi = qOff, bi = pOff; c < dim; c++, qi += MR, bi += nr) {
            FloatVector b0 = FloatVector.fromArray(S, bank, bi);
            FloatVector b1 = FloatVector.fromArray(S, bank, bi + L);
            FloatVector a = FloatVector.broadcast(S, q[qi]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, q[qi + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, q[qi + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, q[qi + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
        }
        c00.intoArray(out, 0);
        c01.intoArray(out, L);
        c10.intoArray(out, nr);
        c11.intoArray(out, nr + L);
        c20.intoArray(out, 2 * nr);
        c21.intoArray(out, 2 * nr + L);
        c30.intoArray(out, 3 * nr);
        c31.intoArray(out, 3 * nr + L);
    }
}
