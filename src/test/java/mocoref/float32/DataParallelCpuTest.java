package mocoref.float32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Supplier;
import mocoref.cpu.CpuDevice;
import mocoref.device.Buffer;
import mocoref.device.DataParallelDevice;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import org.junit.jupiter.api.Test;

/** {@link DataParallelDevice} over two cpu devices: the generic checks of {@link DataParallelChecks}, no OpenCL needed. */
class DataParallelCpuTest {
    static final Supplier<Device> ONE = () -> new CpuDevice(1);
    static final Supplier<Device> TWO = () -> new DataParallelDevice(List.of(new CpuDevice(1), new CpuDevice(1)));

    @Test
    void goldenCasesOnTwoDevicesMatchExpectedAndOneDevice() throws Exception {
        DataParallelChecks.golden("cpu x2", ONE, TWO, 2);
    }

    @Test
    void replicasStayBitIdentical() {
        DataParallelChecks.replicasIdentical(TWO, 2);
    }

    @Test
    void evalBatchesTwoDevicesDoNotDivide() {
        DataParallelChecks.unevenEval(ONE, TWO);
    }

    @Test
    void logicalDevicesTheDevicesDoNotDivideAreRefused() {
        String m = DataParallelChecks.notDivisibleMessage(TWO, 2);
        assertTrue(m.contains("multiples of 2") && m.contains("G = 1") && !m.contains("\n"), m);
    }

    /** A gradient buffer's value is the sum of the devices' shares, read in device order; a write lands on device 0 alone. */
    @Test
    void gradientsAreSummedAcrossDevices() {
        try (DataParallelDevice d = (DataParallelDevice) TWO.get()) {
            Buffer value = d.buffer(9), grad = d.buffer(9);
            d.write(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 0, grad, 0, 9); // a replica's values before it becomes a gradient
            d.conv2d(new Device.ConvShape(1, 1, 3, 1, 1, 2, 4, 4), new ParamRef(value, grad, 0, 9));
            float[] back = new float[9];
            d.read(grad, 0, back, 0, 9);
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, back, "bound as a gradient, the values stay");
            d.devices().get(1).write(new float[] {10, 10}, 0, d.part(grad, 1), 3, 2);
            d.read(grad, 0, back, 0, 9);
            assertArrayEquals(new float[] {1, 2, 3, 14, 15, 6, 7, 8, 9}, back, "device 1's share is added");
            d.fill(grad, 0, 9, 0f);
            d.read(grad, 0, back, 0, 9);
            assertArrayEquals(new float[9], back);
        }
    }
}
