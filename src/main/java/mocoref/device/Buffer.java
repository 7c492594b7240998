package mocoref.device;

/** Flat float32 memory a {@link Device} owns: only that device reads or writes it. */
public interface Buffer {
    /** Its length in floats. */
    long floats();
}
