package mocoref.float32;

import mocoref.backend.Diverged;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;

/**
 * {@code --detect-anomaly}: after every layer of a float32 network, its output (forward) or the
 * gradient it produced (backward) is read back and scanned for NaN and infinity; the first one
 * stops the step with a {@link Diverged} naming the step, the layer (torchvision's name) and the
 * value. Slow (every activation crosses to the host): for finding where a run goes wrong.
 */
final class Anomalies {
    private final Device device;
    long step;

    Anomalies(Device device) {
        this.device = device;
    }

    void activation(String what, Activation a) {
        scan(what, device.readActivation(a));
    }

    void buffer(String what, Buffer b, long n) {
        buffer(what, b, 0, n);
    }

    void buffer(String what, Buffer b, long offset, long n) {
        float[] v = new float[Math.toIntExact(n)];
        device.read(b, offset, v, 0, v.length);
        scan(what, v);
    }

    private void scan(String what, float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new Diverged("step " + step + " of this run: " + what + " holds " + v[i] + " (element " + i + " of " + v.length
                        + "), the first non-finite value of the step (--detect-anomaly)");
            }
        }
    }
}
