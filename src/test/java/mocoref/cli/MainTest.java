package mocoref.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import mocoref.MocoRefException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class MainTest {
    private static final List<String> SUBCOMMANDS =
            List.of("train", "knn", "lincls", "features", "golden", "bench", "devices", "export", "plot", "ablate");

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @Test
    void helpListsEverySubcommand() {
        assertEquals(0, execute(Main.commandLine(), "--help"));
        for (String name : SUBCOMMANDS) {
            assertTrue(out.toString().matches("(?s).*\\n\\s+" + name + "\\s+\\S.*"), name + " missing from:\n" + out);
        }
        assertEquals(SUBCOMMANDS, List.copyOf(Main.commandLine().getSubcommands().keySet()));
    }

    @Test
    void versionComesFromTheBuild() {
        assertEquals(0, execute(Main.commandLine(), "--version"));
        assertTrue(out.toString().strip().matches("moco-ref \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), out.toString());
    }

    @Test
    void subcommandsAnswerHelpToo() {
        assertEquals(0, execute(Main.commandLine(), "train", "--help"));
        assertTrue(out.toString().contains("Pre-train a MoCo encoder"), out.toString());
    }

    @Test
    void everyHelpTextFormatsWithoutPicocliWarnings() {
        // picocli formats descriptions with String.format: a bare '%' (as in "88.5%)") makes it print
        // a warning to System.err and show the raw text, %n included
        String printed = printedTo(System.err, System::setErr, () -> {
            for (String name : SUBCOMMANDS) assertEquals(0, execute(Main.commandLine(), name, "--help"), name);
        });
        assertFalse(printed.contains("picocli WARN"), printed);
        assertFalse(out.toString().contains("%n"), out.toString());
    }

    @Test
    void noSubcommandShowsUsageAndExits2() {
        assertEquals(2, execute(Main.commandLine()));
        assertTrue(err.toString().contains("Usage: moco-ref"), err.toString());
    }

    @Test
    void badOptionIsAOneLineMessageWithAHint() {
        assertEquals(2, execute(Main.commandLine(), "train", "--frobnicate"));
        assertEquals("moco-ref train: Unknown option: '--frobnicate'; see 'moco-ref train --help'\n", normalized(err));
    }

    @Test
    void aMisspelledOptionGetsItsSuggestionOnTheSameLine() {
        assertEquals(2, execute(Main.commandLine(), "train", "--epoch=3"));
        assertEquals("moco-ref train: Unknown option: '--epoch=3' (did you mean --epochs?); see 'moco-ref train --help'\n", normalized(err));
    }

    @Test
    void verboseAddsTheStackTraceAnywhereOnTheLine() {
        for (String[] args : new String[][] {{"--verbose", "fail-user"}, {"fail-user", "--verbose"}}) {
            StringWriter e = new StringWriter();
            CommandLine cl = withTestCommands();
            cl.setErr(new PrintWriter(e, true));
            assertEquals(1, cl.execute(args));
            assertTrue(e.toString().startsWith("moco-ref: data/x.safetensors: no tensor 'w' (expected a checkpoint)"), e.toString());
            assertTrue(e.toString().contains("\tat mocoref.cli.MainTest$FailUser.call"), e.toString());
        }
    }

    @Test
    void userErrorIsOneLineWithoutStackTrace() {
        CommandLine cl = withTestCommands();
        assertEquals(1, execute(cl, "fail-user"));
        assertEquals("moco-ref: data/x.safetensors: no tensor 'w' (expected a checkpoint)\n", normalized(err));
    }

    @Test
    void wrappedUserErrorIsStillAUserError() {
        assertEquals(1, execute(withTestCommands(), "fail-wrapped"));
        assertEquals("moco-ref: cannot open runs/: missing\n", normalized(err));
    }

    @Test
    void otherExceptionsAreInternalErrors() {
        assertEquals(3, execute(withTestCommands(), "fail-bug"));
        String text = normalized(err);
        assertTrue(text.startsWith("moco-ref: internal error: java.lang.IllegalStateException: bug"), text);
        if (System.getenv("MOCOREF_DEBUG") == null) {
            assertEquals(1, text.lines().count(), text);
        }
    }

    @Test
    void runReturnsTheExitCodeWithoutExiting() {
        String printed = printedTo(System.out, System::setOut, () -> assertEquals(0, Main.run("--version")));
        assertTrue(printed.startsWith("moco-ref "));
    }

    /** What {@code body} printed to the standard stream {@code redirect} sets; {@code saved} is put back after. */
    private static String printedTo(PrintStream saved, Consumer<PrintStream> redirect, Runnable body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        redirect.accept(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            redirect.accept(saved);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Command(name = "fail-user", hidden = true)
    static final class FailUser implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new MocoRefException("data/x.safetensors: no tensor 'w'\n(expected a checkpoint)");
        }
    }

    @Command(name = "fail-wrapped", hidden = true)
    static final class FailWrapped implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new UncheckedIOException(new IOException("io", new MocoRefException("cannot open runs/: missing")));
        }
    }

    @Command(name = "fail-bug", hidden = true)
    static final class FailBug implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalStateException("bug");
        }
    }

    private static CommandLine withTestCommands() {
        CommandLine cl = Main.commandLine();
        cl.addSubcommand(new FailUser());
        cl.addSubcommand(new FailWrapped());
        cl.addSubcommand(new FailBug());
        return cl;
    }

    private int execute(CommandLine cl, String... args) {
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        int code = cl.execute(args);
        if (System.getenv("MOCOREF_DEBUG") == null) {
            assertFalse(err.toString().contains("\tat "), "stack trace printed:\n" + err);
        }
        return code;
    }

    private static String normalized(StringWriter w) {
        return w.toString().replace("\r\n", "\n");
    }
}
