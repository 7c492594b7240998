package mocoref.model;

import mocoref.MocoRefException;

/**
 * Everything that fixes what a MoCo step computes: the encoder, MoCo's own settings, the optimizer
 * and the batch. Mirrors the golden-case spec's {@code case.json}; {@link #validate} refuses
 * combinations the official code cannot run, naming the numbers that disagree.
 *
 * @param K            queue length (number of negative keys)
 * @param m            momentum of the key encoder (its value at the end of a cosine schedule's ramp: the base)
 * @param T            softmax temperature
 * @param devices      G, the number of logical devices BatchNorm is split over (shuffle BN)
 * @param mSchedule    constant m, or BYOL's cosine ramp from m to 1
 * @param totalSteps   length of the cosine ramp (steps); 0 for a constant m
 * @param stepOffset   steps taken before the state this run starts from
 * @param symmetric    the CIFAR demo's symmetric loss L(q1,k2) + L(q2,k1)
 * @param image        [C, H, W] of an input image
 */
public record MocoConfig(
        ResNetConfig model,
        int K, double m, double T, int devices,
        MomentumSchedule mSchedule, long totalSteps, long stepOffset, boolean symmetric,
        double lr, double momentum, double weightDecay,
        int batch, int[] image) {

    public enum MomentumSchedule {
        CONSTANT, COSINE;

        public static MomentumSchedule parse(String s) {
            return switch (s) {
                case "constant" -> CONSTANT;
                case "cosine" -> COSINE;
                default -> throw new MocoRefException("unknown m_schedule '" + s + "' (expected constant or cosine)");
            };
        }

        public String id() {
            return name().toLowerCase();
        }
    }

    public MocoConfig {
        image = image.clone();
    }

    /** Refuses a configuration whose numbers disagree, saying which. Returns this for chaining. */
    public MocoConfig validate() {
        if (batch < 1) throw new MocoRefException("batch size must be positive, got " + batch);
        if (devices < 1) throw new MocoRefException("devices (G) must be positive, got " + devices);
        if (batch % devices != 0) {
            throw new MocoRefException("batch size " + batch + " is not divisible by the " + devices
                    + " devices (G): each logical device needs the same number of samples");
        }
        int keysPerStep = symmetric ? 2 * batch : batch;
        if (K < 1 || K % keysPerStep != 0) {
            throw new MocoRefException("queue length K = " + K + " is not a multiple of the " + keysPerStep
                    + " keys enqueued per step (" + (symmetric ? "2 x batch " + batch + ", symmetric loss" : "batch " + batch)
                    + "): the official dequeue_and_enqueue asserts K % batch_size == 0");
        }
        if (image.length != 3) throw new MocoRefException("image must be [C, H, W]");
        if (image[0] != model.inChannels()) {
            throw new MocoRefException("images have " + image[0] + " channels but the model's in_channels is " + model.inChannels());
        }
        if (!(T > 0)) throw new MocoRefException("temperature T must be positive, got " + T);
        if (!(m >= 0 && m <= 1)) throw new MocoRefException("momentum m must be in [0, 1], got " + m);
        if (mSchedule == MomentumSchedule.COSINE && totalSteps < 1) {
            throw new MocoRefException("the cosine momentum schedule needs total_steps >= 1, got " + totalSteps);
        }
        return this;
    }

    /** The key encoder's momentum at step {@code s} of this run (s counts from 0). */
    public double momentumAt(long s) {
        if (mSchedule == MomentumSchedule.CONSTANT) return m;
        double progress = (double) (s + stepOffset) / totalSteps;
        return 1 - (1 - m) * (1 + Math.cos(Math.PI * progress)) / 2;
    }

    /** Keys enqueued per step. */
    public int keysPerStep() {
        return symmetric ? 2 * batch : batch;
    }
}
