package mocoref.opencl;

import java.util.List;
import mocoref.MocoRefException;
import mocoref.testing.Registered;
import org.junit.jupiter.api.Assumptions;

/** Whether this machine runs OpenCL: tests that need it skip with the reason, or fail under CI=true. */
final class OpenClTesting {
    private OpenClTesting() {}

    /** The devices; aborts the calling test (skipped, with the reason) when there are none, fails under CI=true. */
    static List<ClRuntime.DeviceInfo> devices() {
        try {
            return ClRuntime.devices();
        } catch (MocoRefException e) {
            if (Registered.ci()) throw new AssertionError("CI=true, so the OpenCL tests must run, but: " + e.getMessage(), e);
            Assumptions.abort("no OpenCL here (" + e.getMessage() + ")");
            throw e; // not reached
        }
    }
}
