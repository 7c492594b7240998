package mocoref.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import mocoref.opencl.ClRuntime;
import mocoref.opencl.KernelTwins;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref devices}: the OpenCL platforms and devices {@code --backend opencl} can use, and a
 * self-test of every kernel on each (against its cpu twin, on small odd shapes); exit 0 when all
 * pass, 1 when one fails or there is no OpenCL.
 */
@Command(name = "devices", description = "List OpenCL devices and self-test every kernel on each.")
public final class DevicesCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--self-test", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "run every kernel against its cpu twin on each device (--no-self-test: only list; default: ${DEFAULT-VALUE})")
    boolean selfTest;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<ClRuntime.DeviceInfo> devices = ClRuntime.devices();
        String platform = null;
        int failed = 0;
        for (ClRuntime.DeviceInfo d : devices) {
            if (!d.platformName().equals(platform)) {
                platform = d.platformName();
                out.println("platform: " + platform + " (" + ClRuntime.platformVersion(d) + ")");
            }
            out.printf("  device %d: %s%n    %s, %d compute units, %.1f GiB, %s%n", d.index(), d.name(), d.type(), d.computeUnits(),
                    d.globalMemory() / (double) (1L << 30), d.version());
            out.flush();
            if (!selfTest) continue;
            ClRuntime.Target t = ClRuntime.target(d.index());
            out.printf("    program: %d sources built in %.2f s (%s)%n", ClRuntime.SOURCES.size(), t.program().buildSeconds(), t.program().options());
            KernelTwins.SelfTest r = KernelTwins.selfTest(t);
            if (r.passed()) {
                out.printf("    self-test: passed: %d kernels match their cpu twins (worst error %.2f of the tolerance 1e-5 + 1e-4 |cpu|), %.1f s%n",
                        r.kernels(), r.worst(), r.seconds());
            } else {
                failed++;
                out.println("    self-test: FAILED: " + r.failure());
            }
            out.flush();
        }
        if (selfTest) out.println(failed == 0 ? "all " + devices.size() + " devices passed" : failed + " of " + devices.size() + " devices failed");
        out.flush();
        return failed == 0 ? 0 : Main.EXIT_USER_ERROR;
    }
}
