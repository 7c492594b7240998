package mocoref.reference;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.MocoConfig.Mechanism;
import mocoref.tensor.Indices;
import mocoref.tensor.Permutations;
import mocoref.tensor.Tensor;

/**
 * MoCo's training step in float64, written to be read next to the official {@code moco/builder.py}
 * (class {@code MoCo}) and the training loop of {@code main_moco.py}. Method and field names are
 * the official ones. The numbered steps are those of the golden-case spec; docs/semantics.md
 * derives each.
 *
 * <p>The G GPUs of DistributedDataParallel are G logical devices here: every BatchNorm normalizes
 * each device's contiguous chunk of the batch on its own ({@link BatchNorm2d}), which is all that
 * distinguishes G devices from one, since every other layer acts on each sample alone.
 *
 * <p>Besides MoCo, the two mechanisms the paper compares it with (its Fig. 2), for its ablation:
 * end-to-end ({@link #endToEnd}: the keys are the batch's other view, encoded by encoder_q with
 * gradients) and the memory bank ({@link #memoryBank}: stored representations, no key encoder).
 */
public final class ReferenceMoCo implements MocoModel {
    /** Wu et al.'s memory bank update: {@code v <- normalize(0.5 v + 0.5 q)}. */
    public static final double BANK_MOMENTUM = 0.5;

    private final MocoConfig config;
    /** builder.py: {@code self.encoder_q}, trained by SGD. */
    final ResNet encoderQ;
    /** builder.py: {@code self.encoder_k}, a moving average of encoder_q; never gets gradients. MoCo only. */
    final ResNet encoderK;
    /** builder.py: {@code self.queue}, [dim, K]: column j is a key from a recent batch. MoCo only. */
    final Tensor queue;
    /** builder.py: {@code self.queue_ptr}: where the next batch of keys is written. */
    long queuePtr;
    /** The memory bank, [images, dim]: row i is training image i's stored representation. Memory bank only. */
    final Tensor bank;
    private final Sgd optimizer;
    /** --detect-anomaly: steps taken, or -1 when not checking. */
    private long anomalyStep = -1;

    public ReferenceMoCo(MocoConfig config, Map<String, StoredTensor> init, String where) {
        this.config = config.validate();
        int dim = config.model().dim();
        encoderQ = new ResNet(config.model());
        encoderQ.loadStateDict(init::get, "encoder_q.", where);
        if (config.mechanism() == Mechanism.MOCO) {
            encoderK = new ResNet(config.model());
            encoderK.loadStateDict(init::get, "encoder_k.", where);
            StoredTensor q = require(init, "queue", where);
            if (q.shape().length != 2 || q.shape()[0] != dim || q.shape()[1] != config.K()) {
                throw new MocoRefException(where + ": tensor 'queue' has shape " + Arrays.toString(q.shape())
                        + ", expected [" + dim + ", " + config.K() + "] (dim, K)");
            }
            queue = new Tensor(q.toDoubles(), dim, config.K());
            queuePtr = require(init, "queue_ptr", where).toLongs()[0];
            if (queuePtr < 0 || queuePtr >= config.K() || queuePtr % config.keysPerStep() != 0) {
                throw new MocoRefException(where + ": queue_ptr " + queuePtr + " must be a multiple of the "
                        + config.keysPerStep() + " keys enqueued per step, below K = " + config.K());
            }
        } else {
            encoderK = null;
            queue = null;
        }
        if (config.mechanism() == Mechanism.MEMORY_BANK) {
            StoredTensor b = require(init, "bank", where);
            if (b.shape().length != 2 || b.shape()[1] != dim || b.shape()[0] < 1) {
                throw new MocoRefException(where + ": tensor 'bank' has shape " + Arrays.toString(b.shape())
                        + ", expected [images, " + dim + "]");
            }
            bank = new Tensor(b.toDoubles(), b.shape());
        } else {
            bank = null;
        }
        optimizer = new Sgd(encoderQ.parameters(), config.momentum(), config.weightDecay());
        for (Map.Entry<String, Param> p : encoderQ.parameters().entrySet()) {
            String name = "optimizer.encoder_q." + p.getKey() + ".momentum_buffer";
            StoredTensor buf = init.get(name);
            if (buf == null) continue;
            if (!Arrays.equals(buf.shape(), p.getValue().value.shape)) {
                throw new MocoRefException(where + ": tensor '" + name + "' has shape " + Arrays.toString(buf.shape())
                        + ", expected " + Arrays.toString(p.getValue().value.shape));
            }
            optimizer.setBuffer(p.getKey(), buf.toDoubles());
        }
    }

    private static StoredTensor require(Map<String, StoredTensor> init, String name, String where) {
        StoredTensor t = init.get(name);
        if (t == null) throw new MocoRefException(where + ": missing tensor '" + name + "'");
        return t;
    }

    /** Checks every stage's output and gradient, every parameter's gradient and value, from now on (--detect-anomaly). */
    public void detectAnomalies() {
        anomalyStep = 0;
        encoderQ.inspect(this::check);
        if (encoderK != null) encoderK.inspect((what, t) -> check("encoder_k's " + what, t));
    }

    private void check(String what, Tensor t) {
        for (int i = 0; i < t.numel(); i++) {
            if (!Double.isFinite(t.data[i])) {
                throw new mocoref.backend.Diverged("step " + anomalyStep + " of this run: " + what + " holds " + t.data[i] + " (element "
                        + i + " of " + t.numel() + "), the first non-finite value of the step (--detect-anomaly)");
            }
        }
    }

    @Override
    public StepResult step(StepInput in) {
        if (anomalyStep >= 0) anomalyStep++;
        encoderQ.zeroGrad();
        Tensor imQ = images(in.imQ(), "im_q"), imK = images(in.imK(), "im_k");
        boolean keys = config.mechanism() != Mechanism.MEMORY_BANK; // the memory bank encodes no keys
        int[] idx = keys ? keyShuffle(in.idxShuffle(), "idx_shuffle") : null;
        int[] idx2 = keys && config.symmetric() ? keyShuffle(in.idxShuffle2(), "idx_shuffle2") : null;
        Pass p12, p21 = null;
        switch (config.mechanism()) {
            case MOCO -> {
                // L12: queries from view 1, keys from view 2. The momentum update (step 2) comes after
                // the first query forward, as in builder.py; it reads encoder_q's parameters, which no
                // step has changed yet, and writes only encoder_k's.
                MocoPass m12 = new MocoPass();
                m12.query(imQ);
                momentumUpdateKeyEncoder(in.m());
                m12.keysAndLoss(imK, idx);
                m12.backward();
                MocoPass m21 = null;
                if (config.symmetric()) { // L21: queries from view 2, keys from view 1, the same queue
                    m21 = new MocoPass();
                    m21.query(imK);
                    m21.keysAndLoss(imQ, idx2);
                    m21.backward();
                }
                // 6. enqueue (after both losses read the old queue): view 1's keys first, then view 2's
                if (m21 != null) dequeueAndEnqueue(m21.k);
                dequeueAndEnqueue(m12.k);
                p12 = m12;
                p21 = m21;
            }
            case END_TO_END -> {
                p12 = endToEnd(imQ, imK, idx);
                if (config.symmetric()) p21 = endToEnd(imK, imQ, idx2);
            }
            case MEMORY_BANK -> p12 = memoryBank(imQ, in.index(), in.negatives());
            default -> throw new IllegalStateException();
        }
        if (anomalyStep >= 0) encoderQ.parameters().forEach((name, p) -> check("the gradient of " + name, p.grad));
        // 7. SGD on encoder_q. (8. running statistics were updated by each forward, from device 0.)
        optimizer.step(in.lr());
        if (anomalyStep >= 0) encoderQ.parameters().forEach((name, p) -> check(name + " after SGD", p.value));
        double loss = p12.loss + (p21 == null ? 0 : p21.loss);
        double accuracy = p21 == null ? p12.accuracy() : (p12.accuracy() + p21.accuracy()) / 2;
        return new StepResult(loss, accuracy, in.returnLogits() ? StoredTensor.of(p12.logits) : null,
                in.returnLogits() && p21 != null ? StoredTensor.of(p21.logits) : null);
    }

    private Tensor images(ImageBatch b, String name) {
        int[] want = config.image();
        if (b.n() != config.batch() || !Arrays.equals(b.imageShape(), want)) {
            throw new MocoRefException(name + " has " + b.n() + " images of " + Arrays.toString(b.imageShape())
                    + ", the model takes " + config.batch() + " of " + Arrays.toString(want));
        }
        return b.toTensor();
    }

    /** The keys' order across devices: the given shuffle, or none without shuffle BN (the paper's "cheating" ablation). */
    private int[] keyShuffle(int[] idx, String name) {
        int n = config.batch();
        if (!config.shuffleBn()) {
            int[] identity = new int[n];
            for (int i = 0; i < n; i++) identity[i] = i;
            return identity;
        }
        Permutations.check(idx, n, name);
        return idx;
    }

    /** One contrastive loss: its logits (the positive in column 0) and InfoNCE, saved for the backward. */
    private abstract static class Pass {
        final CrossEntropy criterion = new CrossEntropy();
        Tensor logits;
        double loss;

        void loss(Tensor logits) {
            this.logits = logits;
            loss = criterion.forward(logits, new int[logits.size(0)]); // labels: zeros, the positive is class 0
        }

        /** The fraction of queries whose positive scored strictly highest. */
        double accuracy() {
            int n = logits.size(0), c = logits.size(1), hits = 0;
            for (int r = 0; r < n; r++) {
                double pos = logits.data[r * c];
                boolean top = true;
                for (int j = 1; j < c && top; j++) top = logits.data[r * c + j] < pos;
                if (top) hits++;
            }
            return (double) hits / n;
        }
    }

    /** One MoCo loss L(q, k): its forward, saved for its backward into encoder_q. */
    private final class MocoPass extends Pass {
        final L2Normalize normalizeQ = new L2Normalize();
        Tensor q, k;

        /** 1. q = normalize(encoder_q(im_q)), each device normalizing its own chunk in BN. */
        void query(Tensor imQ) {
            q = normalizeQ.forward(encoderQ.forward(imQ, config.devices()));
        }

        /** 3-5. keys through the shuffled key encoder, logits against the positive and the queue, InfoNCE. */
        void keysAndLoss(Tensor imK, int[] idxShuffle) {
            Tensor shuffled = batchShuffle(imK, idxShuffle);
            Tensor kShuffled = new L2Normalize().forward(encoderK.forward(shuffled, config.devices()));
            k = batchUnshuffle(kShuffled, idxShuffle);
            loss(contrastiveLogits(q, k));
        }

        /** Gradient of the loss into encoder_q's parameters: through the logits, the normalize, the encoder. */
        void backward() {
            Tensor dLogits = criterion.backward(1.0);
            encoderQ.backward(normalizeQ.backward(contrastiveLogitsBackward(dLogits, k)));
        }
    }

    /**
     * End-to-end (the paper's Fig. 2a): the keys are view 2 of the same batch, encoded by encoder_q
     * itself, and the gradient flows into both. Query i's positive is key i, its negatives the
     * batch's other N-1 keys. Queries and (shuffled) keys go through encoder_q in one forward of 2N
     * images over 2G logical devices: the first G hold the queries' chunks, the last G the keys',
     * so every BatchNorm normalizes each view's chunks on their own, as two forwards would; running
     * statistics follow chunk 0 (the queries' device 0), once per pass.
     */
    private Pass endToEnd(Tensor imQ, Tensor imK, int[] idxShuffle) {
        int n = config.batch(), g = config.devices();
        L2Normalize normalize = new L2Normalize();
        Tensor both = normalize.forward(encoderQ.forward(concatRows(imQ, batchShuffle(imK, idxShuffle)), 2 * g));
        Tensor q = rows(both, 0, n), k = batchUnshuffle(rows(both, n, n), idxShuffle);
        Pass p = new Pass() {};
        p.loss(batchLogits(q, k, config.T()));
        Tensor[] d = batchLogitsBackward(p.criterion.backward(1.0), q, k, config.T());
        encoderQ.backward(normalize.backward(concatRows(d[0], batchShuffle(d[1], idxShuffle))));
        return p;
    }

    /**
     * The memory bank (the paper's Fig. 2b, Wu et al. 2018): query i's positive is its own image's
     * bank row, its negatives the K bank rows drawn for this step (uniformly, with replacement,
     * shared by the batch's queries); no key encoder, no gradient into the bank. After the loss,
     * each of the batch's rows moves toward its new query: {@code v <- normalize(0.5 v + 0.5 q)}.
     */
    private Pass memoryBank(Tensor imQ, int[] index, int[] negatives) {
        int n = config.batch(), dim = config.model().dim(), images = bank.size(0);
        Indices.check(index, n, images, true, "index");
        Indices.check(negatives, config.K(), images, false, "negatives");
        L2Normalize normalize = new L2Normalize();
        Tensor q = normalize.forward(encoderQ.forward(imQ, config.devices()));
        Tensor positives = new Tensor(n, dim), dictionary = new Tensor(dim, negatives.length);
        for (int i = 0; i < n; i++) System.arraycopy(bank.data, index[i] * dim, positives.data, i * dim, dim);
        for (int j = 0; j < negatives.length; j++) {
            for (int c = 0; c < dim; c++) dictionary.data[c * negatives.length + j] = bank.data[negatives[j] * dim + c];
        }
        Pass p = new Pass() {};
        p.loss(contrastiveLogits(q, positives, dictionary, config.T()));
        encoderQ.backward(normalize.backward(contrastiveLogitsBackward(p.criterion.backward(1.0), positives, dictionary, config.T())));
        for (int i = 0; i < n; i++) { // after the step: the batch's rows move toward the queries
            double[] v = Arrays.copyOfRange(positives.data, i * dim, (i + 1) * dim);
            momentumUpdate(v, Arrays.copyOfRange(q.data, i * dim, (i + 1) * dim), BANK_MOMENTUM);
            double sq = 0;
            for (double x : v) sq += x * x;
            double norm = Math.max(Math.sqrt(sq), L2Normalize.EPS);
            for (int c = 0; c < dim; c++) bank.data[index[i] * dim + c] = v[c] / norm;
        }
        return p;
    }

    /** [a; b]: the rows of a, then those of b. */
    public static Tensor concatRows(Tensor a, Tensor b) {
        int[] shape = a.shape.clone();
        shape[0] += b.size(0);
        Tensor c = new Tensor(shape);
        System.arraycopy(a.data, 0, c.data, 0, a.numel());
        System.arraycopy(b.data, 0, c.data, a.numel(), b.numel());
        return c;
    }

    /** Rows first .. first+count-1 of x. */
    public static Tensor rows(Tensor x, int first, int count) {
        int row = x.numel() / x.size(0);
        int[] shape = x.shape.clone();
        shape[0] = count;
        return new Tensor(Arrays.copyOfRange(x.data, first * row, (first + count) * row), shape);
    }

    /**
     * End-to-end's logits [N, N]: row i is {@code [q_i.k_i, q_i.k_j for j != i in order] / t}, the
     * positive first and the batch's other keys as the negatives.
     */
    public static Tensor batchLogits(Tensor q, Tensor k, double t) {
        int n = q.size(0), dim = q.size(1);
        Tensor logits = new Tensor(n, n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double dot = 0.0;
                for (int c = 0; c < dim; c++) dot += q.data[i * dim + c] * k.data[j * dim + c];
                logits.data[i * n + batchColumn(i, j)] = dot / t;
            }
        }
        return logits;
    }

    /** The column of key j in query i's row of {@link #batchLogits}: 0 for its own key, then the others in order. */
    static int batchColumn(int i, int j) {
        return j == i ? 0 : j < i ? j + 1 : j;
    }

    /** dlogits [N, N] -> {dq, dk} [N, dim], both sides of {@link #batchLogits} getting their gradient. */
    public static Tensor[] batchLogitsBackward(Tensor dLogits, Tensor q, Tensor k, double t) {
        int n = q.size(0), dim = q.size(1);
        Tensor dq = new Tensor(n, dim), dk = new Tensor(n, dim);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double g = dLogits.data[i * n + batchColumn(i, j)] / t;
                for (int c = 0; c < dim; c++) {
                    dq.data[i * dim + c] += g * k.data[j * dim + c];
                    dk.data[j * dim + c] += g * q.data[i * dim + c];
                }
            }
        }
        return new Tensor[] {dq, dk};
    }

    /**
     * 2. builder.py {@code _momentum_update_key_encoder}: {@code param_k = param_k*m + param_q*(1-m)}
     * for every parameter; BatchNorm's running statistics are buffers and are not averaged.
     */
    void momentumUpdateKeyEncoder(double m) {
        Map<String, Param> pk = encoderK.parameters();
        encoderQ.parameters().forEach((name, paramQ) -> momentumUpdate(pk.get(name).value.data, paramQ.value.data, m));
    }

    /** {@code k = k*m + q*(1-m)}, elementwise. */
    public static void momentumUpdate(double[] k, double[] q, double m) {
        for (int i = 0; i < k.length; i++) k[i] = k[i] * m + q[i] * (1.0 - m);
    }

    /** builder.py {@code _batch_shuffle_ddp}, on one host: row i of the result is row idxShuffle[i] of x. */
    public static Tensor batchShuffle(Tensor x, int[] idxShuffle) {
        int n = x.size(0), row = x.numel() / n;
        Permutations.check(idxShuffle, n, "idx_shuffle");
        Tensor y = new Tensor(x.shape);
        for (int i = 0; i < n; i++) System.arraycopy(x.data, idxShuffle[i] * row, y.data, i * row, row);
        return y;
    }

    /** builder.py {@code _batch_unshuffle_ddp}: the inverse, {@code k[idxShuffle[i]] = kShuffled[i]} (argsort). */
    public static Tensor batchUnshuffle(Tensor kShuffled, int[] idxShuffle) {
        int n = kShuffled.size(0), row = kShuffled.numel() / n;
        Tensor k = new Tensor(kShuffled.shape);
        for (int i = 0; i < n; i++) System.arraycopy(kShuffled.data, i * row, k.data, idxShuffle[i] * row, row);
        return k;
    }

    /**
     * 4. {@code logits = [q.k+ | q.queue] / T}, [N, 1+K]: column 0 is the positive key, column 1+j
     * the j-th key in the queue as it was before this step's enqueue.
     */
    Tensor contrastiveLogits(Tensor q, Tensor k) {
        return contrastiveLogits(q, k, queue, config.T());
    }

    /** The logits of q [N, dim] against their keys k [N, dim] and the queue [dim, K], at temperature t. */
    public static Tensor contrastiveLogits(Tensor q, Tensor k, Tensor queue, double t) {
        int n = q.size(0), dim = q.size(1), kq = queue.size(1);
        Tensor logits = new Tensor(n, 1 + kq);
        for (int r = 0; r < n; r++) {
            double pos = 0.0;
            for (int c = 0; c < dim; c++) pos += q.data[r * dim + c] * k.data[r * dim + c];
            logits.data[r * (1 + kq)] = pos / t;
            for (int j = 0; j < kq; j++) {
                double neg = 0.0;
                for (int c = 0; c < dim; c++) neg += q.data[r * dim + c] * queue.data[c * kq + j];
                logits.data[r * (1 + kq) + 1 + j] = neg / t;
            }
        }
        return logits;
    }

    /** dlogits [N, 1+K] -> dq [N, dim]; keys and queue are constants (no gradient flows to them). */
    Tensor contrastiveLogitsBackward(Tensor dLogits, Tensor k) {
        return contrastiveLogitsBackward(dLogits, k, queue, config.T());
    }

    /** dlogits [N, 1+K] -> dq [N, dim] for keys k and the queue [dim, K] at temperature t. */
    public static Tensor contrastiveLogitsBackward(Tensor dLogits, Tensor k, Tensor queue, double t) {
        int n = k.size(0), dim = k.size(1), kq = queue.size(1);
        Tensor dq = new Tensor(n, dim);
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < dim; c++) {
                double g = dLogits.data[r * (1 + kq)] * k.data[r * dim + c];
                for (int j = 0; j < kq; j++) g += dLogits.data[r * (1 + kq) + 1 + j] * queue.data[c * kq + j];
                dq.data[r * dim + c] = g / t;
            }
        }
        return dq;
    }

    /** 6. builder.py {@code _dequeue_and_enqueue}: {@code queue[:, ptr:ptr+N] = keys.T; ptr = (ptr+N) % K}. */
    void dequeueAndEnqueue(Tensor keys) {
        int n = keys.size(0), dim = keys.size(1), kq = config.K();
        int ptr = (int) queuePtr;
        if (ptr + n > kq) throw new IllegalStateException("queue_ptr " + ptr + " + " + n + " keys overruns K = " + kq);
        enqueue(queue, keys, ptr);
        queuePtr = (ptr + n) % kq;
    }

    /** {@code queue[:, ptr:ptr+N] = keys.T} for keys [N, dim] and the queue [dim, K]. */
    public static void enqueue(Tensor queue, Tensor keys, int ptr) {
        int n = keys.size(0), dim = keys.size(1), kq = queue.size(1);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < dim; c++) queue.data[c * kq + ptr + i] = keys.data[i * dim + c];
        }
    }

    @Override
    public Map<String, StoredTensor> state() {
        Map<String, StoredTensor> s = new LinkedHashMap<>(encoderQ.stateDict("encoder_q."));
        if (encoderK != null) {
            s.putAll(encoderK.stateDict("encoder_k."));
            s.put("queue", StoredTensor.of(queue));
            s.put("queue_ptr", StoredTensor.i64(new long[] {queuePtr}, 1));
        }
        if (bank != null) s.put("bank", StoredTensor.of(bank));
        optimizer.buffers().forEach((name, buf) ->
                s.put("optimizer.encoder_q." + name + ".momentum_buffer", StoredTensor.of(buf)));
        return s;
    }

    @Override
    public Encoder encoderQ() {
        return new ReferenceEncoder(encoderQ);
    }

    /** encoder_q itself, for tests. */
    public ResNet queryEncoder() {
        return encoderQ;
    }

    public ResNet encoderK() {
        return encoderK;
    }

    public Tensor queue() {
        return queue;
    }

    public long queuePtr() {
        return queuePtr;
    }
}
