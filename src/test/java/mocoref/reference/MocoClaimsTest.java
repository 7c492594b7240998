package mocoref.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import mocoref.MocoRefException;
import mocoref.backend.ImageBatch;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.model.FreshState;
import mocoref.golden.GoldenReport;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The paper's and the official code's claims about the MoCo step, stated as executable checks on
 * the reference backend. Each test's name is the claim.
 */
class MocoClaimsTest {
    static final ResNetConfig TINY = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1,
            ResNetConfig.Stem.CIFAR, 8, false);

    static MocoConfig config(int devices, int k, double m, int batch, boolean symmetric) {
        return new MocoConfig(TINY, k, m, 0.07, devices, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, symmetric,
                0.03, 0.9, 1e-4, batch, new int[] {1, 12, 12});
    }

    static ReferenceMoCo fresh(MocoConfig c, long seed) {
        return new ReferenceMoCo(c, FreshState.of(c, seed), "test");
    }

    static Tensor images(Random rng, int n) {
        return GradCheck.randn(rng, n, 1, 12, 12);
    }

    static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        return p;
    }

    /** Deals rows to devices round-robin, so every device's chunk mixes rows of all identity chunks. */
    static int[] interleaved(int n, int devices) {
        int[] p = new int[n];
        int per = n / devices, i = 0;
        for (int r = 0; r < per; r++) for (int g = 0; g < devices; g++) p[i++] = g * per + r;
        return p;
    }

    static int[] reversed(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = n - 1 - i;
        return p;
    }

    /** The keys a step enqueued: the queue's columns ptr .. ptr+n-1, one row per key. */
    static double[] enqueued(ReferenceMoCo moco, int ptr, int n) {
        int dim = moco.queue.size(0), k = moco.queue.size(1);
        double[] keys = new double[n * dim];
        for (int i = 0; i < n; i++) for (int c = 0; c < dim; c++) keys[i * dim + c] = moco.queue.data[c * k + ptr + i];
        return keys;
    }

    static double[] keysWithShuffle(int devices, int[] shuffle) {
        MocoConfig c = config(devices, 16, 0.99, 8, false);
        ReferenceMoCo moco = fresh(c, 3);
        Random rng = new Random(4);
        moco.step(new StepInput(ImageBatch.of(images(rng, 8)), ImageBatch.of(images(rng, 8)), shuffle, null, 0.99, 0.03, false));
        return enqueued(moco, 0, 8);
    }

    @Test
    void withOneDeviceShufflingTheKeysChangesNothing() {
        // BatchNorm over one device sees the same set of samples in any order
        double err = GoldenReport.relativeError(keysWithShuffle(1, reversed(8)), keysWithShuffle(1, identity(8)));
        assertTrue(err < 1e-13, "keys moved by " + err);
    }

    @Test
    void withTwoOrMoreDevicesShufflingChangesTheKeys() {
        // each device normalizes a different subset, so the batch statistics a key sees change
        for (int g : new int[] {2, 4}) {
            double err = GoldenReport.relativeError(keysWithShuffle(g, interleaved(8, g)), keysWithShuffle(g, identity(8)));
            assertTrue(err > 1e-3, "G=" + g + ": keys changed only by " + err);
        }
    }

    @Test
    void lossAtInitializationOnRandomDataIsCloseToLnKPlusOne() {
        // A randomly initialized encoder maps all inputs to nearby directions, so once the queue
        // holds its keys (after K/N steps; lr 0 keeps the encoder at its initialization), the
        // positive logit looks like the K negatives and InfoNCE is a uniform (K+1)-way guess.
        int k = 128, n = 16;
        MocoConfig c = new MocoConfig(new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1,
                ResNetConfig.Stem.CIFAR, 32, true), k, 0.99, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.0, 0.9, 1e-4, n, new int[] {1, 12, 12});
        ReferenceMoCo moco = fresh(c, 5);
        Random rng = new Random(6);
        StepResult r = null;
        for (int s = 0; s <= k / n; s++) {
            r = moco.step(new StepInput(ImageBatch.of(GradCheck.randn(rng, n, 1, 12, 12)), ImageBatch.of(GradCheck.randn(rng, n, 1, 12, 12)),
                    interleaved(n, 2), null, 0.99, 0.0, false));
        }
        double lnK1 = Math.log(k + 1);
        assertTrue(Math.abs(r.loss() - lnK1) < 0.02 * lnK1, "loss " + r.loss() + " vs ln(K+1) = " + lnK1);
    }

    static Map<String, double[]> copyOfParameters(ResNet net) {
        Map<String, double[]> copy = new java.util.LinkedHashMap<>();
        net.parameters().forEach((name, p) -> copy.put(name, p.value.data.clone()));
        return copy;
    }

    @Test
    void withMomentumZeroTheKeyEncoderBecomesTheQueryEncoder() {
        MocoConfig c = config(2, 16, 0.0, 8, false);
        ReferenceMoCo moco = fresh(c, 7);
        // make encoder_k differ from encoder_q first, so the copy is not a coincidence
        for (Param p : moco.encoderK.parameters().values()) for (int i = 0; i < p.value.numel(); i++) p.value.data[i] += 0.5;
        Map<String, double[]> before = copyOfParameters(moco.encoderQ);
        Random rng = new Random(8);
        moco.step(new StepInput(ImageBatch.of(images(rng, 8)), ImageBatch.of(images(rng, 8)), identity(8), null, 0.0, 0.03, false));
        // theta_k = 0*theta_k + 1*theta_q, with theta_q as it was before this step's SGD update
        moco.encoderK.parameters().forEach((name, p) -> assertArrayEquals(before.get(name), p.value.data, 0.0, name));
    }

    @Test
    void withMomentumOneTheKeyEncoderNeverMoves() {
        MocoConfig c = config(2, 16, 1.0, 8, false);
        ReferenceMoCo moco = fresh(c, 9);
        Map<String, double[]> before = copyOfParameters(moco.encoderK);
        Random rng = new Random(10);
        for (int s = 0; s < 3; s++) moco.step(new StepInput(ImageBatch.of(images(rng, 8)), ImageBatch.of(images(rng, 8)), identity(8), null, 1.0, 0.03, false));
        moco.encoderK.parameters().forEach((name, p) -> assertArrayEquals(before.get(name), p.value.data, 0.0, name));
    }

    @Test
    void queuePointerAdvancesByTheBatchAndWrapsAroundAtK() {
        MocoConfig c = config(2, 24, 0.99, 8, false);
        ReferenceMoCo moco = fresh(c, 11);
        Random rng = new Random(12);
        long[] expected = {8, 16, 0, 8, 16};
        for (long ptr : expected) {
            moco.step(new StepInput(ImageBatch.of(images(rng, 8)), ImageBatch.of(images(rng, 8)), reversed(8), null, 0.99, 0.03, false));
            assertEquals(ptr, moco.queuePtr);
        }
        MocoConfig sym = config(2, 32, 0.99, 8, true);
        ReferenceMoCo moco2 = fresh(sym, 13);
        for (long ptr : new long[] {16, 0, 16}) { // 2N keys per step with the symmetric loss
            moco2.step(new StepInput(ImageBatch.of(images(rng, 8)), ImageBatch.of(images(rng, 8)), reversed(8), identity(8), 0.99, 0.03, false));
            assertEquals(ptr, moco2.queuePtr);
        }
    }

    @Test
    void logitsUseTheQueueFromBeforeThisStepsEnqueue() {
        MocoConfig c = config(2, 16, 0.99, 8, false);
        ReferenceMoCo moco = fresh(c, 14);
        Random rng = new Random(15);
        moco.step(new StepInput(ImageBatch.of(images(rng, 8)), ImageBatch.of(images(rng, 8)), identity(8), null, 0.99, 0.03, false)); // ptr -> 8
        Tensor queueBefore = moco.queue.copy();
        // q as this step computes it: encoder_q in training mode over G devices, normalized
        ResNet encoderQ = new ResNet(TINY);
        encoderQ.loadStateDict(moco.encoderQ.stateDict("")::get, "", "copy");
        Tensor imQ = images(rng, 8);
        Tensor q = new L2Normalize().forward(encoderQ.forward(imQ, 2));
        StepResult r = moco.step(new StepInput(ImageBatch.of(imQ), ImageBatch.of(images(rng, 8)), reversed(8), null, 0.99, 0.03, true));
        double[] logits = r.logits().toDoubles();
        int dim = 8, k = 16;
        double worst = 0;
        for (int n = 0; n < 8; n++) {
            for (int j = 0; j < k; j++) {
                double dot = 0;
                for (int d = 0; d < dim; d++) dot += q.data[n * dim + d] * queueBefore.data[d * k + j];
                worst = Math.max(worst, Math.abs(dot / 0.07 - logits[n * (1 + k) + 1 + j]));
            }
            // the positive key of row n is what this step enqueued in column ptr + n (ptr was 8)
            double pos = 0;
            for (int d = 0; d < dim; d++) pos += q.data[n * dim + d] * moco.queue.data[d * k + 8 + n];
            worst = Math.max(worst, Math.abs(pos / 0.07 - logits[n * (1 + k)]));
        }
        assertTrue(worst < 1e-12, "logits differ from the pre-enqueue queue by " + worst);
        assertEquals(0, moco.queuePtr);
    }

    @Test
    void queueNotAMultipleOfTheBatchIsRefusedNamingBothNumbers() {
        MocoRefException e = assertThrows(MocoRefException.class, () -> config(2, 20, 0.99, 8, false).validate());
        assertTrue(e.getMessage().contains("K = 20") && e.getMessage().contains("8"), e.getMessage());
        MocoRefException sym = assertThrows(MocoRefException.class, () -> config(2, 24, 0.99, 8, true).validate());
        assertTrue(sym.getMessage().contains("K = 24") && sym.getMessage().contains("16"), sym.getMessage());
    }

    @Test
    void batchNotDivisibleByTheDevicesIsRefusedNamingBothNumbers() {
        MocoRefException e = assertThrows(MocoRefException.class, () -> config(3, 16, 0.99, 8, false).validate());
        assertTrue(e.getMessage().contains("8") && e.getMessage().contains("3 devices"), e.getMessage());
    }
}
