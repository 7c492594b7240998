package mocoref.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import mocoref.MocoRefException;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    // ---- round trips ----

    @Test
    void roundTripsAllDtypesScalarsEmptiesAndMetadata() {
        Random rnd = new Random(7);
        double[] d = new double[24];
        for (int i = 0; i < d.length; i++) d[i] = rnd.nextGaussian();
        d[0] = Double.NaN;
        d[1] = -0.0;
        d[2] = Double.POSITIVE_INFINITY;
        d[3] = Double.MIN_VALUE;
        float[] f = new float[6];
        for (int i = 0; i < f.length; i++) f[i] = (float) rnd.nextGaussian();
        f[0] = Float.NEGATIVE_INFINITY;
        long[] l = {Long.MIN_VALUE, Long.MAX_VALUE, -1, 0, 42};

        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        tensors.put("conv1.weight", StoredTensor.f64(d, 2, 3, 4));
        tensors.put("fc.bias", StoredTensor.f32(f, 6));
        tensors.put("labels", StoredTensor.i64(l, 5));
        tensors.put("step", StoredTensor.i64(new long[] {1234}));
        tensors.put("lr", StoredTensor.f64(new double[] {0.03}));
        tensors.put("empty", StoredTensor.f32(new float[0], 0));
        tensors.put("empty2d", StoredTensor.f64(new double[0], 3, 0));
        tensors.put("ünïcode name", StoredTensor.f32(new float[] {1.5f}, 1, 1));
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "moco-ref");
        metadata.put("note", "line one\nline \"two\"");

        Path p = dir.resolve("round.safetensors");
        SafeTensors.write(p, tensors, metadata);
        SafeTensorsFile file = SafeTensors.read(p);

        assertEquals(p, file.path());
        assertEquals(List.copyOf(tensors.keySet()), List.copyOf(file.names()));
        assertEquals(tensors, file.tensors());
        assertEquals(metadata, file.metadata());
        assertArrayEquals(new int[0], file.get("step").shape());
        assertEquals(1, file.get("step").numel());
        assertEquals(0, file.get("empty2d").numel());
        assertArrayEquals(new int[] {3, 0}, file.get("empty2d").shape());
        assertTrue(file.has("labels"));
        assertFalse(file.has("nope"));
    }

    @Test
    void roundTripsTensorsLargerThanOneChunk() {
        Random rnd = new Random(11);
        int n = TensorData.CHUNK_BYTES / 8 + 12_345;
        double[] d = new double[n];
        float[] f = new float[2 * n];
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            d[i] = rnd.nextDouble();
            f[2 * i] = rnd.nextFloat();
            f[2 * i + 1] = rnd.nextFloat();
            l[i] = rnd.nextLong();
        }
        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        tensors.put("f32", StoredTensor.f32(f, 2, n));
        tensors.put("f64", StoredTensor.f64(d, n));
        tensors.put("i64", StoredTensor.i64(l, n, 1));
        Path p = dir.resolve("big.safetensors");
        SafeTensors.write(p, tensors, Map.of());
        assertEquals(tensors, SafeTensors.read(p).tensors());
    }

    @Test
    void tensorRoundTripsThroughF64() {
        Tensor t = new Tensor(new double[] {1, 2, 3, 4, 5, 6}, 3, 2);
        Path p = dir.resolve("t.safetensors");
        SafeTensors.write(p, Map.of("t", StoredTensor.of(t)), Map.of());
        StoredTensor back = SafeTensors.read(p).get("t");
        assertEquals(DType.F64, back.dtype());
        Tensor u = back.toTensor();
        assertArrayEquals(t.shape, u.shape);
        assertArrayEquals(t.data, u.data);
    }

    @Test
    void emptyFileHasPaddedEmptyHeaderAndNoMetadata() throws IOException {
        Path p = dir.resolve("empty.safetensors");
        SafeTensors.write(p, Map.of(), Map.of());
        byte[] bytes = Files.readAllBytes(p);
        assertArrayEquals(concat(le64(8), ascii("{}      ")), bytes);
        SafeTensorsFile file = SafeTensors.read(p);
        assertTrue(file.tensors().isEmpty());
        assertTrue(file.metadata().isEmpty());
    }

    // ---- the layout, byte for byte ----

    @Test
    void writesTheExactBytesOfAHandBuiltFile() throws IOException {
        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        tensors.put("a", StoredTensor.f32(new float[] {1.0f, -2.0f}, 2));
        tensors.put("b", StoredTensor.i64(new long[] {7}));
        Path p = dir.resolve("tiny.safetensors");
        SafeTensors.write(p, tensors, Map.of("format", "pt"));

        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}";
        assertEquals(138, json.length());
        byte[] expected = concat(
                new byte[] {(byte) 0x90, 0, 0, 0, 0, 0, 0, 0}, // 144: 138 bytes of JSON + 6 spaces of padding
                ascii(json),
                ascii("      "),
                new byte[] {0, 0, (byte) 0x80, 0x3f}, // 1.0f
                new byte[] {0, 0, 0, (byte) 0xc0}, // -2.0f
                new byte[] {7, 0, 0, 0, 0, 0, 0, 0}); // 7L
        assertArrayEquals(expected, Files.readAllBytes(p));
    }

    @Test
    void readsAHandBuiltFileInDataOrderWithoutPadding() throws IOException {
        // Header lists "late" first, but its data comes second; no padding, as other writers may do.
        String json = "{\"late\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[4,12]},"
                + "\"early\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}";
        Path p = dir.resolve("order.safetensors");
        Files.write(p, concat(le64(json.length()), ascii(json),
                new byte[] {0, 0, (byte) 0xc0, 0x3f}, // 1.5f
                new byte[] {0, 0, 0, 0, 0, 0, 0x04, (byte) 0xc0})); // -2.5
        SafeTensorsFile file = SafeTensors.read(p);
        assertEquals(List.of("early", "late"), List.copyOf(file.names()));
        assertArrayEquals(new float[] {1.5f}, (float[]) file.get("early").data());
        assertArrayEquals(new int[] {1, 1}, file.get("early").shape());
        assertArrayEquals(new double[] {-2.5}, (double[]) file.get("late").data());
        assertTrue(file.metadata().isEmpty());
    }

    // ---- malformed files ----

    @Test
    void refusesFilesTooShortForTheLength() throws IOException {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[5]);
        assertMalformed(p, "5 bytes", "too short");
    }

    @Test
    void refusesHeaderLengthBeyondTheFile() throws IOException {
        Path p = dir.resolve("trunc.safetensors");
        Files.write(p, concat(le64(100), ascii("{}")));
        assertMalformed(p, "header length 100", "beyond", "truncated");
        Files.write(p, concat(le64(-1), ascii("{}")));
        assertMalformed(p, "header length 18446744073709551615");
    }

    @Test
    void refusesHeadersThatAreNotJsonObjects() throws IOException {
        assertMalformed(raw("{\"a\": ", 0), "not valid JSON");
        assertMalformed(raw("[1, 2]", 0), "must be a JSON object, got array");
        assertMalformed(raw("", 0), "header is empty");
        assertMalformed(raw("{} {}", 0), "not valid JSON");
        assertMalformed(raw("{\"a\": 1, \"a\": 2}", 0), "not valid JSON", "a");
        Path p = dir.resolve("latin1.safetensors");
        Files.write(p, concat(le64(4), new byte[] {'{', '}', (byte) 0xff, ' '}));
        assertMalformed(p, "not valid UTF-8");
    }

    @Test
    void refusesEntriesMissingAKeyOrOfTheWrongType() throws IOException {
        assertMalformed(raw("{\"w\": 5}", 0), "tensor 'w'", "must be a JSON object, got number");
        assertMalformed(raw("{\"w\": {\"shape\": [], \"data_offsets\": [0, 8]}}", 8), "tensor 'w'", "missing \"dtype\"");
        assertMalformed(raw("{\"w\": {\"dtype\": \"F64\", \"data_offsets\": [0, 8]}}", 8), "tensor 'w'", "missing \"shape\"");
        assertMalformed(raw("{\"w\": {\"dtype\": \"F64\", \"shape\": []}}", 8), "tensor 'w'", "missing \"data_offsets\"");
        assertMalformed(raw(entry("w", "3", "[]", "[0, 8]"), 8), "tensor 'w'", "\"dtype\" must be a string");
        assertMalformed(raw(entry("w", "\"F64\"", "\"2x3\"", "[0, 8]"), 8), "tensor 'w'", "\"shape\" must be an array");
        assertMalformed(raw(entry("w", "\"F64\"", "[2.5]", "[0, 8]"), 8), "tensor 'w'", "array of integers");
        assertMalformed(raw(entry("w", "\"F64\"", "[]", "[0, null]"), 8), "tensor 'w'", "array of integers");
        assertMalformed(raw(entry("w", "\"F64\"", "[]", "[0, 8, 16]"), 8), "tensor 'w'", "[begin, end]");
        assertMalformed(raw(entry("w", "\"F64\"", "[99999999999999999999]", "[0, 8]"), 8),
                "tensor 'w'", "64-bit range");
    }

    @Test
    void refusesUnknownDtypesByName() throws IOException {
        assertMalformed(raw(entry("w", "\"BF16\"", "[4]", "[0, 8]"), 8),
                "tensor 'w'", "BF16", "F64, F32, I64");
    }

    @Test
    void refusesBadShapesAndOffsets() throws IOException {
        assertMalformed(raw(entry("w", "\"F64\"", "[2, -2]", "[0, 8]"), 8), "tensor 'w'", "negative dimension -2");
        assertMalformed(raw(entry("w", "\"F64\"", "[1]", "[-8, 0]"), 8), "tensor 'w'", "must not be negative");
        assertMalformed(raw(entry("w", "\"F64\"", "[1]", "[16, 8]"), 16), "tensor 'w'", "begin after end");
        assertMalformed(raw(entry("w", "\"F64\"", "[2]", "[0, 16]"), 8),
                "tensor 'w'", "end beyond the data section of 8 bytes", "truncated");
        assertMalformed(raw(entry("conv1.weight", "\"F64\"", "[3, 3]", "[0, 64]"), 64),
                "tensor 'conv1.weight': shape [3, 3] needs 72 bytes but data_offsets span 64");
    }

    @Test
    void refusesTensorsLargerThanAJavaArray() throws IOException {
        assertMalformed(raw(entry("huge", "\"F32\"", "[65536, 65536]", "[0, 8]"), 8),
                "tensor 'huge'", "shape [65536, 65536] exceeds one Java array");
        assertMalformed(raw(entry("long", "\"I64\"", "[4294967296]", "[0, 8]"), 8), "tensor 'long'", "Java array");
        // A leading zero makes the tensor empty however large the other dimensions are.
        Path p = raw(entry("flat", "\"F32\"", "[0, 2147483647, 2147483647]", "[0, 0]"), 0);
        assertArrayEquals(new int[] {0, Integer.MAX_VALUE, Integer.MAX_VALUE}, SafeTensors.read(p).get("flat").shape());
    }

    @Test
    void refusesOverlapsGapsAndUncoveredBytes() throws IOException {
        String a = "\"a\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [0, 16]}";
        String b = "\"b\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [8, 24]}";
        assertMalformed(raw("{" + a + ", " + b + "}", 24), "'a'", "'b'", "overlap", "covered exactly");
        String c = "\"c\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [24, 32]}";
        assertMalformed(raw("{" + a + ", " + c + "}", 32), "gap of 8 bytes", "tensor 'c'", "covered exactly");
        assertMalformed(raw("{" + a + "}", 24), "8 bytes of data after the last tensor 'a'", "covered exactly");
        assertMalformed(raw("{}", 8), "8 bytes of data but no tensor covers them");
    }

    @Test
    void refusesMetadataThatIsNotAStringMap() throws IOException {
        assertMalformed(raw("{\"__metadata__\": {\"k\": 1}}", 0), "__metadata__", "'k'", "number");
        assertMalformed(raw("{\"__metadata__\": [\"k\"]}", 0), "__metadata__", "array");
    }

    @Test
    void keepsMessagesOnOneLineWhateverTheNames() throws IOException {
        assertMalformed(raw(entry("two\nlines", "\"F16\"", "[1]", "[0, 2]"), 2), "tensor 'two\\u000alines'", "F16");
    }

    @Test
    void refusesMissingFilesAndDirectories() {
        assertMalformed(dir.resolve("absent.safetensors"), "no such file");
        assertMalformed(dir, "directory");
    }

    @Test
    void missingTensorNamesTheFile() {
        Path p = dir.resolve("one.safetensors");
        SafeTensors.write(p, Map.of("x", StoredTensor.f64(new double[] {1})), Map.of());
        SafeTensorsFile file = SafeTensors.read(p);
        MocoRefException e = assertThrows(MocoRefException.class, () -> file.get("y"));
        assertEquals(p + ": no tensor 'y'", e.getMessage());
    }

    // ---- atomic writes ----

    @Test
    void overwritesAtomicallyCreatingParentsAndLeavingNoTempFile() throws IOException {
        Path p = dir.resolve("runs/ckpt/model.safetensors");
        SafeTensors.write(p, Map.of("x", StoredTensor.f64(new double[] {1, 2}, 2)), Map.of("epoch", "1"));
        SafeTensors.write(p, Map.of("y", StoredTensor.i64(new long[] {3})), Map.of("epoch", "2"));
        SafeTensorsFile file = SafeTensors.read(p);
        assertEquals(List.of("y"), List.copyOf(file.names()));
        assertEquals(Map.of("epoch", "2"), file.metadata());
        assertEquals(List.of(p), list(p.getParent()));
    }

    @Test
    void failedWriteKeepsNoTempFile() throws IOException {
        Path p = dir.resolve("taken");
        Files.createDirectories(p);
        Files.writeString(p.resolve("inside.txt"), "keep me");
        SafeTensorsException e = assertThrows(SafeTensorsException.class,
                () -> SafeTensors.write(p, Map.of("x", StoredTensor.f64(new double[] {1})), Map.of()));
        assertTrue(e.getMessage().startsWith(p + ": cannot write"), e.getMessage());
        assertEquals(List.of(p), list(dir));
        assertEquals("keep me", Files.readString(p.resolve("inside.txt")));
    }

    @Test
    void writtenFileGetsOrdinaryPermissions() throws IOException {
        assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"));
        Path p = dir.resolve("perm.safetensors");
        SafeTensors.write(p, Map.of(), Map.of());
        Path plain = Files.createFile(dir.resolve("plain"));
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(p));
    }

    @Test
    void refusesTheReservedName() {
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(dir.resolve("m.safetensors"),
                Map.of("__metadata__", StoredTensor.f64(new double[] {1})), Map.of()));
    }

    // ---- StoredTensor ----

    @Test
    void convertsBetweenDtypes() {
        StoredTensor f = StoredTensor.f64(new double[] {1.0, -3.0, 1e10}, 3);
        assertArrayEquals(new long[] {1, -3, 10_000_000_000L}, f.toLongs());
        assertArrayEquals(new float[] {1f, -3f, 1e10f}, f.toFloats());
        StoredTensor i = StoredTensor.i64(new long[] {5, -6}, 2, 1);
        assertArrayEquals(new double[] {5, -6}, i.toDoubles());
        assertArrayEquals(new float[] {5, -6}, i.toFloats());
        assertArrayEquals(new double[] {0.5}, StoredTensor.f32(new float[] {0.5f}).toDoubles());
        MocoRefException e = assertThrows(MocoRefException.class,
                () -> StoredTensor.f32(new float[] {2f, 2.5f}, 2).toLongs());
        assertTrue(e.getMessage().contains("2.5"), e.getMessage());
        assertThrows(MocoRefException.class, () -> StoredTensor.f64(new double[] {Double.NaN}).toLongs());
        assertThrows(MocoRefException.class, () -> StoredTensor.f64(new double[] {0x1p63}).toLongs());
    }

    @Test
    void refusesDataThatDoesNotFitTheDtypeOrShape() {
        assertThrows(IllegalArgumentException.class, () -> new StoredTensor(DType.F64, new int[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> StoredTensor.f64(new double[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> StoredTensor.f64(new double[0], -1));
        int[] shape = {2};
        StoredTensor t = StoredTensor.f64(new double[2], shape);
        shape[0] = 9;
        t.shape()[0] = 9;
        assertArrayEquals(new int[] {2}, t.shape());
    }

    // ---- helpers ----

    private static void assertMalformed(Path p, String... fragments) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(p));
        String m = e.getMessage();
        assertTrue(m.startsWith(p + ": "), m);
        assertFalse(m.contains("\n") || m.contains("\r"), m);
        for (String f : fragments) assertTrue(m.contains(f), "'" + f + "' missing from: " + m);
    }

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "{\"" + name.replace("\n", "\\n") + "\": {\"dtype\": " + dtype + ", \"shape\": " + shape
                + ", \"data_offsets\": " + offsets + "}}";
    }

    private int fileCounter;

    /** A file with exactly this header text and {@code dataBytes} zero bytes of data. */
    private Path raw(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path p = dir.resolve("raw" + (fileCounter++) + ".safetensors");
        Files.write(p, concat(le64(h.length), h, new byte[dataBytes]));
        return p;
    }

    private static List<Path> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    private static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) b.put(p);
        return b.array();
    }
}
