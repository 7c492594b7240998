package mocoref.device;

/**
 * A batch of feature maps [n, channels, h, w] a {@link Device} owns, in the device's own layout
 * (the cpu device pads and interleaves, an OpenCL device may not): only that device reads or
 * writes it; {@link Device#readActivation} gives its values in row-major order.
 */
public interface Activation {
    int n();

    int channels();

    int h();

    int w();
}
