package mocoref.eval;

/**
 * What the user says about the encoder's shape, overriding what {@link CheckpointModel} infers from
 * the tensors; null means "infer". {@code arch} (resnet18/34/50) fixes the block and the layers.
 */
public record ArchOverrides(String arch, Integer width, String stem, Integer inChannels, Integer dim, Boolean mlp) {
    public static final ArchOverrides NONE = new ArchOverrides(null, null, null, null, null, null);
}
