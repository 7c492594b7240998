package mocoref.data;

/**
 * PIL's {@code convert("L")} on 8-bit RGB: ITU-R 601-2 luma {@code 0.299 R + 0.587 G + 0.114 B}
 * in 16-bit fixed point, rounded to the nearest byte. The dataset loader converts with it, so a
 * colour dataset loaded as 1 channel has exactly the pixels torchvision's PIL pipeline would give.
 */
public final class PilGrayscale {
    private PilGrayscale() {}

    /** Luma of one pixel; the three weights sum to 65536, so white stays 255. */
    public static int luma(int r, int g, int b) {
        return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }

    /** The luma plane of an 8-bit {@code [3, n]} planar RGB image starting at {@code off}. */
    static byte[] luma(byte[] rgb, int off, int n) {
        byte[] l = new byte[n];
        for (int i = 0; i < n; i++) {
            l[i] = (byte) luma(rgb[off + i] & 0xFF, rgb[off + n + i] & 0xFF, rgb[off + 2 * n + i] & 0xFF);
        }
        return l;
    }
}
