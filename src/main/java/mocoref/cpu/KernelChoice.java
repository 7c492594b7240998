package mocoref.cpu;

/**
 * Picks the kernels at class-load time. The Vector API classes are named only by string so that the
 * JVM never links them when {@code jdk.incubator.vector} is absent (a plain {@code java -jar}).
 * {@code -Dmocoref.cpu.scalar=true} forces the scalar kernels, for comparisons.
 *
 * <p>Before the first vector class loads it turns off the Vector API's own per-load bounds check
 * ({@value #OOB_CHECK}=0, which the launcher and the tests also pass), unless the user set the
 * property: {@link VectorKernels} and the kNN's kernel check every range they touch themselves, in
 * Java, once per call or once per k, which costs far less than the API's check on every load.
 */
final class KernelChoice {
    private KernelChoice() {}

    static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    static Kernels pick() {
        if (vectorModulePresent() && !Boolean.getBoolean("mocoref.cpu.scalar")) {
            Kernels v = vector();
            if (v != null) return v;
        }
        return new ScalarKernels(8, 32);
    }

    static final String OOB_CHECK = "jdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK";

    /** The Vector API kernels, or null when they cannot be loaded. */
    static Kernels vector() {
        if (!vectorModulePresent()) return null;
        if (System.getProperty(OOB_CHECK) == null) System.setProperty(OOB_CHECK, "0");
        try {
            return (Kernels) Class.forName("mocoref.cpu.VectorKernels").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            return null;
        }
    }
}
