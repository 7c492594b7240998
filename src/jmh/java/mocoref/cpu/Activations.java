package mocoref.cpu;

import java.util.Random;
import mocoref.device.Activation;
import mocoref.device.Device;

/** Random activations [n, channels, h, w] on a device. */
final class Activations {
    private Activations() {}

    static Activation random(Device d, int n, int channels, int h, int w, Random rng) {
        float[] v = new float[n * channels * h * w];
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
        Activation a = d.activation(n, channels, h, w);
        d.writeImages(v, 0, a);
        return a;
    }
}
