package mocoref;

/**
 * Bad input from the user: a malformed file, a configuration whose numbers disagree, a missing
 * tensor. The CLI prints its message as one line, without a stack trace, and exits non-zero, so
 * the message must name the file (or option) and say what is wrong.
 */
public class MocoRefException extends RuntimeException {
    public MocoRefException(String message) {
        super(message);
    }

    public MocoRefException(String message, Throwable cause) {
        super(message, cause);
    }
}
