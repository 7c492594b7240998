package mocoref.reference;

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
 */
public final class ReferenceMoCo implements MocoModel {
    private final MocoConfig config;
    /** builder.py: {@code self.encoder_q}, trained by SGD. */
    final ResNet encoderQ;
    /** builder.py: {@code self.encoder_k}, a moving average of encoder_q; never gets gradients. */
    final ResNet encoderK;
    /** builder.py: {@code self.queue}, [dim, K]: column j is a key from a recent batch. */
    final Tensor queue;
    /** builder.py: {@code self.queue_ptr}: where the next batch of keys is written. */
    long queuePtr;
    private final Sgd optimizer;

    public ReferenceMoCo(MocoConfig config, Map<String, StoredTensor> init, String where) {
        this.config = config.validate();
        encoderQ = new ResNet(config.model());
        encoderK = new ResNet(config.model());
        encoderQ.loadStateDict(init::get, "encoder_q.", where);
        encoderK.loadStateDict(init::get, "encoder_k.", where);
        StoredTensor q = require(init, "queue", where);
        int dim = config.model().dim();
        if (q.shape().length != 2 || q.shape()[0] != dim || q.shape()[1] != config.K()) {
            throw new MocoRefException(where + ": tensor 'queue' has shape " + java.util.Arrays.toString(q.shape())
                    + ", expected [" + dim + ", " + config.K() + "] (dim, K)");
        }
        queue = new Tensor(q.toDoubles(), dim, config.K());
        queuePtr = require(init, "queue_ptr", where).toLongs()[0];
        if (queuePtr < 0 || queuePtr >= config.K() || queuePtr % config.keysPerStep() != 0) {
            throw new MocoRefException(where + ": queue_ptr " + queuePtr + " must be a multiple of the "
                    + config.keysPerStep() + " keys enqueued per step, below K = " + config.K());
        }
        optimizer = new Sgd(encoderQ.parameters(), config.momentum(), config.weightDecay());
        for (Map.Entry<String, Param> p : encoderQ.parameters().entrySet()) {
            String name = "optimizer.encoder_q." + p.getKey() + ".momentum_buffer";
            StoredTensor buf = init.get(name);
            if (buf == null) continue;
            if (!java.util.Arrays.equals(buf.shape(), p.getValue().value.shape)) {
                throw new MocoRefException(where + ": tensor '" + name + "' has shape " + java.util.Arrays.toString(buf.shape())
                        + ", expected " + java.util.Arrays.toString(p.getValue().value.shape));
            }
            optimizer.setBuffer(p.getKey(), buf.toDoubles());
        }
    }

    private static StoredTensor require(Map<String, StoredTensor> init, String name, String where) {
        StoredTensor t = init.get(name);
        if (t == null) throw new MocoRefException(where + ": missing tensor '" + name + "'");
        return t;
    }

    @Override
    public StepResult step(StepInput in) {
        encoderQ.zeroGrad();
        // L12: queries from view 1, keys from view 2. The momentum update (step 2) comes after the
        // first query forward, as in builder.py; it reads encoder_q's parameters, which no step
        // has changed yet, and writes only encoder_k's.
        Tensor imQ = images(in.imQ(), "im_q"), imK = images(in.imK(), "im_k");
        Pass p12 = new Pass();
        p12.query(imQ);
        momentumUpdateKeyEncoder(in.m());
        p12.keysAndLoss(imK, in.idxShuffle());
        p12.backward();
        Pass p21 = null;
        if (config.symmetric()) { // L21: queries from view 2, keys from view 1, the same queue
            p21 = new Pass();
            p21.query(imK);
            p21.keysAndLoss(imQ, in.idxShuffle2());
            p21.backward();
        }
        // 6. enqueue (after both losses read the old queue): view 1's keys first, then view 2's
        if (p21 != null) dequeueAndEnqueue(p21.k);
        dequeueAndEnqueue(p12.k);
        // 7. SGD on encoder_q. (8. running statistics were updated by each forward, from device 0.)
        optimizer.step(in.lr());
        double loss = p12.loss + (p21 == null ? 0 : p21.loss);
        double accuracy = p21 == null ? p12.accuracy() : (p12.accuracy() + p21.accuracy()) / 2;
        return new StepResult(loss, accuracy, in.returnLogits() ? StoredTensor.of(p12.logits) : null,
                in.returnLogits() && p21 != null ? StoredTensor.of(p21.logits) : null);
    }

    private Tensor images(ImageBatch b, String name) {
        int[] want = config.image();
        if (b.n() != config.batch() || !java.util.Arrays.equals(b.imageShape(), want)) {
            throw new MocoRefException(name + " has " + b.n() + " images of " + java.util.Arrays.toString(b.imageShape())
                    + ", the model takes " + config.batch() + " of " + java.util.Arrays.toString(want));
        }
        return b.toTensor();
    }

    /** One contrastive loss L(q, k): its forward, saved for its backward into encoder_q. */
    private final class Pass {
        final L2Normalize normalizeQ = new L2Normalize();
        final CrossEntropy criterion = new CrossEntropy();
        Tensor q, k, logits;
        double loss;

        /** 1. q = normalize(encoder_q(im_q)), each device normalizing its own chunk in BN. */
        void query(Tensor imQ) {
            q = normalizeQ.forward(encoderQ.forward(imQ, config.devices()));
        }

        /** 3-5. keys through the shuffled key encoder, logits against the positive and the queue, InfoNCE. */
        void keysAndLoss(Tensor imK, int[] idxShuffle) {
            Tensor shuffled = batchShuffle(imK, idxShuffle);
            Tensor kShuffled = new L2Normalize().forward(encoderK.forward(shuffled, config.devices()));
            k = batchUnshuffle(kShuffled, idxShuffle);
            logits = contrastiveLogits(q, k);
            loss = criterion.forward(logits, new int[q.size(0)]); // labels: zeros, the positive is class 0
        }

        /** Gradient of the loss into encoder_q's parameters: through the logits, the normalize, the encoder. */
        void backward() {
            Tensor dLogits = criterion.backward(1.0);
            encoderQ.backward(normalizeQ.backward(contrastiveLogitsBackward(dLogits, k)));
        }

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
        s.putAll(encoderK.stateDict("encoder_k."));
        s.put("queue", StoredTensor.of(queue));
        s.put("queue_ptr", StoredTensor.i64(new long[] {queuePtr}, 1));
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
