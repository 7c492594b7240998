package mocoref.cli;

import java.util.List;
import java.util.function.Supplier;
import mocoref.MocoRefException;
import mocoref.registry.Backends;

/**
 * The range checks every command applies to its options, each throwing an {@link OptionException}
 * whose message starts with the option and says what is allowed: "--knn-k must be at least 1, got 0".
 * NaN fails every numeric rule.
 */
final class OptionRules {
    /** More threads than this is a typo (the cpu backend starts one worker per thread). */
    static final int MAX_THREADS = 256;

    private OptionRules() {}

    static void atLeast(String option, long value, long min) {
        if (value < min) throw new OptionException(option + " must be at least " + min + ", got " + value);
    }

    static void between(String option, long value, long min, long max) {
        if (value < min || value > max) throw new OptionException(option + " must be between " + min + " and " + max + ", got " + value);
    }

    /** A finite number above 0. */
    static void positive(String option, double value) {
        if (!(value > 0 && value < Double.POSITIVE_INFINITY)) {
            throw new OptionException(option + " must be a positive number, got " + show(value));
        }
    }

    /** A finite number, 0 or above. */
    static void nonNegative(String option, double value) {
        if (!(value >= 0 && value < Double.POSITIVE_INFINITY)) {
            throw new OptionException(option + " must be 0 or more, got " + show(value));
        }
    }

    /** A number in [lo, hi] or [lo, hi) . */
    static void inRange(String option, double value, double lo, double hi, boolean hiIncluded) {
        boolean ok = value >= lo && (hiIncluded ? value <= hi : value < hi);
        if (!ok) {
            throw new OptionException(option + " must be in [" + show(lo) + ", " + show(hi) + (hiIncluded ? "]" : ")") + ", got "
                    + show(value));
        }
    }

    /** A number in (0, 1]. */
    static void fractionAboveZero(String option, double value) {
        if (!(value > 0 && value <= 1)) throw new OptionException(option + " must be in (0, 1], got " + show(value));
    }

    static void oneOf(String option, String value, List<String> allowed) {
        if (!allowed.contains(value)) {
            throw new OptionException(option + ": unknown '" + value + "' (expected " + String.join(", ", allowed) + ")");
        }
    }

    /** A name that a parser of the model decides on (an arch, a stem, a block): its own message, under the option's name. */
    static void parses(String option, Supplier<?> parse) {
        try {
            parse.get();
        } catch (MocoRefException e) {
            throw new OptionException(option + ": " + e.getMessage());
        }
    }

    /** {@code --backend} and {@code --threads}, which several commands share. */
    static void backendAndThreads(String backend, int threads) {
        oneOf("--backend", backend, Backends.NAMES);
        between("--threads", threads, 0, MAX_THREADS);
    }

    /** {@code v} as a user would write it: 3 rather than 3.0. */
    static String show(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
