package mocoref.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import mocoref.MocoRefException;
import mocoref.registry.Backends;
import mocoref.testing.Registered;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Finding devices, building the program, and the errors a user sees when OpenCL does not work. */
class ClRuntimeTest {
    /** The registry's opencl backend starts here; where it cannot (no OpenCL), this test is skipped with the reason, and fails under CI=true. */
    @Test
    void theOpenclBackendStarts() {
        String why = Registered.unavailable().get("opencl");
        if (why != null) {
            if (Registered.ci()) throw new AssertionError("CI=true, so the opencl backend must start, but: " + why);
            Assumptions.abort("the opencl backend cannot start here: " + why);
        }
        assertTrue(Backends.byName("opencl", 1).describe().startsWith("opencl: "));
    }

    @Test
    void devicesAreListedAndTheProgramIsBuiltOncePerContext() {
        List<ClRuntime.DeviceInfo> all = OpenClTesting.devices();
        assertFalse(all.isEmpty());
        ClRuntime.DeviceInfo d = all.get(0);
        assertTrue(d.computeUnits() > 0 && d.globalMemory() > 0 && !d.name().isBlank() && d.version().startsWith("OpenCL"), d.describe());
        ClRuntime.Target a = ClRuntime.target(0), b = ClRuntime.target(0);
        assertTrue(a.program() == b.program(), "the program is cached per context");
        assertTrue(a.program().buildSeconds() >= 0);
    }

    /** A kernel that does not compile is a one-line error with the compiler's log. */
    @Test
    void aBuildFailureReportsTheBuildLogOnOneLine() {
        OpenClTesting.devices();
        ClRuntime.Target t = ClRuntime.target(0);
        MocoRefException e = assertThrows(MocoRefException.class, () -> ClRuntime.build(t.program().context(), List.of(t.device()),
                "__kernel void broken(__global float* x) { x[0] = undeclared_name; }", "", "broken.cl"));
        assertTrue(e.getMessage().contains("building broken.cl failed") && e.getMessage().contains("undeclared_name"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void selectionsAreCheckedBeforeOpenclIsTouched() {
        assertEquals("0", OpenClSelection.parse(null).spec());
        assertEquals("split:2@1", OpenClSelection.parse("split:2@1").spec());
        for (String bad : List.of("", "x", "1,", "split:", "split:1", "all,0", "-1")) {
            assertThrows(IllegalArgumentException.class, () -> OpenClSelection.parse(bad), bad);
        }
        OpenClTesting.devices();
        MocoRefException e = assertThrows(MocoRefException.class, () -> Backends.byName("opencl", 1, "99"));
        assertTrue(e.getMessage().contains("no OpenCL device 99") && e.getMessage().contains("found"), e.getMessage());
    }
}
