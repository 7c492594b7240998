package mocoref.data;

/**
 * Seeds derived from (seed, epoch, position) alone, so that every sample's augmentation and every
 * epoch's shuffle are the same whichever thread computes them and in whatever order: no random
 * generator is shared between samples.
 */
public final class SampleSeeds {
    private SampleSeeds() {}

    /** The generator seed of the sample at {@code position} in epoch {@code epoch}'s shuffled order. */
    public static long sample(long seed, int epoch, long position) {
        return mix(mix(mix(seed) ^ epoch) ^ (position + 1));
    }

    /** The generator seed of epoch {@code epoch}'s shuffle; distinct from every sample's (position 0 is the shuffle's own slot). */
    public static long shuffle(long seed, int epoch) {
        return mix(mix(mix(seed) ^ epoch) ^ 0);
    }

    /**
     * A 64-bit finalizer (SplitMix64's constants): a bijection in which every input bit affects every
     * output bit, so nearby inputs such as consecutive positions give unrelated seeds.
     */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
