package mocoref.io;

import mocoref.MocoRefException;

/** A safetensors file that cannot be read or written; the message starts with the file's path. */
public class SafeTensorsException extends MocoRefException {
    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
