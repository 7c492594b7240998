package mocoref.backend;

import java.util.List;
import mocoref.MocoRefException;
import mocoref.cpu.CpuBackend;
import mocoref.reference.ReferenceBackend;

/** The backends {@code --backend} can name. */
public final class Backends {
    public static final List<String> NAMES = List.of("reference", "cpu");

    private Backends() {}

    /** The backend called {@code name}, using {@code threads} threads where it is multi-threaded. */
    public static Backend byName(String name, int threads) {
        return switch (name) {
            case "reference" -> new ReferenceBackend();
            case "cpu" -> new CpuBackend(threads);
            default -> throw new MocoRefException("unknown backend '" + name + "' (known: " + String.join(", ", NAMES) + ")");
        };
    }
}
