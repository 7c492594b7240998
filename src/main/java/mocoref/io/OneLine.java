package mocoref.io;

/** Makes text from a file safe to put in a one-line error message. */
public final class OneLine {
    private OneLine() {}

    /** {@code s} with every control character (a newline in a tensor name, say) written as a \\uXXXX escape. */
    public static String of(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
