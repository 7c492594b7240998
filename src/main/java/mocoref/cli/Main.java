package mocoref.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/** The {@code moco-ref} command line: the top command, its subcommands and the exit-code policy. */
@Command(
        name = "moco-ref",
        mixinStandardHelpOptions = true,
        // Inherited so that every subcommand also answers --help and --version.
        scope = ScopeType.INHERIT,
        versionProvider = ProjectVersion.class,
        description = "A pure-JVM reference implementation of MoCo (Momentum Contrast).",
        subcommands = {
            TrainCommand.class,
            KnnCommand.class,
            LinclsCommand.class,
            FeaturesCommand.class,
            GoldenCommand.class,
            BenchCommand.class,
            DevicesCommand.class,
            ExportCommand.class,
            PlotCommand.class,
            AblateCommand.class,
        })
public final class Main implements Callable<Integer> {
    /** Bad input: a MocoRefException's message, one line. */
    static final int EXIT_USER_ERROR = 1;
    /** Bad command line, or a command not built yet. */
    static final int EXIT_USAGE = 2;
    /** A bug: any other exception. */
    static final int EXIT_INTERNAL = 3;

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code, without exiting. */
    public static int run(String... args) {
        try {
            return commandLine().execute(args);
        } catch (Throwable t) {
            // picocli hands only Exceptions to the handler; Errors (a StackOverflowError, say) land here.
            PrintWriter err = new PrintWriter(System.err, true);
            return t instanceof OutOfMemoryError ? outOfMemory(err) : internalError(t, err);
        }
    }

    /** Not a bug: the model and batch need more heap than the JVM was given. */
    private static int outOfMemory(PrintWriter err) {
        err.println("moco-ref: out of memory: the Java heap (at most " + Runtime.getRuntime().maxMemory() / (1 << 20)
                + " MiB) is too small for this model and batch; allow more with MOCOREF_JAVA_OPTS=-Xmx<size> or use a smaller --batch-size");
        err.flush();
        return EXIT_USER_ERROR;
    }

    /** The configured command line; tests add their own subcommands to it. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler(Main::usageError);
        cl.setExecutionExceptionHandler(Main::executionError);
        return cl;
    }

    /** Without a subcommand there is nothing to do: show what there is. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return EXIT_USAGE;
    }

    private static int usageError(ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        err.println(cl.getColorScheme().errorText(e.getMessage()));
        UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try '" + cl.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return EXIT_USAGE;
    }

    private static int executionError(Exception e, CommandLine cl, ParseResult parsed) {
        PrintWriter err = cl.getErr();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MocoRefException) {
                // The message is written for the user; a stack trace would only bury it.
                err.println("moco-ref: " + oneLine(t.getMessage()));
                err.flush();
                return EXIT_USER_ERROR;
            }
            if (t instanceof OutOfMemoryError) return outOfMemory(err);
        }
        return internalError(e, err);
    }

    private static int internalError(Throwable t, PrintWriter err) {
        err.println("moco-ref: internal error: " + oneLine(String.valueOf(t)));
        if (System.getenv("MOCOREF_DEBUG") != null) t.printStackTrace(err);
        err.flush();
        return EXIT_INTERNAL;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\R+", " ");
    }
}
