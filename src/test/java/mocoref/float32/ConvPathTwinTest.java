package mocoref.float32;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.stream.Stream;
import mocoref.MocoRefException;
import mocoref.opencl.ClRuntime;
import mocoref.opencl.OpenClDevice;
import mocoref.testing.Registered;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The opencl device's two convolution paths (tiled products for GPUs, im2col and float16 products
 * for CPU devices) each against the float64 reference Conv2d, with {@link DeviceTwinTest}'s cases
 * and tolerance: the registered device runs only its default path, and CI has only PoCL, so the
 * GPU path is checked here on the CPU.
 */
class ConvPathTwinTest {
    @TestFactory
    Stream<DynamicTest> bothConvolutionPathsMatchTheReference() {
        return Stream.of(OpenClDevice.ConvPath.values()).map(path -> dynamicTest(path.name(), () -> {
            ClRuntime.Target target;
            try {
                target = ClRuntime.target(0);
            } catch (MocoRefException e) {
                if (Registered.ci()) throw new AssertionError("CI=true, so the OpenCL tests must run, but: " + e.getMessage(), e);
                Assumptions.abort("no OpenCL here (" + e.getMessage() + ")");
                return;
            }
            DeviceTwinTest.Twins t = new DeviceTwinTest.Twins("opencl " + path.name().toLowerCase());
            try (OpenClDevice d = new OpenClDevice(target, path)) {
                new DeviceTwinTest().convolutions(d, t);
            }
        }));
    }
}
