package mocoref.data;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * How the dataset fuzz tests read their input: byte 0 chooses the preparation (bit 0: 1 or 3
 * channels; bits 1-4: the output size, 0 keeping the stored size; bit 5: CIFAR-100 for
 * CifarFuzzTest), bytes 1-2 the length L (big-endian) of the first file, then its L bytes, then
 * the second file. {@link MakeFuzzSeeds} writes the starting inputs in this layout.
 */
final class FuzzLayout {
    static final Path DIR = Path.of("fuzzed-data");

    private FuzzLayout() {}

    static ImagePreparation preparation(byte[] input) {
        int b = input.length > 0 ? input[0] : 0;
        return new ImagePreparation((b & 1) == 0 ? 1 : 3, (b >> 1) & 0xF);
    }

    static boolean bit5(byte[] input) {
        return input.length > 0 && (input[0] & 0x20) != 0;
    }

    /** The two files. */
    static byte[][] files(byte[] input) {
        if (input.length < 3) return new byte[][] {new byte[0], new byte[0]};
        int length = Math.min(((input[1] & 0xFF) << 8) | (input[2] & 0xFF), input.length - 3);
        return new byte[][] {Arrays.copyOfRange(input, 3, 3 + length), Arrays.copyOfRange(input, 3 + length, input.length)};
    }

    /** The layout's bytes for an options byte and two files. */
    static byte[] of(int options, byte[] first, byte[] second) {
        byte[] out = new byte[3 + first.length + second.length];
        out[0] = (byte) options;
        out[1] = (byte) (first.length >> 8);
        out[2] = (byte) first.length;
        System.arraycopy(first, 0, out, 3, first.length);
        System.arraycopy(second, 0, out, 3 + first.length, second.length);
        return out;
    }
}
