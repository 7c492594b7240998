package mocoref.backend;

import java.util.List;
import mocoref.MocoRefException;
import mocoref.cpu.CpuBackend;
import mocoref.reference.ReferenceBackend;

/** The backends {@code --backend} can name. */
public final class Backends {
    public static final List<String> NAMES = List.of("reference", "cpu");

    private Backends() {}

    /** The backend called {@code name}, using {@code threads} threads where it is multi-threaded (0: all cores). */
    public static Backend byName(String name, int threads) {
        if (threads < 0) throw new MocoRefException("--threads must be 0 (all cores) or more, got " + threads);
        return switch (name) {
            case "reference" -> new ReferenceBackend();
            case "cpu" -> threads == 0 ? new CpuBackend() : new CpuBackend(threads);
            default -> throw new MocoRefException("unknown backend '" + name + "' (known: " + String.join(", ", NAMES) + ")");
        };
    }
}
