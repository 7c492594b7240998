package mocoref.opencl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Supplier;
import mocoref.device.Device;
import mocoref.float32.DataParallelChecks;
import org.junit.jupiter.api.Test;

/**
 * The opencl backend spread over two devices: device 0 partitioned into two sub-devices
 * ({@code --cl-devices split:2}), which run concurrently like two GPUs. The generic checks of
 * {@link DataParallelChecks}: golden cases against the expected tensors and one device, replicas
 * bit-identical, uneven eval batches, a G the devices do not divide refused.
 */
class SplitDevicesTest {
    static Supplier<Device> one() {
        OpenClTesting.devices();
        return OpenClSelection.DEFAULT.devices();
    }

    static Supplier<Device> two() {
        OpenClTesting.devices();
        return OpenClSelection.parse("split:2").devices();
    }

    @Test
    void goldenCasesOnTwoSubDevicesMatchExpectedAndOneDevice() throws Exception {
        DataParallelChecks.golden("opencl split:2", one(), two(), 2);
    }

    @Test
    void replicasStayBitIdentical() {
        DataParallelChecks.replicasIdentical(two(), 2);
    }

    @Test
    void evalBatchesTwoDevicesDoNotDivide() {
        DataParallelChecks.unevenEval(one(), two());
    }

    @Test
    void logicalDevicesTheDevicesDoNotDivideAreRefused() {
        String m = DataParallelChecks.notDivisibleMessage(two(), 2);
        assertTrue(m.contains("multiples of 2") && !m.contains("\n"), m);
    }
}
