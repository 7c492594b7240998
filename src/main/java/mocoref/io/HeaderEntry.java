package mocoref.io;

/** One tensor's header entry, validated: its bytes are {@code [begin, end)} of the data section. */
record HeaderEntry(String name, DType dtype, int[] shape, int numel, long begin, long end) {}
