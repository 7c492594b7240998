package mocoref.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;

/**
 * Writes the fuzz tests' starting inputs (valid files of each format, in each fuzz test's input
 * layout) under src/test/resources; not a test. Jazzer runs them in every {@code mvn test} and
 * mutates them when fuzzing. Findings that were fixed sit beside them as {@code crash-*} files.
 *
 * <pre>java -cp target/test-classes:target/classes:$(deps) mocoref.data.MakeFuzzSeeds</pre>
 */
public final class MakeFuzzSeeds {
    static final Path RESOURCES = Path.of("src/test/resources/mocoref");

    private MakeFuzzSeeds() {}

    public static void main(String[] args) throws IOException {
        SplittableRandom rng = new SplittableRandom(1);
        Path st = RESOURCES.resolve("io/SafeTensorsFuzzTestInputs/read");
        Map<String, StoredTensor> t = new LinkedHashMap<>();
        t.put("encoder_q.conv1.weight", StoredTensor.f32(new float[] {0.5f, -1, 2, 0}, 2, 2));
        t.put("queue_ptr", StoredTensor.i64(new long[] {3}, 1));
        t.put("lr", StoredTensor.f64(new double[] {0.03}));
        SafeTensors.write(st.resolve("checkpoint-like.safetensors"), t, Map.of("format", "moco-ref-checkpoint/1", "epoch", "1"), true);
        SafeTensors.write(st.resolve("empty.safetensors"), Map.of(), Map.of());

        Path idx = RESOURCES.resolve("data/IdxFuzzTestInputs/idx");
        Files.createDirectories(idx);
        Files.write(idx.resolve("raw-3-grey-4x4"), FuzzLayout.of(0, SyntheticData.idxImages(SyntheticData.randomBytes(rng, 48), 3, 4, 4),
                SyntheticData.idxLabels(SyntheticData.cyclicLabels(3, 10))));
        Files.write(idx.resolve("gzip-2-rgb-3x5-to-6"), FuzzLayout.of(1 | 6 << 1,
                SyntheticData.gzip(SyntheticData.idxImages(SyntheticData.randomBytes(rng, 30), 2, 3, 5)),
                SyntheticData.gzip(SyntheticData.idxLabels(SyntheticData.cyclicLabels(2, 10)))));

        Path cifar = RESOURCES.resolve("data/CifarFuzzTestInputs/cifar");
        Files.createDirectories(cifar);
        Files.write(cifar.resolve("cifar10-1-and-2-records"), FuzzLayout.of(0, SyntheticData.cifarRecords(1, false, rng),
                SyntheticData.cifarRecords(2, false, rng)));
        Files.write(cifar.resolve("cifar100-1-record-grey-to-5"), FuzzLayout.of(0x20 | 5 << 1, SyntheticData.cifarRecords(1, true, rng), new byte[0]));

        Path image = RESOURCES.resolve("data/ImageFuzzTestInputs/image");
        Files.createDirectories(image);
        BufferedImage grey = SyntheticData.randomImage(5, 4, true, rng);
        BufferedImage rgb = SyntheticData.randomImage(3, 3, false, rng);
        Files.write(image.resolve("grey-5x4.png"), encode(grey, "png"));
        Files.write(image.resolve("rgb-3x3.png"), encode(rgb, "png"));
        Files.write(image.resolve("rgb-3x3.jpg"), encode(rgb, "jpg"));
        Files.write(image.resolve("rgb-3x3.bmp"), encode(rgb, "bmp"));
        Files.write(image.resolve("grey-5x4.gif"), encode(grey, "gif"));
        BufferedImage grey16 = new BufferedImage(2, 2, BufferedImage.TYPE_USHORT_GRAY);
        grey16.getRaster().setSample(1, 1, 0, 40000);
        Files.write(image.resolve("grey16-2x2.png"), encode(grey16, "png"));

        Path cases = RESOURCES.resolve("golden/GoldenCaseFuzzTestInputs/parse");
        Files.createDirectories(cases);
        for (String c : new String[] {"basic_cifar_g1_k16", "cosine_m_g2", "symmetric_g2_k32", "bottleneck_imagenet_g4"}) {
            Files.copy(Path.of("reference-tests/cases", c, "case.json"), cases.resolve(c + ".json"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) throw new IOException("no " + format + " writer");
        return out.toByteArray();
    }
}
