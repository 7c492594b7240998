package mocoref.data.augment;

/**
 * One image: float32 {@code data[channels, height, width]}, row-major, values in [0,1] until
 * {@link Normalize}. Treated as immutable once made; records compare arrays by identity, so
 * compare {@code data()} with {@code Arrays.equals} when contents matter.
 */
public record Image(int channels, int height, int width, float[] data) {

    public Image {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("image dimensions must be positive: " + channels + "x" + height + "x" + width);
        }
        if (data.length != (long) channels * height * width) {
            throw new IllegalArgumentException("a " + channels + "x" + height + "x" + width + " image holds "
                    + (long) channels * height * width + " values, data has " + data.length);
        }
    }

    /** A new image copied from {@code src[offset .. offset + c*h*w)}. */
    public static Image copyOf(float[] src, int offset, int channels, int height, int width) {
        float[] data = new float[channels * height * width];
        System.arraycopy(src, offset, data, 0, data.length);
        return new Image(channels, height, width, data);
    }

    /** A new, zeroed image. */
    public static Image zeros(int channels, int height, int width) {
        return new Image(channels, height, width, new float[channels * height * width]);
    }

    /** Values per channel, {@code height * width}. */
    public int plane() {
        return height * width;
    }

    /** "CxHxW", for messages. */
    public String dims() {
        return channels + "x" + height + "x" + width;
    }
}
