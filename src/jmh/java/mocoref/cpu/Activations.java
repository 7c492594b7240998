package mocoref.cpu;

import java.util.Random;

/** Random activations in the {@link Plane} layout, zero in the padding as every layer expects. */
final class Activations {
    private Activations() {}

    static float[] random(Plane p, int channels, Random rng) {
        float[] a = new float[p.size(channels)];
        for (int c = 0; c < channels; c++) {
            for (int q = 0; q < p.span(); q++) a[c * p.rowLength() + p.lead() + q] = p.mask()[q] * (float) rng.nextGaussian();
        }
        return a;
    }
}
