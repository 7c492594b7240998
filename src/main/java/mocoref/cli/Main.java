package mocoref.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
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
    /** Bad input, a file or folder: a MocoRefException's message, one line. */
    static final int EXIT_USER_ERROR = 1;
    /** Bad command line (an unknown option, a value out of its range, options that contradict each other), or a command not built yet. */
    static final int EXIT_USAGE = 2;
    /** A bug: any other exception. */
    static final int EXIT_INTERNAL = 3;

    @Spec
    CommandSpec spec;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "on an error, print its stack trace too")
    boolean verbose;

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
            return t instanceof OutOfMemoryError ? outOfMemory(err) : internalError(t, err, false);
        }
    }

    /** Not a bug: the model and batch need more heap than the JVM was given. */
    private static int outOfMemory(PrintWriter err) {
        long machine = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        err.println("moco-ref: out of memory: the Java heap (at most " + Runtime.getRuntime().maxMemory() / (1 << 20)
                + " MiB; this machine has " + machine / (1 << 20) + " MiB) is too small for this model and batch; use a smaller "
                + "--batch-size or --width, or allow more with MOCOREF_JAVA_OPTS=-Xmx<size>");
        err.flush();
        return EXIT_USER_ERROR;
    }

    /** The configured command line; tests add their own subcommands to it. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler(Main::usageError);
        cl.setExecutionExceptionHandler(Main::executionError);
        cl.setExecutionStrategy(Main::checkThenRun);
        return cl;
    }

    /** Without a subcommand there is nothing to do: show what there is. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return EXIT_USAGE;
    }

    /**
     * Every option of the command about to run is checked before it runs: its mixins' and its own
     * {@link CheckedOptions#checkOptions}, so that a wrong value costs no data loading or model building.
     */
    private static int checkThenRun(ParseResult parsed) {
        Integer help = CommandLine.executeHelpRequest(parsed);
        if (help != null) return help;
        ParseResult leaf = parsed;
        while (leaf.subcommand() != null) leaf = leaf.subcommand();
        CommandSpec spec = leaf.commandSpec();
        try {
            if (spec.userObject() instanceof TrainCommand train) train.applyPreset(leaf); // its values are then checked as if given
            for (CommandSpec mixin : spec.mixins().values()) {
                if (mixin.userObject() instanceof CheckedOptions c) c.checkOptions(leaf);
            }
            if (spec.userObject() instanceof CheckedOptions c) c.checkOptions(leaf);
        } catch (OptionException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        return new CommandLine.RunLast().execute(parsed);
    }

    /** A wrong command line: one line naming the option, with picocli's suggestions folded in; exit 2. */
    private static int usageError(ParameterException e, String[] args) {
        String message = oneLine(e.getMessage());
        if (e instanceof UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            message += " (did you mean " + String.join(" or ", u.getSuggestions()) + "?)";
        }
        return usageLine(e.getCommandLine(), message, e);
    }

    /** "moco-ref CMD: message; see 'moco-ref CMD --help'", and the stack trace with --verbose. */
    private static int usageLine(CommandLine cl, String message, Throwable e) {
        PrintWriter err = cl.getErr();
        String name = cl.getCommandSpec().qualifiedName();
        err.println(cl.getColorScheme().errorText(name + ": " + message + "; see '" + name + " --help'"));
        if (verbose(cl)) e.printStackTrace(err);
        err.flush();
        return EXIT_USAGE;
    }

    private static int executionError(Exception e, CommandLine cl, ParseResult parsed) {
        PrintWriter err = cl.getErr();
        for (Throwable t = e; t != null; t = t.getCause()) {
            // Found wrong only once the command could look at a file (the checkpoint --resume names, say).
            if (t instanceof OptionException) return usageLine(cl, oneLine(t.getMessage()), e);
            if (t instanceof MocoRefException) {
                // The message is written for the user; a stack trace would only bury it.
                err.println("moco-ref: " + oneLine(t.getMessage()));
                if (verbose(cl)) e.printStackTrace(err);
                err.flush();
                return EXIT_USER_ERROR;
            }
            if (t instanceof OutOfMemoryError) return outOfMemory(err);
        }
        return internalError(e, err, verbose(cl));
    }

    /** Whether {@code --verbose} was given (to the top command or any subcommand: it is inherited). */
    private static boolean verbose(CommandLine cl) {
        return cl.getCommandSpec().root().userObject() instanceof Main m && m.verbose;
    }

    private static int internalError(Throwable t, PrintWriter err, boolean verbose) {
        err.println("moco-ref: internal error: " + oneLine(String.valueOf(t)));
        if (verbose || System.getenv("MOCOREF_DEBUG") != null) t.printStackTrace(err);
        err.flush();
        return EXIT_INTERNAL;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\R+", " ");
    }
}
