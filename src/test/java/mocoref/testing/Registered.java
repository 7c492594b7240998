package mocoref.testing;

import java.util.ArrayList;
import java.util.List;
import mocoref.backend.Backend;
import mocoref.float32.Float32Backend;
import mocoref.registry.Backends;

/**
 * The backends and float32 devices of {@link Backends#NAMES}: the suites that run once per
 * backend (golden cases, gradient checks, resume) or per device (twins) take them from here, so a
 * newly registered backend gets every suite without a line of test code.
 */
public final class Registered {
    private Registered() {}

    /** Every registered backend, the multi-threaded ones on {@code threads} threads. */
    public static List<Backend> backends(int threads) {
        List<Backend> all = new ArrayList<>();
        for (String name : Backends.NAMES) all.add(Backends.byName(name, threads));
        return all;
    }

    /** The float32 ones: a device each, with the operations the twin tests compare. */
    public static List<Float32Backend> float32(int threads) {
        List<Float32Backend> all = new ArrayList<>();
        for (Backend b : backends(threads)) if (b instanceof Float32Backend f) all.add(f);
        return all;
    }
}
