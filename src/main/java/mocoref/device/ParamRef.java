package mocoref.device;

/**
 * A parameter tensor as a slice of flat buffers: its values at {@code value[offset .. offset+size)},
 * its gradient at the same place in {@code grad} (null for an encoder that never trains, such as
 * the key encoder or an eval encoder).
 */
public record ParamRef(Buffer value, Buffer grad, long offset, int size) {
    public boolean trainable() {
        return grad != null;
    }
}
