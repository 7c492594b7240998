package mocoref.cpu;

/**
 * Picks the kernels at class-load time. The Vector API classes are named only by string so that the
 * JVM never links them when {@code jdk.incubator.vector} is absent (a plain {@code java -jar}).
 * {@code -Dmocoref.cpu.scalar=true} forces the scalar kernels, for comparisons.
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

    /** The Vector API kernels, or null when they cannot be loaded. */
    static Kernels vector() {
        if (!vectorModulePresent()) return null;
        try {
            return (Kernels) Class.forName("mocoref.cpu.VectorKernels").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            return null;
        }
    }
}
