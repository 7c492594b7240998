package mocoref.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import mocoref.MocoRefException;
import mocoref.backend.ImageBatch;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.io.StoredTensor;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.model.MocoConfig.Mechanism;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The exact arithmetic of the two mechanisms the paper compares MoCo with (its Fig. 2) and of
 * the shuffle-BN ablation, on the reference backend, each recomputed here from the layers alone
 * (the committed golden cases check the same steps against PyTorch). Each test's name is the claim.
 */
class MechanismClaimsTest {
    static final ResNetConfig TINY = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1,
            ResNetConfig.Stem.CIFAR, 8, false);
    static final int N = 8, DIM = 8;
    static final double T = 0.1;

    static MocoConfig config(Mechanism mechanism, int k, boolean shuffleBn) {
        return new MocoConfig(TINY, k, 0.99, T, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.03, 0.9, 1e-4, N, new int[] {1, 12, 12}, mechanism, shuffleBn);
    }

    static Tensor images(Random rng) {
        return GradCheck.randn(rng, N, 1, 12, 12);
    }

    static double dot(Tensor a, int i, Tensor b, int j) {
        double s = 0;
        for (int c = 0; c < DIM; c++) s += a.data[i * DIM + c] * b.data[j * DIM + c];
        return s;
    }

    /** encoder_q's normalized output in training mode over {@code groups} devices, on a copy of its state. */
    static Tensor encode(ReferenceMoCo moco, Tensor images, int groups) {
        ResNet copy = new ResNet(TINY);
        copy.loadStateDict(moco.encoderQ.stateDict("")::get, "", "copy");
        return new L2Normalize().forward(copy.forward(images, groups));
    }

    @Test
    void endToEndScoresEachQueryAgainstItsOwnKeyThenTheBatchsOtherKeys() {
        MocoConfig c = config(Mechanism.END_TO_END, N - 1, true);
        ReferenceMoCo moco = new ReferenceMoCo(c, FreshState.of(c, 1), "test");
        Random rng = new Random(2);
        Tensor imQ = images(rng), imK = images(rng);
        int[] idx = {3, 0, 6, 1, 7, 2, 5, 4};
        // queries and shuffled keys as 2G = 4 devices of 2 images; keys unshuffled afterwards
        Tensor both = encode(moco, ReferenceMoCo.concatRows(imQ, ReferenceMoCo.batchShuffle(imK, idx)), 4);
        Tensor q = ReferenceMoCo.rows(both, 0, N), k = ReferenceMoCo.batchUnshuffle(ReferenceMoCo.rows(both, N, N), idx);
        StepResult r = moco.step(new StepInput(ImageBatch.of(imQ), ImageBatch.of(imK), idx, null, 0.99, 0.03, true));
        double[] logits = r.logits().toDoubles();
        assertEquals(N * N, logits.length, "K = batch - 1 negatives: [N, N] logits");
        double worst = 0, loss = 0;
        for (int i = 0; i < N; i++) {
            int col = 0;
            worst = Math.max(worst, Math.abs(dot(q, i, k, i) / T - logits[i * N + col++]));
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < N; j++) {
                if (j == i) continue;
                worst = Math.max(worst, Math.abs(dot(q, i, k, j) / T - logits[i * N + col++]));
            }
            for (int j = 0; j < N; j++) max = Math.max(max, logits[i * N + j]);
            double sum = 0;
            for (int j = 0; j < N; j++) sum += Math.exp(logits[i * N + j] - max);
            loss += max + Math.log(sum) - logits[i * N];
        }
        assertTrue(worst < 1e-12, "logits differ by " + worst);
        assertEquals(loss / N, r.loss(), 1e-12);
        assertFalse(moco.state().containsKey("queue") || moco.state().containsKey("encoder_k.conv1.weight"),
                "end-to-end keeps no queue and no key encoder");
    }

    @Test
    void endToEndSendsTheGradientThroughTheKeysToo() {
        // with lr 0, momentum 0 and wd 0 the momentum buffer is the gradient; compare it with a
        // central difference of the loss along the gradient: the loss depends on encoder_q through
        // the keys as well, so a gradient that stopped at the keys would miss part of it
        MocoConfig c = new MocoConfig(TINY, N - 1, 0.99, T, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.0, 0.0, 0.0, N, new int[] {1, 12, 12}, Mechanism.END_TO_END, true);
        Map<String, StoredTensor> init = FreshState.of(c, 3);
        Random rng = new Random(4);
        StepInput in = new StepInput(ImageBatch.of(images(rng)), ImageBatch.of(images(rng)), new int[] {1, 0, 3, 2, 5, 4, 7, 6},
                null, 0.99, 0.0, false);
        ReferenceMoCo moco = new ReferenceMoCo(c, init, "test");
        moco.step(in);
        Map<String, StoredTensor> state = moco.state();
        double h = 1e-6, norm = 0;
        Map<String, StoredTensor> plus = new java.util.LinkedHashMap<>(init), minus = new java.util.LinkedHashMap<>(init);
        for (String name : init.keySet()) {
            StoredTensor g = state.get("optimizer." + name + ".momentum_buffer");
            if (g == null) continue;
            for (double v : g.toDoubles()) norm += v * v;
        }
        norm = Math.sqrt(norm);
        for (String name : init.keySet()) {
            StoredTensor g = state.get("optimizer." + name + ".momentum_buffer");
            if (g == null) continue;
            double[] p = init.get(name).toDoubles(), m = p.clone(), gv = g.toDoubles();
            for (int i = 0; i < p.length; i++) {
                p[i] += h * gv[i] / norm;
                m[i] -= h * gv[i] / norm;
            }
            plus.put(name, StoredTensor.f64(p, init.get(name).shape()));
            minus.put(name, StoredTensor.f64(m, init.get(name).shape()));
        }
        double fd = (new ReferenceMoCo(c, plus, "+").step(in).loss() - new ReferenceMoCo(c, minus, "-").step(in).loss()) / (2 * h);
        assertEquals(norm, fd, 1e-6 * norm, "the loss's slope along the gradient");
    }

    @Test
    void memoryBankScoresQueriesAgainstBankRowsAndMovesTheBatchsRowsTowardThem() {
        MocoConfig c = config(Mechanism.MEMORY_BANK, 12, true);
        int rows = 20;
        ReferenceMoCo moco = new ReferenceMoCo(c, FreshState.of(c, 5, rows), "test");
        Tensor before = moco.bank.copy();
        Random rng = new Random(6);
        Tensor imQ = images(rng);
        Tensor q = encode(moco, imQ, 2);
        int[] index = {4, 19, 0, 7, 11, 2, 15, 9};
        int[] negatives = {3, 3, 8, 19, 0, 12, 13, 1, 18, 5, 6, 4}; // with replacement; may hold a positive
        StepResult r = moco.step(new StepInput(ImageBatch.of(imQ), ImageBatch.of(images(rng)), null, null, 0.99, 0.03, true,
                index, negatives));
        double[] logits = r.logits().toDoubles();
        double worst = 0;
        for (int i = 0; i < N; i++) {
            worst = Math.max(worst, Math.abs(dot(q, i, before, index[i]) / T - logits[i * 13]));
            for (int j = 0; j < 12; j++) worst = Math.max(worst, Math.abs(dot(q, i, before, negatives[j]) / T - logits[i * 13 + 1 + j]));
        }
        assertTrue(worst < 1e-12, "logits differ by " + worst);
        boolean[] touched = new boolean[rows];
        for (int i = 0; i < N; i++) {
            touched[index[i]] = true;
            double[] v = new double[DIM];
            double sq = 0;
            for (int d = 0; d < DIM; d++) {
                v[d] = 0.5 * before.data[index[i] * DIM + d] + 0.5 * q.data[i * DIM + d];
                sq += v[d] * v[d];
            }
            for (int d = 0; d < DIM; d++) {
                assertEquals(v[d] / Math.sqrt(sq), moco.bank.data[index[i] * DIM + d], 1e-12, "row " + index[i]);
            }
        }
        for (int row = 0; row < rows; row++) {
            if (touched[row]) continue;
            assertArrayEquals(Arrays.copyOfRange(before.data, row * DIM, (row + 1) * DIM),
                    Arrays.copyOfRange(moco.bank.data, row * DIM, (row + 1) * DIM), "row " + row + " is not in the batch");
        }
        assertFalse(moco.state().containsKey("encoder_k.conv1.weight"), "the memory bank has no key encoder");
    }

    @Test
    void memoryBankRefusesRepeatedOrOutOfRangeRows() {
        MocoConfig c = config(Mechanism.MEMORY_BANK, 4, true);
        ReferenceMoCo moco = new ReferenceMoCo(c, FreshState.of(c, 5, 10), "test");
        Random rng = new Random(7);
        ImageBatch im = ImageBatch.of(images(rng));
        MocoRefException twice = assertThrows(MocoRefException.class, () -> moco.step(new StepInput(im, im, null, null, 0.99, 0.03,
                false, new int[] {0, 1, 2, 3, 4, 5, 6, 6}, new int[] {0, 1, 2, 3})));
        assertTrue(twice.getMessage().contains("twice"), twice.getMessage());
        MocoRefException outside = assertThrows(MocoRefException.class, () -> moco.step(new StepInput(im, im, null, null, 0.99,
                0.03, false, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, new int[] {0, 1, 2, 10})));
        assertTrue(outside.getMessage().contains("10") && outside.getMessage().contains("negatives"), outside.getMessage());
    }

    @Test
    void withoutShuffleBnTheKeysIgnoreTheShuffleAndMatchAnUnshuffledStep() {
        MocoConfig off = config(Mechanism.MOCO, 16, false), on = config(Mechanism.MOCO, 16, true);
        Map<String, StoredTensor> init = FreshState.of(on, 8);
        Random rng = new Random(9);
        ImageBatch imQ = ImageBatch.of(images(rng)), imK = ImageBatch.of(images(rng));
        int[] idx = {7, 6, 5, 4, 3, 2, 1, 0}, identity = {0, 1, 2, 3, 4, 5, 6, 7};
        StepResult a = new ReferenceMoCo(off, init, "off").step(new StepInput(imQ, imK, idx, null, 0.99, 0.03, true));
        StepResult b = new ReferenceMoCo(on, init, "on").step(new StepInput(imQ, imK, identity, null, 0.99, 0.03, true));
        StepResult c = new ReferenceMoCo(on, init, "on").step(new StepInput(imQ, imK, idx, null, 0.99, 0.03, true));
        assertArrayEquals(b.logits().toDoubles(), a.logits().toDoubles(), 0.0, "no shuffle = the identity shuffle");
        assertFalse(Arrays.equals(c.logits().toDoubles(), a.logits().toDoubles()), "with 2 devices the shuffle changes the keys");
    }

    @Test
    void endToEndNeedsKOfBatchMinusOneAndTheMemoryBankNoSymmetricLoss() {
        MocoRefException k = assertThrows(MocoRefException.class, () -> config(Mechanism.END_TO_END, 16, true).validate());
        assertTrue(k.getMessage().contains("batch - 1 = 7"), k.getMessage());
        MocoRefException sym = assertThrows(MocoRefException.class, () -> new MocoConfig(TINY, 16, 0.99, T, 2,
                MocoConfig.MomentumSchedule.CONSTANT, 0, 0, true, 0.03, 0.9, 1e-4, N, new int[] {1, 12, 12}, Mechanism.MEMORY_BANK,
                true).validate());
        assertTrue(sym.getMessage().contains("symmetric"), sym.getMessage());
    }
}
