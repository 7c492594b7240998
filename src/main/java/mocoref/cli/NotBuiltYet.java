package mocoref.cli;

import picocli.CommandLine.Model.CommandSpec;

/** What a subcommand does until its step of the plan is built: says so and exits 2. */
final class NotBuiltYet {
    private NotBuiltYet() {}

    static int report(CommandSpec spec, int step) {
        spec.commandLine().getErr().println("moco-ref " + spec.name() + ": not built yet (step " + step + " of the plan)");
        spec.commandLine().getErr().flush();
        return Main.EXIT_USAGE;
    }
}
