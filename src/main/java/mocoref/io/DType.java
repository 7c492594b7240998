package mocoref.io;

/** Element types this implementation stores; the constant names are the safetensors dtype strings. */
public enum DType {
    F64(8),
    F32(4),
    I64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The dtype spelled {@code name} in a header, or null when this implementation does not support it. */
    static DType byName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }

    /** The supported names, for error messages: "F64, F32, I64". */
    static String supportedNames() {
        StringBuilder s = new StringBuilder();
        for (DType t : values()) {
            if (s.length() > 0) s.append(", ");
            s.append(t.name());
        }
        return s.toString();
    }
}
