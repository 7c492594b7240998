package mocoref.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import mocoref.MocoRefException;

/** Decodes a PNG/JPEG/BMP/... file with javax.imageio into planar 8-bit pixels. */
final class ImageDecoding {

    /** Planar 8-bit pixels {@code [channels, height, width]}, channels 1 (grey) or 3 (RGB). */
    record Pixels(int channels, int height, int width, byte[] data) {}

    private ImageDecoding() {}

    /**
     * Grey images (8- or 16-bit, with or without alpha) stay 1 channel; everything else becomes RGB.
     * Alpha is dropped, as PIL's {@code convert("RGB")} drops it. 16-bit grey is scaled to 8 bits
     * (PIL would clip it at 255, which whitens such images).
     */
    static Pixels decode(Path file) {
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new MocoRefException(file + ": unreadable image (" + FileBytes.oneLine(e) + ")", e);
        }
        if (img == null) throw new MocoRefException(file + ": unreadable image (no javax.imageio decoder recognizes it)");
        int w = img.getWidth();
        int h = img.getHeight();
        int n = Math.multiplyExact(w, h);
        ColorModel cm = img.getColorModel();
        if (isGrey(cm)) {
            // Read the stored samples: getRGB would pass grey through a colour-space conversion and shift the values.
            Raster r = img.getRaster();
            int bits = cm.getComponentSize(0);
            long max = (1L << bits) - 1;
            byte[] out = new byte[n];
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = row[x];
                    out[y * w + x] = (byte) (bits == 8 ? v : (int) ((v * 255L + max / 2) / max));
                }
            }
            return new Pixels(1, h, w, out);
        }
        byte[] out = new byte[3 * n];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int argb = row[x];
                int i = y * w + x;
                out[i] = (byte) (argb >> 16);
                out[n + i] = (byte) (argb >> 8);
                out[2 * n + i] = (byte) argb;
            }
        }
        return new Pixels(3, h, w, out);
    }

    private static boolean isGrey(ColorModel cm) {
        return !(cm instanceof IndexColorModel)
                && cm.getNumColorComponents() == 1
                && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && cm.getComponentSize(0) <= 16;
    }
}
