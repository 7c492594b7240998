package mocoref.registry;

import java.util.List;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.cpu.CpuDevice;
import mocoref.float32.Float32Backend;
import mocoref.opencl.OpenClSelection;
import mocoref.parallel.WorkerPool;
import mocoref.reference.ReferenceBackend;

/**
 * The backends {@code --backend} can name, registered here, above their implementations: the
 * {@code backend} package knows only the interface. The test suite runs once per registered
 * backend (golden cases, gradient checks, resume) and once per registered float32 device (twins),
 * so a new device gets the whole suite by being added to {@link #NAMES} and {@link #byName}.
 */
public final class Backends {
    public static final List<String> NAMES = List.of("reference", "cpu", "opencl");

    private Backends() {}

    /** The backend called {@code name}, using {@code threads} threads where it is multi-threaded (0: all cores). */
    public static Backend byName(String name, int threads) {
        return byName(name, threads, null);
    }

    /**
     * The backend called {@code name}; {@code openClDevices} chooses the OpenCL devices of the
     * {@code opencl} backend ({@link OpenClSelection}; null: device 0).
     */
    public static Backend byName(String name, int threads, String openClDevices) {
        if (threads < 0) throw new MocoRefException("--threads must be 0 (all cores) or more, got " + threads);
        int t = threads == 0 ? WorkerPool.defaultThreads() : threads;
        return switch (name) {
            case "reference" -> new ReferenceBackend();
            case "cpu" -> new Float32Backend("cpu", () -> new CpuDevice(t));
            case "opencl" -> openCl(openClDevices);
            default -> throw new MocoRefException("unknown backend '" + name + "' (known: " + String.join(", ", NAMES) + ")");
        };
    }

    /** The opencl backend on the selected devices: never a silent fallback, a one-line error when none works. */
    private static Backend openCl(String devices) {
        try {
            return new Float32Backend("opencl", OpenClSelection.parse(devices).devices());
        } catch (IllegalArgumentException e) {
            throw new MocoRefException("opencl: --cl-devices " + devices + ": " + e.getMessage());
        }
    }
}
