package mocoref.cli;

import mocoref.MocoRefException;

/**
 * A wrong option value, or options that contradict each other (or the checkpoint being resumed):
 * the command line is wrong, whatever the files hold. The CLI prints the message as one line
 * (it starts with the option's name) and exits 2.
 */
final class OptionException extends MocoRefException {
    OptionException(String message) {
        super(message);
    }
}
