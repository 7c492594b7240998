package mocoref.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.float32.Float32Backend;
import mocoref.registry.Backends;

/**
 * The backends and float32 devices of {@link Backends#NAMES}: the suites that run once per
 * backend (golden cases, gradient checks, resume) or per device (twins) take them from here, so a
 * newly registered backend gets every suite without a line of test code.
 *
 * <p>A backend that cannot start here (opencl without an OpenCL driver) is left out with its reason
 * in {@link #unavailable()}, which {@code opencl.OpenClAvailableTest} reports as a skipped test;
 * under {@code CI=true} it is a failure instead: CI installs PoCL, so every backend must run there.
 */
public final class Registered {
    private static final Map<String, String> unavailable = new TreeMap<>();

    private Registered() {}

    /** Whether this is a CI run ({@code CI=true}), where nothing may be skipped. */
    public static boolean ci() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Every registered backend that starts here, the multi-threaded ones on {@code threads} threads. */
    public static List<Backend> backends(int threads) {
        List<Backend> all = new ArrayList<>();
        for (String name : Backends.NAMES) {
            try {
                all.add(Backends.byName(name, threads));
            } catch (MocoRefException e) {
                if (ci()) throw new AssertionError("backend " + name + " cannot start, and CI=true forbids skipping it: " + e.getMessage(), e);
                synchronized (unavailable) {
                    if (unavailable.put(name, e.getMessage()) == null) System.err.println("skipping backend " + name + ": " + e.getMessage());
                }
            }
        }
        return all;
    }

    /** The float32 ones: a device each, with the operations the twin tests compare. */
    public static List<Float32Backend> float32(int threads) {
        List<Float32Backend> all = new ArrayList<>();
        for (Backend b : backends(threads)) if (b instanceof Float32Backend f) all.add(f);
        return all;
    }

    /** Backends that could not start here, with the reason (never under CI=true: that fails instead). */
    public static Map<String, String> unavailable() {
        backends(1);
        synchronized (unavailable) {
            return Map.copyOf(unavailable);
        }
    }
}
