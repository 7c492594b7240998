package mocoref.cli;

import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.golden.GoldenCase;
import mocoref.opencl.OpenClSelection;
import mocoref.registry.Backends;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Which OpenCL devices {@code --backend opencl} runs on, shared by every command that builds a
 * backend: one device ({@code --cl-device N}), or a step spread over several, data parallel
 * ({@code --cl-devices}). A malformed value, or either option with another backend, is a usage
 * error (exit 2) naming the option.
 */
final class OpenClOptions implements CheckedOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--cl-device", paramLabel = "N",
            description = "opencl: run on device N of 'moco-ref devices' (default: 0)")
    Integer device;

    @Option(names = "--cl-devices", paramLabel = "LIST",
            description = "opencl: spread each step over several devices, data parallel: N,M,... | all | split:D "
                    + "(device 0, or --cl-device, partitioned into D equal sub-devices)")
    String devices;

    /** The device options must fit the command's --backend: checked with the other options, before any work. */
    @Override
    public void checkOptions(picocli.CommandLine.ParseResult parsed) {
        picocli.CommandLine.Model.OptionSpec b = mixee.findOption("--backend");
        spec(b == null ? "opencl" : String.valueOf((Object) b.getValue()));
    }

    /** The backend {@code name} on the devices chosen here. */
    Backend backend(String name, int threads) {
        String spec = spec(name);
        if (spec != null) {
            try {
                OpenClSelection.parse(spec).targets(); // a device that is not there is a usage error too
            } catch (IllegalArgumentException e) {
                throw usage((devices != null ? "--cl-devices " + devices : "--cl-device " + device) + ": " + e.getMessage());
            }
        }
        return Backends.byName(name, threads, spec);
    }

    /**
     * The {@link OpenClSelection} spec of these options for backend {@code name}, or null for the
     * default; a usage error when the options do not fit.
     */
    String spec(String name) {
        if (device == null && devices == null) return null;
        if (!"opencl".equals(name)) throw usage((device != null ? "--cl-device" : "--cl-devices") + " applies to --backend opencl only, not " + name);
        if (device != null && device < 0) throw usage("--cl-device must be 0 or more, got " + device);
        if (devices == null) return Integer.toString(device);
        try {
            OpenClSelection.parse(devices);
        } catch (IllegalArgumentException e) {
            throw usage("--cl-devices: " + e.getMessage());
        }
        if (devices.trim().startsWith("split:")) return device == null ? devices.trim() : devices.trim() + "@" + device;
        if (device != null) throw usage("--cl-device " + device + " and --cl-devices " + devices + " both name devices: give one");
        return devices.trim();
    }

    /**
     * Why golden case {@code c} cannot run on the devices chosen here, or null: spread over D
     * devices, its batch and its logical devices must be multiples of D.
     */
    String cannotRun(String name, GoldenCase c) {
        String spec = spec(name);
        if (spec == null) return null;
        int d = OpenClSelection.parse(spec).count();
        int n = c.config().batch(), g = c.config().devices();
        if (d > 1 && (n % d != 0 || g % d != 0)) {
            return "its batch (" + n + ") and logical devices (G = " + g + ") are not both multiples of the " + d + " OpenCL devices";
        }
        return null;
    }

    private RuntimeException usage(String message) {
        CommandLine cl = commandLine(mixee);
        return cl != null ? new ParameterException(cl, message) : new MocoRefException(message);
    }

    /** The command line of the command these options end up in (they may sit in another mixin). */
    private static CommandLine commandLine(CommandSpec spec) {
        for (CommandSpec s = spec; s != null; s = s.parent()) if (s.commandLine() != null) return s.commandLine();
        return null;
    }
}
