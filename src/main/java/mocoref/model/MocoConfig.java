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
 * @param mechanism    where the keys come from: MoCo's queue and momentum encoder, the current
 *                     batch encoded with gradients (end-to-end), or a memory bank (the paper's Fig. 2)
 * @param shuffleBn    whether keys are shuffled across the logical devices before their BatchNorm
 *                     (off: the "cheating" setting of the paper's shuffle-BN ablation)
 */
public record MocoConfig(
        ResNetConfig model,
        int K, double m, double T, int devices,
        MomentumSchedule mSchedule, long totalSteps, long stepOffset, boolean symmetric,
        double lr, double momentum, double weightDecay,
        int batch, int[] image, Mechanism mechanism, boolean shuffleBn) {

    /** MoCo with shuffled BatchNorm: the official code's setting. */
    public MocoConfig(ResNetConfig model, int K, double m, double T, int devices, MomentumSchedule mSchedule, long totalSteps,
                      long stepOffset, boolean symmetric, double lr, double momentum, double weightDecay, int batch, int[] image) {
        this(model, K, m, T, devices, mSchedule, totalSteps, stepOffset, symmetric, lr, momentum, weightDecay, batch, image,
                Mechanism.MOCO, true);
    }

    /** This configuration with another mechanism and shuffle-BN setting. */
    public MocoConfig with(Mechanism mechanism, boolean shuffleBn) {
        return new MocoConfig(model, K, m, T, devices, mSchedule, totalSteps, stepOffset, symmetric, lr, momentum, weightDecay,
                batch, image, mechanism, shuffleBn);
    }

    /**
     * The three ways of building the dictionary that the paper compares (its Fig. 2):
     * <ul>
     * <li>{@code MOCO}: a queue of keys from earlier batches, encoded by a momentum copy of encoder_q;</li>
     * <li>{@code END_TO_END}: the keys are the current batch's other view, encoded by encoder_q itself
     *     with gradients; each query's negatives are the batch's other keys (K = batch - 1);</li>
     * <li>{@code MEMORY_BANK}: one stored representation per training image; a query's positive is
     *     its own image's entry, its negatives K entries drawn at random, and the batch's entries
     *     move toward the new queries afterwards (Wu et al. 2018); no key encoder.</li>
     * </ul>
     */
    public enum Mechanism {
        MOCO, END_TO_END, MEMORY_BANK;

        public static Mechanism parse(String s) {
            return switch (s) {
                case "moco" -> MOCO;
                case "end-to-end" -> END_TO_END;
                case "memory-bank" -> MEMORY_BANK;
                default -> throw new MocoRefException("unknown mechanism '" + s + "' (expected moco, end-to-end or memory-bank)");
            };
        }

        public String id() {
            return name().toLowerCase().replace('_', '-');
        }
    }

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
        if (mechanism == null) throw new MocoRefException("mechanism must be given");
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
        switch (mechanism) {
            case MOCO -> {
                if (K < 1 || K % keysPerStep != 0) {
                    throw new MocoRefException("queue length K = " + K + " is not a multiple of the " + keysPerStep
                            + " keys enqueued per step (" + (symmetric ? "2 x batch " + batch + ", symmetric loss" : "batch " + batch)
                            + "): the official dequeue_and_enqueue asserts K % batch_size == 0");
                }
            }
            case END_TO_END -> {
                if (K != batch - 1 || K < 1) {
                    throw new MocoRefException("end-to-end's dictionary is the batch: K must be batch - 1 = " + (batch - 1) + ", got " + K);
                }
            }
            case MEMORY_BANK -> {
                if (K < 1) throw new MocoRefException("the memory bank needs K >= 1 negatives, got " + K);
                if (symmetric) throw new MocoRefException("the memory bank has no second view's keys: the symmetric loss needs moco or end-to-end");
            }
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

    /** Keys enqueued per step (MoCo's queue). */
    public int keysPerStep() {
        return symmetric ? 2 * batch : batch;
    }
}
