package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import mocoref.MocoRefException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ImageFolder trees written as PNGs: class order, labels, pixel values, resizing, subsets and each malformation. */
class ImageFolderTest {
    @TempDir
    Path dir;

    @Test
    void classesAreSortedFoldersAndImagesFollowTorchvisionsOrder() throws IOException {
        SyntheticData.writeImageFolder(dir, List.of("train", "val"), List.of("zebra", "Apple", "mango"), 2, 5, 4, 1);
        // A nested folder and a non-image file: the nested image counts, the text file is skipped.
        SyntheticData.writePng(dir.resolve("train/mango/sub/x.png"), SyntheticData.randomImage(5, 4, false, new SplittableRandom(2)));
        Files.writeString(dir.resolve("train/mango/notes.txt"), "not an image");
        assertEquals(Datasets.Format.IMAGE_FOLDER, Datasets.detect(dir));

        ImageFolder.Listing listing = ImageFolder.list(dir, Split.TRAIN);
        assertEquals(List.of("Apple", "mango", "zebra"), listing.classes()); // code-point order: upper case first
        List<String> files = listing.entries().stream().map(e -> dir.relativize(e.file()).toString()).toList();
        assertEquals(List.of("train/Apple/img0.png", "train/Apple/img1.png", "train/mango/img0.png", "train/mango/img1.png",
                "train/mango/sub/x.png", "train/zebra/img0.png", "train/zebra/img1.png"), files);

        Dataset train = Datasets.load(dir, Split.TRAIN, 0, 0);
        assertArrayEquals(new int[] {0, 0, 1, 1, 1, 2, 2}, train.labels());
        assertEquals(3, train.channels());
        assertEquals(4, train.height());
        assertEquals(5, train.width());
        assertEquals(6, Datasets.load(dir, Split.TEST, 0, 0).n());
    }

    @Test
    void pixelsAreReadExactlyForRgbAndGrey() throws IOException {
        SplittableRandom rng = new SplittableRandom(3);
        BufferedImage rgb = SyntheticData.randomImage(3, 2, false, rng);
        BufferedImage grey = SyntheticData.randomImage(3, 2, true, rng);
        SyntheticData.writePng(dir.resolve("a/rgb.png"), rgb);
        SyntheticData.writePng(dir.resolve("b/grey.png"), grey);

        Dataset asRgb = Datasets.load(dir, Split.TRAIN, 0, 3);
        Dataset asGrey = Datasets.load(dir, Split.TRAIN, 0, 1);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                int p = rgb.getRGB(x, y);
                int i = y * 3 + x;
                assertEquals(((p >> 16) & 0xFF) / 255f, asRgb.images()[i]);
                assertEquals(((p >> 8) & 0xFF) / 255f, asRgb.images()[6 + i]);
                assertEquals((p & 0xFF) / 255f, asRgb.images()[12 + i]);
                assertEquals(PilGrayscale.luma((p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF) / 255f, asGrey.images()[i]);
                // The grey PNG's stored samples, not getRGB's colour-converted ones, replicated for RGB.
                float g = grey.getRaster().getSample(x, y, 0) / 255f;
                assertEquals(g, asGrey.images()[6 + i]);
                for (int c = 0; c < 3; c++) assertEquals(g, asRgb.images()[18 + c * 6 + i]);
            }
        }
    }

    @Test
    void resizesTheShorterSideAndCropsTheCentre() throws IOException {
        SplittableRandom rng = new SplittableRandom(4);
        SyntheticData.writePng(dir.resolve("train/a/wide.png"), SyntheticData.randomImage(40, 20, false, rng));
        SyntheticData.writePng(dir.resolve("train/b/tall.png"), SyntheticData.randomImage(9, 30, false, rng));
        Dataset d = Datasets.load(dir, Split.TRAIN, 8, 3);
        assertEquals(8, d.height());
        assertEquals(8, d.width());
        assertEquals(2 * 3 * 64, d.images().length);
    }

    @Test
    void differentSizesNeedAnImageSize() throws IOException {
        SplittableRandom rng = new SplittableRandom(5);
        SyntheticData.writePng(dir.resolve("a/x.png"), SyntheticData.randomImage(4, 4, false, rng));
        SyntheticData.writePng(dir.resolve("b/y.png"), SyntheticData.randomImage(5, 4, false, rng));
        String m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 0, 3)).getMessage();
        assertTrue(m.contains("y.png: image is 5x4 but x.png is 4x4; give an image size"), m);
    }

    @Test
    void subsetDecodesOnlyItsImages() throws IOException {
        SyntheticData.writeImageFolder(dir, List.of("train"), List.of("a", "b"), 3, 4, 4, 6);
        Path broken = dir.resolve("train/b/zz-broken.png");
        Files.writeString(broken, "not a png");
        // With the broken file in the listing, some seed picks it; the full load always fails.
        assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 4, 3));
        int loaded = 0;
        for (long seed = 0; seed < 6; seed++) {
            try {
                Dataset d = Datasets.load(dir, Split.TRAIN, 4, 3, 2, seed);
                assertArrayEquals(new int[] {0, 1}, d.labels());
                loaded++;
            } catch (MocoRefException e) {
                assertTrue(e.getMessage().startsWith(broken.toString()), e.getMessage());
            }
        }
        assertTrue(loaded > 0 && loaded < 6, "seeds that avoided the broken file: " + loaded);
    }

    @Test
    void emptyClassFolder() throws IOException {
        SyntheticData.writeImageFolder(dir, List.of("train"), List.of("a"), 1, 4, 4, 7);
        Files.createDirectories(dir.resolve("train/b"));
        Files.writeString(dir.resolve("train/b/readme.txt"), "x");
        String m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 4, 3)).getMessage();
        assertTrue(m.startsWith(dir.resolve("train/b").toString()) && m.contains("empty class folder"), m);
    }

    @Test
    void unreadableImages() throws IOException {
        SyntheticData.writeImageFolder(dir, List.of("train"), List.of("a"), 1, 4, 4, 8);
        Path bad = dir.resolve("train/a/bad.jpg");
        Files.write(bad, new byte[] {(byte) 0xFF, (byte) 0xD8, 1, 2, 3});
        String m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 4, 3)).getMessage();
        assertTrue(m.startsWith(bad.toString() + ": unreadable image"), m);
        Files.delete(bad);

        Path webp = dir.resolve("train/a/pic.webp");
        Files.writeString(webp, "RIFF");
        m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 4, 3)).getMessage();
        assertTrue(m.startsWith(webp.toString() + ": unreadable image (javax.imageio has no .webp decoder"), m);
    }

    @Test
    void splitFolderProblems() throws IOException {
        SyntheticData.writeImageFolder(dir, List.of("train"), List.of("a", "b"), 1, 4, 4, 9);
        String m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TEST, 4, 3)).getMessage();
        assertTrue(m.contains("has train/ but no val/ or test/ folder"), m);

        SyntheticData.writeImageFolder(dir, List.of("val"), List.of("c"), 1, 4, 4, 10);
        m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TEST, 4, 3)).getMessage();
        assertTrue(m.contains("val/c: class folder has no counterpart in"), m);
    }

    @Test
    void valLabelsFollowTrainClassesEvenWithAClassMissing() throws IOException {
        SyntheticData.writeImageFolder(dir, List.of("train"), List.of("a", "b", "c"), 1, 4, 4, 11);
        SyntheticData.writeImageFolder(dir, List.of("val"), List.of("b", "c"), 1, 4, 4, 12);
        Dataset val = Datasets.load(dir, Split.TEST, 4, 3);
        assertEquals(List.of("a", "b", "c"), val.classes());
        assertArrayEquals(new int[] {1, 2}, val.labels());
    }

    @Test
    void noDatasetAndBadArguments() throws IOException {
        Files.writeString(dir.resolve("file.txt"), "x");
        String m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 4, 3)).getMessage();
        assertTrue(m.startsWith(dir + ": no dataset found"), m);
        m = assertThrows(MocoRefException.class, () -> Datasets.load(dir.resolve("nope"), Split.TRAIN, 4, 3)).getMessage();
        assertTrue(m.endsWith("nope: no such directory"), m);
        m = assertThrows(MocoRefException.class, () -> Datasets.load(dir.resolve("file.txt"), Split.TRAIN, 4, 3)).getMessage();
        assertTrue(m.endsWith("file.txt: not a directory"), m);
        m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 4, 2)).getMessage();
        assertTrue(m.contains("--in-channels must be 1 or 3"), m);
    }

    /**
     * A PNG whose 25-byte header declares 30000 x 30000 pixels (2.7 GB of RGB raster) is refused
     * from the header, before the decoder allocates anything; a truncated header is a one-line error too.
     */
    @Test
    void anImageDeclaringAbsurdSizeIsRefusedFromItsHeader() throws IOException {
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream out = new java.io.DataOutputStream(png);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        byte[] ihdr = java.nio.ByteBuffer.allocate(17).put("IHDR".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                .putInt(30000).putInt(30000).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0).array();
        out.writeInt(13);
        out.write(ihdr);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(ihdr);
        out.writeInt((int) crc.getValue());
        Path file = dir.resolve("huge.png");
        long t0 = System.nanoTime();
        String m = assertThrows(MocoRefException.class, () -> ImageDecoding.decode(file, png.toByteArray())).getMessage();
        assertEquals(file + ": image of 30000x30000 pixels is larger than moco-ref decodes (67108864 pixels)", m);
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "it took " + (System.nanoTime() - t0) / 1e9 + " s");
        byte[] cut = java.util.Arrays.copyOf(png.toByteArray(), 20);
        m = assertThrows(MocoRefException.class, () -> ImageDecoding.decode(file, cut)).getMessage();
        assertTrue(m.startsWith(file + ": unreadable image") && !m.contains("\n"), m);
    }
}
