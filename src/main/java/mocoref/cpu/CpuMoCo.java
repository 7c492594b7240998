package mocoref.cpu;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;

/**
 * MoCo's training step in float32 on all cores: the same steps as the reference
 * ({@code ReferenceMoCo}, and the official {@code moco/builder.py}), with the official names, on
 * encoders whose buffers are all allocated here for the configured batch. Per step it allocates
 * only what it returns (the logits).
 */
public final class CpuMoCo implements MocoModel {
    private final MocoConfig config;
    private final Kernels kernels;
    private final WorkerPool pool;
    /** builder.py: {@code self.encoder_q}, trained by SGD. */
    final CpuResNet encoderQ;
    /** builder.py: {@code self.encoder_k}, a moving average of encoder_q; never gets gradients. */
    final CpuResNet encoderK;
    /** builder.py: {@code self.queue}, [dim][K]: column j is a key from a recent batch. */
    final float[] queue;
    /** builder.py: {@code self.queue_ptr}: where the next batch of keys is written. */
    long queuePtr;
    /** SGD's momentum buffers, laid out as encoderQ's parameters; per parameter, whether it has one yet. */
    private final float[] momentumBuffer;
    private final boolean[] hasBuffer;
    private final Pass pass12, pass21;
    private final Gemm gemm;

    /** A model in the state {@code init} describes (the golden-case spec's names), on {@code threads} threads. */
    public CpuMoCo(MocoConfig config, Map<String, StoredTensor> init, String where, int threads) {
        this.config = config.validate();
        this.kernels = Kernels.INSTANCE;
        this.pool = WorkerPool.shared(threads);
        Workspace ws = new Workspace();
        encoderQ = new CpuResNet(config.model(), config.batch(), config.image(), config.devices(), true, kernels, pool, ws);
        encoderK = new CpuResNet(config.model(), config.batch(), config.image(), config.devices(), false, kernels, pool, ws);
        encoderQ.loadStateDict(init::get, "encoder_q.", where);
        encoderK.loadStateDict(init::get, "encoder_k.", where);
        int dim = config.model().dim();
        StoredTensor q = require(init, "queue", where);
        if (q.shape().length != 2 || q.shape()[0] != dim || q.shape()[1] != config.K()) {
            throw new MocoRefException(where + ": tensor 'queue' has shape " + Arrays.toString(q.shape())
                    + ", expected [" + dim + ", " + config.K() + "] (dim, K)");
        }
        queue = q.toFloats();
        queuePtr = require(init, "queue_ptr", where).toLongs()[0];
        if (queuePtr < 0 || queuePtr >= config.K() || queuePtr % config.keysPerStep() != 0) {
            throw new MocoRefException(where + ": queue_ptr " + queuePtr + " must be a multiple of the "
                    + config.keysPerStep() + " keys enqueued per step, below K = " + config.K());
        }
        momentumBuffer = new float[encoderQ.params.total()];
        hasBuffer = new boolean[encoderQ.params.entries().size()];
        for (int i = 0; i < hasBuffer.length; i++) {
            Params.Entry e = encoderQ.params.entries().get(i);
            String name = "optimizer.encoder_q." + e.name() + ".momentum_buffer";
            StoredTensor buf = init.get(name);
            if (buf == null) continue;
            if (!Arrays.equals(buf.shape(), e.shape())) {
                throw new MocoRefException(where + ": tensor '" + name + "' has shape " + Arrays.toString(buf.shape())
                        + ", expected " + Arrays.toString(e.shape()));
            }
            System.arraycopy(buf.toFloats(), 0, momentumBuffer, e.offset(), e.size());
            hasBuffer[i] = true;
        }
        gemm = new Gemm(kernels, pool);
        pass12 = new Pass();
        pass21 = config.symmetric() ? new Pass() : null;
    }

    private static StoredTensor require(Map<String, StoredTensor> init, String name, String where) {
        StoredTensor t = init.get(name);
        if (t == null) throw new MocoRefException(where + ": missing tensor '" + name + "'");
        return t;
    }

    /** The kernels in use ("vector-256 6x16", "vector-512 8x32" or "scalar") and the thread count, for reports. */
    public String describe() {
        return kernels.name() + " kernels, " + pool.threads() + " threads";
    }

    @Override
    public StepResult step(StepInput in) {
        encoderQ.params.zeroGrad();
        // L12: queries from view 1, keys from view 2; the momentum update sits after the first query
        // forward as in builder.py (it reads encoder_q's parameters, which no step has changed yet)
        pass12.query(in.imQ().data);
        momentumUpdateKeyEncoder(in.m());
        pass12.keysAndLoss(in.imK().data, in.idxShuffle());
        pass12.backward();
        if (pass21 != null) { // L21: queries from view 2, keys from view 1, the same queue
            pass21.query(in.imK().data);
            pass21.keysAndLoss(in.imQ().data, in.idxShuffle2());
            pass21.backward();
        }
        // 6. enqueue after both losses read the old queue: view 1's keys (L21's) first, then view 2's
        if (pass21 != null) dequeueAndEnqueue(pass21.k);
        dequeueAndEnqueue(pass12.k);
        // 7. SGD on encoder_q (8. running statistics were updated by each forward, from device 0)
        sgdStep(in.lr());
        int n = config.batch(), c = 1 + config.K();
        double loss = pass12.loss + (pass21 == null ? 0 : pass21.loss);
        double accuracy = pass21 == null ? pass12.accuracy() : (pass12.accuracy() + pass21.accuracy()) / 2;
        return new StepResult(loss, StoredTensor.f32(pass12.logits, n, c),
                pass21 == null ? null : StoredTensor.f32(pass21.logits, n, c), accuracy);
    }

    /** One contrastive loss L(q, k): its forward, and what its backward into encoder_q needs. */
    private final class Pass {
        final int n = config.batch(), dim = config.model().dim(), cols = 1 + config.K();
        final float[] q = new float[n * dim], qNorm = new float[n], k = new float[n * dim], kShuffled = new float[n * dim];
        final float[] dLogits = new float[n * cols], dq = new float[n * dim], dh = new float[n * dim];
        final double[] rowLoss = new double[n];
        float[] logits;
        double loss;
        final WorkerPool.Task crossEntropyTask = this::crossEntropyRow;

        /** 1. q = normalize(encoder_q(im_q)), each device normalizing its own chunk in BN. */
        void query(double[] imQ) {
            l2Normalize(encoderQ.forward(imQ, null, config.devices()), q, qNorm, n, dim);
        }

        /** 3-5. keys through the shuffled key encoder, logits against the positive and the queue, InfoNCE. */
        void keysAndLoss(double[] imK, int[] idxShuffle) {
            float[] h = encoderK.forward(imK, batchShuffle(idxShuffle), config.devices());
            l2Normalize(h, kShuffled, null, n, dim);
            batchUnshuffle(kShuffled, idxShuffle, k, dim);
            logits = new float[n * cols]; // returned to the caller: a fresh array per step
            contrastiveLogits(q, k, logits);
            pool.forEach(n, crossEntropyTask);
            double total = 0;
            for (double l : rowLoss) total += l;
            loss = total / n;
        }

        /** Row r of F.cross_entropy against class 0: its loss, and dlogits = (softmax - onehot) / N. */
        private void crossEntropyRow(int r, int worker) {
            int off = r * cols;
            float max = kernels.max(logits, off, cols);
            double sum = kernels.expShifted(logits, off, cols, max, dLogits, off);
            rowLoss[r] = max + Math.log(sum) - logits[off];
            float scale = (float) (1.0 / (sum * n));
            for (int j = 0; j < cols; j++) dLogits[off + j] *= scale;
            dLogits[off] -= 1f / n;
        }

        /** Gradient of the loss into encoder_q's parameters: through the logits, the normalize, the encoder. */
        void backward() {
            contrastiveLogitsBackward(dLogits, k, dq);
            l2NormalizeBackward(dq, q, qNorm, dh, n, dim);
            encoderQ.backward(dh);
        }

        double accuracy() {
            int hits = 0;
            for (int r = 0; r < n; r++) {
                float pos = logits[r * cols];
                boolean top = true;
                for (int j = 1; j < cols && top; j++) top = logits[r * cols + j] < pos;
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
        float[] k = encoderK.params.value, q = encoderQ.params.value;
        for (int i = 0; i < k.length; i++) k[i] = (float) (k[i] * m + q[i] * (1.0 - m));
    }

    /**
     * builder.py {@code _batch_shuffle_ddp}, on one host: row i of the shuffled batch is row
     * idxShuffle[i]. Returns the order in which the key encoder loads its input (the copy is fused
     * into the conversion to its layout).
     */
    private int[] batchShuffle(int[] idxShuffle) {
        int n = config.batch();
        if (idxShuffle == null || idxShuffle.length != n) throw new MocoRefException("idx_shuffle must have " + n + " entries");
        boolean[] seen = new boolean[n];
        for (int v : idxShuffle) {
            if (v < 0 || v >= n || seen[v]) throw new MocoRefException("idx_shuffle is not a permutation of 0.." + (n - 1));
            seen[v] = true;
        }
        return idxShuffle;
    }

    /** builder.py {@code _batch_unshuffle_ddp}: the inverse, {@code k[idxShuffle[i]] = kShuffled[i]} (argsort). */
    private static void batchUnshuffle(float[] kShuffled, int[] idxShuffle, float[] k, int dim) {
        for (int i = 0; i < idxShuffle.length; i++) System.arraycopy(kShuffled, i * dim, k, idxShuffle[i] * dim, dim);
    }

    /** F.normalize(x, dim=1, eps=1e-12): x [n][d] -> y [n][d]; norms (if not null) saved for the backward. */
    static void l2Normalize(float[] x, float[] y, float[] norms, int n, int d) {
        for (int r = 0; r < n; r++) {
            double sq = 0;
            for (int i = 0; i < d; i++) sq += (double) x[r * d + i] * x[r * d + i];
            double norm = Math.sqrt(sq), denom = Math.max(norm, 1e-12);
            if (norms != null) norms[r] = (float) norm;
            for (int i = 0; i < d; i++) y[r * d + i] = (float) (x[r * d + i] / denom);
        }
    }

    /** dy -> dx of F.normalize, from its output y and the norms: dx = (dy - y (y.dy)) / norm, or dy/eps where clamped. */
    static void l2NormalizeBackward(float[] dy, float[] y, float[] norms, float[] dx, int n, int d) {
        for (int r = 0; r < n; r++) {
            double norm = norms[r];
            if (norm > 1e-12) {
                double dot = 0;
                for (int i = 0; i < d; i++) dot += (double) y[r * d + i] * dy[r * d + i];
                for (int i = 0; i < d; i++) dx[r * d + i] = (float) ((dy[r * d + i] - y[r * d + i] * dot) / norm);
            } else {
                for (int i = 0; i < d; i++) dx[r * d + i] = (float) (dy[r * d + i] / 1e-12);
            }
        }
    }

    /**
     * 4. {@code logits = [q.k+ | q.queue] / T}, [N][1+K]: column 0 is the positive key, column 1+j
     * the j-th key in the queue as it was before this step's enqueue.
     */
    void contrastiveLogits(float[] q, float[] k, float[] logits) {
        int n = config.batch(), dim = config.model().dim(), kq = config.K();
        float invT = (float) (1.0 / config.T());
        gemm.multiply(n, kq, dim, invT, q, 0, dim, 1, queue, 0, kq, 1, logits, 1, 1 + kq, false);
        for (int r = 0; r < n; r++) {
            double pos = 0;
            for (int c = 0; c < dim; c++) pos += (double) q[r * dim + c] * k[r * dim + c];
            logits[r * (1 + kq)] = (float) (pos / config.T());
        }
    }

    /** dlogits [N][1+K] -> dq [N][dim]; keys and queue are constants (no gradient flows to them). */
    void contrastiveLogitsBackward(float[] dLogits, float[] k, float[] dq) {
        int n = config.batch(), dim = config.model().dim(), kq = config.K();
        float invT = (float) (1.0 / config.T());
        gemm.multiply(n, dim, kq, invT, dLogits, 1, 1 + kq, 1, queue, 0, 1, kq, dq, 0, dim, false);
        for (int r = 0; r < n; r++) {
            float g = dLogits[r * (1 + kq)] * invT;
            for (int c = 0; c < dim; c++) dq[r * dim + c] += g * k[r * dim + c];
        }
    }

    /** 6. builder.py {@code _dequeue_and_enqueue}: {@code queue[:, ptr:ptr+N] = keys.T; ptr = (ptr+N) % K}. */
    void dequeueAndEnqueue(float[] keys) {
        int n = config.batch(), dim = config.model().dim(), kq = config.K();
        int ptr = (int) queuePtr;
        if (ptr + n > kq) throw new IllegalStateException("queue_ptr " + ptr + " + " + n + " keys overruns K = " + kq);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < dim; c++) queue[c * kq + ptr + i] = keys[i * dim + c];
        }
        queuePtr = (ptr + n) % kq;
    }

    /**
     * 7. PyTorch SGD with momentum and weight decay: {@code d = grad + wd*theta; buf = d on a
     * parameter's first step, else momentum*buf + d; theta -= lr*buf}.
     */
    private void sgdStep(double lr) {
        float[] theta = encoderQ.params.value, grad = encoderQ.params.grad;
        double wd = config.weightDecay(), mom = config.momentum();
        for (int p = 0; p < hasBuffer.length; p++) {
            Params.Entry e = encoderQ.params.entries().get(p);
            boolean first = !hasBuffer[p];
            for (int i = e.offset(); i < e.offset() + e.size(); i++) {
                double d = grad[i] + wd * theta[i];
                double b = (first || mom == 0) ? d : mom * momentumBuffer[i] + d;
                momentumBuffer[i] = (float) b;
                theta[i] = (float) (theta[i] - lr * b);
            }
            hasBuffer[p] = true;
        }
    }

    @Override
    public Map<String, StoredTensor> state() {
        Map<String, StoredTensor> s = new LinkedHashMap<>(encoderQ.stateDict("encoder_q."));
        s.putAll(encoderK.stateDict("encoder_k."));
        s.put("queue", StoredTensor.f32(queue.clone(), config.model().dim(), config.K()));
        s.put("queue_ptr", StoredTensor.i64(new long[] {queuePtr}, 1));
        for (int p = 0; p < hasBuffer.length; p++) {
            if (!hasBuffer[p]) continue;
            Params.Entry e = encoderQ.params.entries().get(p);
            s.put("optimizer.encoder_q." + e.name() + ".momentum_buffer",
                    StoredTensor.f32(Arrays.copyOfRange(momentumBuffer, e.offset(), e.offset() + e.size()), e.shape()));
        }
        return s;
    }
}
