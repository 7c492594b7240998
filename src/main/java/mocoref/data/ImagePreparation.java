package mocoref.data;

import mocoref.data.augment.AntialiasedResize;
import mocoref.data.augment.Image;

/**
 * Brings one decoded 8-bit image to the dataset's layout: the requested channel count (RGB to grey
 * with {@link PilGrayscale}, grey to RGB by replication, both on bytes as PIL does), float32 in
 * [0,1] (x / 255, as ToTensor), then the requested size the way torchvision's
 * {@code Resize(size)} + {@code CenterCrop(size)} does: the shorter side scaled to {@code size}
 * (antialiased bilinear, keeping the aspect ratio) and the centre {@code size x size} cut out. A
 * square image is simply resized. Size 0 keeps the image's own size.
 */
record ImagePreparation(int channels, int size) {

    ImagePreparation {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        if (size < 0) throw new IllegalArgumentException("size must be >= 0, got " + size);
    }

    int outHeight(int height) {
        return size == 0 ? height : size;
    }

    int outWidth(int width) {
        return size == 0 ? width : size;
    }

    /**
     * Prepares the planar 8-bit image {@code pixels[off .. off + c*h*w)} ({@code c} 1 or 3) into
     * {@code dst} at {@code dstOff}, which has room for {@code channels * outHeight(h) * outWidth(w)} values.
     */
    void prepare(byte[] pixels, int off, int c, int h, int w, float[] dst, int dstOff) {
        int n = h * w;
        byte[] planes;
        int planesOff;
        if (c == channels) {
            planes = pixels;
            planesOff = off;
        } else if (c == 3) {
            planes = PilGrayscale.luma(pixels, off, n);
            planesOff = 0;
        } else {
            planes = new byte[3 * n];
            for (int ch = 0; ch < 3; ch++) System.arraycopy(pixels, off, planes, ch * n, n);
            planesOff = 0;
        }
        int outH = outHeight(h);
        int outW = outWidth(w);
        if (outH == h && outW == w) {
            for (int i = 0; i < channels * n; i++) dst[dstOff + i] = (planes[planesOff + i] & 0xFF) / 255f;
            return;
        }
        float[] f = new float[channels * n];
        for (int i = 0; i < f.length; i++) f[i] = (planes[planesOff + i] & 0xFF) / 255f;
        Image resized = resizeShorterSideAndCenterCrop(new Image(channels, h, w, f), size);
        System.arraycopy(resized.data(), 0, dst, dstOff, resized.data().length);
    }

    /** torchvision's {@code Resize(size)} then {@code CenterCrop(size)}, with the size arithmetic as torchvision writes it. */
    static Image resizeShorterSideAndCenterCrop(Image image, int size) {
        int h = image.height();
        int w = image.width();
        int shortSide = Math.min(h, w);
        int longSide = Math.max(h, w);
        // int(size * long / short): Python's true division, then truncation.
        int newLong = (int) ((double) size * longSide / shortSide);
        int newH = w <= h ? newLong : size;
        int newW = w <= h ? size : newLong;
        Image resized = AntialiasedResize.resize(image, newH, newW);
        if (newH == size && newW == size) return resized;
        int top = (int) Math.rint((newH - size) / 2.0);
        int left = (int) Math.rint((newW - size) / 2.0);
        int c = image.channels();
        float[] out = new float[c * size * size];
        float[] src = resized.data();
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < size; y++) {
                System.arraycopy(src, (ch * newH + top + y) * newW + left, out, (ch * size + y) * size, size);
            }
        }
        return new Image(c, size, size, out);
    }
}
