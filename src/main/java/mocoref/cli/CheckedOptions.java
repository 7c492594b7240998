package mocoref.cli;

import picocli.CommandLine.ParseResult;

/**
 * Options that check their own values. {@link Main} calls {@link #checkOptions} on the mixins and
 * then on the command itself before the command runs, so that a value out of range is refused
 * before any file is read or model built.
 */
interface CheckedOptions {
    /** Throws {@link OptionException} naming the first wrong option and its allowed range; {@code parsed} tells which options were given. */
    void checkOptions(ParseResult parsed);
}
