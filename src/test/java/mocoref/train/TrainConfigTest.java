package mocoref.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import mocoref.model.ResNetConfig;
import org.junit.jupiter.api.Test;

/**
 * The schedules training runs on, at known points, against values computed outside this code
 * (Python, from main_moco.py's adjust_learning_rate and BYOL's momentum formula):
 * <pre>
 * cosine:  lr * 0.5 * (1 + cos(pi * epoch / epochs))
 * steps:   lr * 0.1 for each milestone with epoch >= milestone
 * m:       1 - (1 - m) * (1 + cos(pi * step / total)) / 2
 * </pre>
 * Tolerance 1e-15 relative: the same IEEE operations in either language agree to the last bit or two.
 */
class TrainConfigTest {
    static TrainConfig config(double lr, boolean cos, int[] schedule, int epochs, boolean mCos) {
        ResNetConfig model = ResNetConfig.preset("resnet18", 4, 1, ResNetConfig.Stem.CIFAR, 16, true);
        return new TrainConfig(model, 28, 4096, 0.99, 0.1, 2, false, mCos, lr, 0.9, 5e-4, cos, schedule, epochs, 256, "fashion", 0,
                "data", 0, 200, 0.1, new double[] {0.5}, new double[] {0.25});
    }

    static void assertClose(double expected, double actual, String what) {
        assertEquals(expected, actual, 1e-15 * Math.abs(expected), what);
    }

    @Test
    void cosineLearningRate() {
        TrainConfig c = config(0.06, true, new int[] {120, 160}, 200, false);
        assertClose(0.06, c.learningRate(0), "epoch 0");
        assertClose(0.05121320343559642, c.learningRate(50), "epoch 50");
        assertClose(0.03, c.learningRate(100), "epoch 100");
        assertClose(0.008786796564403575, c.learningRate(150), "epoch 150");
        assertClose(3.7010255501823683e-06, c.learningRate(199), "epoch 199");
    }

    @Test
    void stepLearningRateDropsTenfoldAtEachMilestone() {
        TrainConfig c = config(0.03, false, new int[] {120, 160}, 200, false);
        assertClose(0.03, c.learningRate(0), "epoch 0");
        assertClose(0.03, c.learningRate(119), "epoch 119");
        assertClose(0.003, c.learningRate(120), "epoch 120");
        assertClose(0.003, c.learningRate(159), "epoch 159");
        assertClose(0.00030000000000000003, c.learningRate(160), "epoch 160");
        assertClose(0.00030000000000000003, c.learningRate(199), "epoch 199");
    }

    @Test
    void keyEncoderMomentum() {
        TrainConfig ramp = config(0.06, true, new int[0], 200, true);
        assertClose(0.99, ramp.momentumAt(0, 1000), "step 0");
        assertClose(0.9914644660940672, ramp.momentumAt(250, 1000), "step 250");
        assertClose(0.995, ramp.momentumAt(500, 1000), "step 500");
        assertClose(1.0, ramp.momentumAt(1000, 1000), "step 1000");
        TrainConfig constant = config(0.06, true, new int[0], 200, false);
        for (long s : new long[] {0, 250, 999}) assertEquals(0.99, constant.momentumAt(s, 1000), "constant m at step " + s);
    }

    @Test
    void warmupRisesLinearlyByStepThenFollowsTheSchedule() {
        mocoref.model.ResNetConfig model = mocoref.model.ResNetConfig.preset("resnet18", 4, 1, mocoref.model.ResNetConfig.Stem.CIFAR, 8, true);
        TrainConfig c = new TrainConfig(model, 16, 64, 0.99, 0.1, 2, false, false, 0.4, 0.9, 5e-4, true, new int[0], 10, 16, "fashion",
                1, "d", 0, 5, 0.1, new double[] {0}, new double[] {1}).withWarmup(2);
        int spe = 50; // steps per epoch: the warm-up lasts 100 steps
        org.junit.jupiter.api.Assertions.assertEquals(0.4 / 100, c.learningRate(0, spe), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(0.4 * 50 / 100, c.learningRate(49, spe), 1e-15);
        // from step 99 on, the cosine schedule's value of the epoch: epoch 1 is 0.4 * 0.5 * (1 + cos(pi/10))
        org.junit.jupiter.api.Assertions.assertEquals(0.4 * 0.5 * (1 + Math.cos(Math.PI * 1 / 10)), c.learningRate(99, spe), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(0.4 * 0.5 * (1 + Math.cos(Math.PI * 3 / 10)), c.learningRate(170, spe), 1e-15);
        TrainConfig none = c.withWarmup(0);
        org.junit.jupiter.api.Assertions.assertEquals(none.learningRate(0), none.learningRate(0, spe), 0.0);
    }
}
