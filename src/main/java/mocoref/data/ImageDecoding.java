package mocoref.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import mocoref.MocoRefException;

/** Decodes a PNG/JPEG/BMP/... file with javax.imageio into planar 8-bit pixels. */
final class ImageDecoding {

    /** Planar 8-bit pixels {@code [channels, height, width]}, channels 1 (grey) or 3 (RGB). */
    record Pixels(int channels, int height, int width, byte[] data) {}

    private ImageDecoding() {}

    /** Larger images are refused before decoding: their raster alone would be 4 bytes a pixel (a 64k x 64k PNG header is 20 bytes). */
    static final long MAX_PIXELS = 1L << 26;

    /**
     * Grey images (8- or 16-bit, with or without alpha) stay 1 channel; everything else becomes RGB.
     * Alpha is dropped, as PIL's {@code convert("RGB")} drops it. 16-bit grey is scaled to 8 bits
     * (PIL would clip it at 255, which whitens such images).
     */
    static Pixels decode(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new MocoRefException(file + ": cannot read: " + FileBytes.oneLine(e), e);
        }
        return decode(file, bytes);
    }

    /** As {@link #decode(Path)}, from the file's bytes; every problem is a one-line error naming {@code file}. */
    static Pixels decode(Path file, byte[] bytes) {
        BufferedImage img = read(file, bytes);
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

    /**
     * javax.imageio's decoders throw more than IOException on malformed input (index and argument
     * errors, and running out of memory on absurd sizes), so the size is checked from the header
     * first and anything a decoder throws becomes the file's error.
     */
    private static BufferedImage read(Path file, byte[] bytes) {
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new MocoRefException(file + ": unreadable image (no javax.imageio decoder recognizes it)");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_PIXELS) {
                    throw new MocoRefException(file + ": image of " + reader.getWidth(0) + "x" + reader.getHeight(0)
                            + " pixels is larger than moco-ref decodes (" + MAX_PIXELS + " pixels)");
                }
                BufferedImage img = reader.read(0);
                if (img.getWidth() < 1 || img.getHeight() < 1) throw new MocoRefException(file + ": unreadable image (it has no pixels)");
                return img;
            } finally {
                reader.dispose();
            }
        } catch (MocoRefException e) {
            throw e;
        } catch (IOException | RuntimeException | OutOfMemoryError | StackOverflowError e) {
            throw new MocoRefException(file + ": unreadable image (" + FileBytes.oneLine(e) + ")", e);
        }
    }

    private static boolean isGrey(ColorModel cm) {
        return !(cm instanceof IndexColorModel)
                && cm.getNumColorComponents() == 1
                && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && cm.getComponentSize(0) <= 16;
    }
}
