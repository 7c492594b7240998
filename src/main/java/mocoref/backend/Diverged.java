package mocoref.backend;

import mocoref.MocoRefException;

/**
 * Training produced a NaN or an infinity (the paper's m = 0 setting "fails" this way): the run
 * stops at once, keeping the last good checkpoint. A study reports such a run as "fail".
 */
public final class Diverged extends MocoRefException {
    public Diverged(String message) {
        super(message);
    }
}
