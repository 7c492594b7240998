package mocoref.float32;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.MocoConfig.Mechanism;
import mocoref.model.ResNetLayout;
import mocoref.tensor.Indices;
import mocoref.tensor.Permutations;

/**
 * MoCo's training step in float32 on any {@link Device}, written once: the same steps as the
 * float64 {@code reference.ReferenceMoCo}, and the official {@code moco/builder.py} (class
 * {@code MoCo}), with the official names, over device operations. Both encoders, the queue and the
 * optimizer state stay on the device; a step sends it the two views and the shuffles, and brings
 * back 2N floats (each query's loss and whether its positive won) and, only when asked, the logits.
 */
public final class Float32MoCo implements MocoModel {
    /** Wu et al.'s memory bank update: {@code v <- normalize(0.5 v + 0.5 q)}. */
    static final double BANK_MOMENTUM = 0.5;

    private final MocoConfig config;
    private final Device device;
    private final ActivationPool pool;
    /** builder.py: {@code self.encoder_q}, trained by SGD (end-to-end: on 2N images, both views). */
    final Float32ResNet encoderQ;
    /** builder.py: {@code self.encoder_k}, a moving average of encoder_q; never gets gradients. MoCo only. */
    final Float32ResNet encoderK;
    /** builder.py: {@code self.queue}, [dim, K]: column j is a key from a recent batch. MoCo only. */
    final Buffer queue;
    /** builder.py: {@code self.queue_ptr}: where the next batch of keys is written. */
    long queuePtr;
    /** The memory bank [images, dim], one row per training image. Memory bank only. */
    final Buffer bank;
    private final int bankRows;
    /** SGD's momentum buffers, laid out as encoder_q's parameters; per parameter, whether it has one yet. */
    private final Buffer momentumBuffer;
    private final boolean[] hasBuffer;
    private final List<EncoderWeights.Entry> entries;
    /** The images as they arrive, before builder.py's batch shuffle reorders the keys into an encoder's input. */
    private final Activation keyImages;
    private final Pass pass12, pass21;
    private Float32Encoder evalEncoder;
    /** --detect-anomaly's checks, or null. */
    private Anomalies anomalies;

    /** A model in the state {@code init} describes (the golden-case spec's names), on {@code device}. */
    public Float32MoCo(MocoConfig config, Map<String, StoredTensor> init, String where, Device device) {
        this.config = config.validate();
        this.device = device;
        this.pool = new ActivationPool(device);
        ResNetLayout layout = ResNetLayout.of(config.model());
        Mechanism mechanism = config.mechanism();
        EncoderWeights weightsQ = new EncoderWeights(device, layout, true);
        weightsQ.load(init::get, "encoder_q.", where);
        int n = config.batch(), dim = config.model().dim(), g = config.devices();
        int[] image = config.image();
        // end-to-end encodes both views in one pass of 2N images over 2G devices (see ReferenceMoCo.endToEnd)
        boolean both = mechanism == Mechanism.END_TO_END;
        encoderQ = new Float32ResNet(device, weightsQ, both ? 2 * n : n, image, both ? 2 * g : g, true, pool);
        if (mechanism == Mechanism.MOCO) {
            EncoderWeights weightsK = new EncoderWeights(device, layout, false);
            weightsK.load(init::get, "encoder_k.", where);
            encoderK = new Float32ResNet(device, weightsK, n, image, g, false, pool);
            StoredTensor q = require(init, "queue", where);
            if (q.shape().length != 2 || q.shape()[0] != dim || q.shape()[1] != config.K()) {
                throw new MocoRefException(where + ": tensor 'queue' has shape " + Arrays.toString(q.shape())
                        + ", expected [" + dim + ", " + config.K() + "] (dim, K)");
            }
            queue = device.buffer((long) dim * config.K());
            device.write(q.toFloats(), 0, queue, 0, dim * config.K());
            queuePtr = require(init, "queue_ptr", where).toLongs()[0];
            if (queuePtr < 0 || queuePtr >= config.K() || queuePtr % config.keysPerStep() != 0) {
                throw new MocoRefException(where + ": queue_ptr " + queuePtr + " must be a multiple of the "
                        + config.keysPerStep() + " keys enqueued per step, below K = " + config.K());
            }
        } else {
            encoderK = null;
            queue = null;
        }
        if (mechanism == Mechanism.MEMORY_BANK) {
            StoredTensor b = require(init, "bank", where);
            if (b.shape().length != 2 || b.shape()[1] != dim || b.shape()[0] < 1) {
                throw new MocoRefException(where + ": tensor 'bank' has shape " + Arrays.toString(b.shape())
                        + ", expected [images, " + dim + "]");
            }
            bankRows = b.shape()[0];
            bank = device.buffer((long) bankRows * dim);
            device.write(b.toFloats(), 0, bank, 0, bankRows * dim);
        } else {
            bank = null;
            bankRows = 0;
        }
        entries = weightsQ.entries();
        momentumBuffer = device.buffer(weightsQ.total());
        hasBuffer = new boolean[entries.size()];
        for (int i = 0; i < hasBuffer.length; i++) {
            EncoderWeights.Entry e = entries.get(i);
            String name = "optimizer.encoder_q." + e.name() + ".momentum_buffer";
            StoredTensor buf = init.get(name);
            if (buf == null) continue;
            if (!Arrays.equals(buf.shape(), e.shape())) {
                throw new MocoRefException(where + ": tensor '" + name + "' has shape " + Arrays.toString(buf.shape())
                        + ", expected " + Arrays.toString(e.shape()));
            }
            device.write(buf.toFloats(), 0, momentumBuffer, e.offset(), e.size());
            hasBuffer[i] = true;
        }
        keyImages = mechanism == Mechanism.MEMORY_BANK ? null : device.activation(both ? 2 * n : n, image[0], image[1], image[2]);
        pass12 = newPass();
        pass21 = config.symmetric() ? newPass() : null;
    }

    private Pass newPass() {
        return switch (config.mechanism()) {
            case MOCO -> new MocoPass();
            case END_TO_END -> new EndToEndPass();
            case MEMORY_BANK -> new BankPass();
        };
    }

    private static StoredTensor require(Map<String, StoredTensor> init, String name, String where) {
        StoredTensor t = init.get(name);
        if (t == null) throw new MocoRefException(where + ": missing tensor '" + name + "'");
        return t;
    }

    /** Checks every layer's output and gradient, and the parameters after SGD, from now on (--detect-anomaly). */
    public void detectAnomalies() {
        anomalies = new Anomalies(device);
        encoderQ.detectAnomalies(anomalies);
        if (encoderK != null) encoderK.detectAnomalies(anomalies);
    }

    @Override
    public StepResult step(StepInput in) {
        if (anomalies != null) anomalies.step++;
        checkImages(in.imQ(), "im_q");
        checkImages(in.imK(), "im_k");
        boolean keys = config.mechanism() != Mechanism.MEMORY_BANK; // the memory bank encodes no keys
        int[] idx = keys ? keyShuffle(in.idxShuffle(), "idx_shuffle") : null;
        int[] idx2 = keys && pass21 != null ? keyShuffle(in.idxShuffle2(), "idx_shuffle2") : null;
        encoderQ.weights.zeroGrad();
        switch (config.mechanism()) {
            case MOCO -> {
                // L12: queries from view 1, keys from view 2; the momentum update sits after the first query
                // forward as in builder.py (it reads encoder_q's parameters, which no step has changed yet)
                MocoPass m12 = (MocoPass) pass12, m21 = (MocoPass) pass21;
                m12.query(in.imQ());
                momentumUpdateKeyEncoder(in.m());
                m12.keysAndLoss(in.imK(), idx);
                m12.backward();
                if (m21 != null) { // L21: queries from view 2, keys from view 1, the same queue
                    m21.query(in.imK());
                    m21.keysAndLoss(in.imQ(), idx2);
                    m21.backward();
                }
                // 6. enqueue after both losses read the old queue: view 1's keys (L21's) first, then view 2's
                if (m21 != null) dequeueAndEnqueue(m21.k);
                dequeueAndEnqueue(m12.k);
            }
            case END_TO_END -> {
                ((EndToEndPass) pass12).run(in.imQ(), in.imK(), idx);
                if (pass21 != null) ((EndToEndPass) pass21).run(in.imK(), in.imQ(), idx2);
            }
            case MEMORY_BANK -> ((BankPass) pass12).run(in.imQ(), in.index(), in.negatives());
            default -> throw new IllegalStateException();
        }
        // 7. SGD on encoder_q (8. running statistics were updated by each forward, from device 0)
        sgdStep(in.lr());
        if (anomalies != null) {
            for (EncoderWeights.Entry e : entries) anomalies.buffer(e.name() + " after SGD", encoderQ.weights.value, e.offset(), e.size());
        }
        double[] r12 = pass12.lossAndAccuracy(), r21 = pass21 == null ? null : pass21.lossAndAccuracy();
        double loss = r12[0] + (r21 == null ? 0 : r21[0]);
        double accuracy = r21 == null ? r12[1] : (r12[1] + r21[1]) / 2;
        return new StepResult(loss, accuracy, in.returnLogits() ? pass12.logits() : null,
                in.returnLogits() && pass21 != null ? pass21.logits() : null);
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

    private void checkImages(ImageBatch b, String name) {
        int[] want = config.image();
        if (b.n() != config.batch() || !Arrays.equals(b.imageShape(), want)) {
            throw new MocoRefException(name + " has " + b.n() + " images of " + Arrays.toString(b.imageShape())
                    + ", the model takes " + config.batch() + " of " + Arrays.toString(want));
        }
    }

    /** One contrastive loss: its logits (the positive in column 0) and each row's loss and hit, kept on the device. */
    private abstract class Pass {
        final int n = config.batch();
        final Buffer lossAndHit = device.rows(n, 2);
        final Buffer logits, dLogits;

        Pass(int cols) {
            logits = device.rows(n, cols);
            dLogits = device.rows(n, cols);
        }

        /** {mean loss, contrastive accuracy}, summed on the host in row order. */
        double[] lossAndAccuracy() {
            float[] r = new float[2 * n];
            device.read(lossAndHit, 0, r, 0, r.length);
            double loss = 0, hits = 0;
            for (int i = 0; i < n; i++) {
                loss += r[2 * i];
                hits += r[2 * i + 1];
            }
            return new double[] {loss / n, hits / n};
        }

        StoredTensor logits() {
            int cols = Math.toIntExact(logits.floats() / n);
            float[] l = new float[n * cols];
            device.read(logits, 0, l, 0, l.length);
            return StoredTensor.f32(l, n, cols);
        }
    }

    /** One MoCo loss L(q, k): its forward, and what its backward into encoder_q needs. */
    private final class MocoPass extends Pass {
        final int dim = config.model().dim(), cols = 1 + config.K();
        final Buffer q = device.rows(n, dim), qNorm = device.rows(n, 1);
        final Buffer k = device.rows(n, dim), kShuffled = device.rows(n, dim);
        final Buffer dq = device.rows(n, dim), dh = device.rows(n, dim);

        MocoPass() {
            super(1 + config.K());
        }

        /** 1. q = normalize(encoder_q(im_q)), each device normalizing its own chunk in BN. */
        void query(ImageBatch imQ) {
            device.writeImages(imQ.floats(), 0, encoderQ.input());
            device.l2Normalize(encoderQ.forward(config.devices()), q, qNorm, n, dim);
        }

        /** 3-5. keys through the shuffled key encoder, logits against the positive and the queue, InfoNCE. */
        void keysAndLoss(ImageBatch imK, int[] idxShuffle) {
            device.writeImages(imK.floats(), 0, keyImages);
            device.shuffleRows(keyImages, idxShuffle, encoderK.input()); // builder.py: _batch_shuffle_ddp
            device.l2Normalize(encoderK.forward(config.devices()), kShuffled, null, n, dim);
            device.unshuffleRows(kShuffled, idxShuffle, k, n, dim); // builder.py: _batch_unshuffle_ddp
            device.contrastiveLogits(q, k, queue, n, dim, config.K(), config.T(), logits);
            device.crossEntropy(logits, n, cols, n, dLogits, lossAndHit); // labels: zeros, the positive is class 0
        }

        /** Gradient of the loss into encoder_q's parameters: through the logits, the normalize, the encoder. */
        void backward() {
            device.contrastiveLogitsBackward(dLogits, k, queue, n, dim, config.K(), config.T(), dq);
            device.l2NormalizeBackward(dq, q, qNorm, dh, n, dim);
            encoderQ.backward(dh);
        }
    }

    /**
     * End-to-end (see ReferenceMoCo.endToEnd): both views through encoder_q in one pass of 2N
     * images, queries first, then the keys in their shuffled order; the batch's other keys are the
     * negatives, and the gradient reaches encoder_q through queries and keys alike.
     */
    private final class EndToEndPass extends Pass {
        final int dim = config.model().dim();
        final Buffer shuffled = device.rows(2 * n, dim), norm = device.rows(2 * n, 1), qk = device.rows(2 * n, dim);
        final Buffer dqk = device.rows(2 * n, dim), dShuffled = device.rows(2 * n, dim), dh = device.rows(2 * n, dim);
        final float[] views = new float[2 * n * config.image()[0] * config.image()[1] * config.image()[2]];

        EndToEndPass() {
            super(config.batch()); // [n, n]: the positive, then the other n-1 keys
        }

        void run(ImageBatch imQ, ImageBatch imK, int[] idxShuffle) {
            int[] order = new int[2 * n]; // the queries stay, the keys are shuffled among themselves
            for (int i = 0; i < n; i++) {
                order[i] = i;
                order[n + i] = n + idxShuffle[i];
            }
            int half = views.length / 2;
            System.arraycopy(imQ.floats(), 0, views, 0, half);
            System.arraycopy(imK.floats(), 0, views, half, half);
            device.writeImages(views, 0, keyImages);
            device.shuffleRows(keyImages, order, encoderQ.input());
            device.l2Normalize(encoderQ.forward(2 * config.devices()), shuffled, norm, 2 * n, dim);
            device.unshuffleRows(shuffled, order, qk, 2 * n, dim);
            device.batchLogits(qk, n, dim, config.T(), logits);
            device.crossEntropy(logits, n, n, n, dLogits, lossAndHit);
            device.batchLogitsBackward(dLogits, qk, n, dim, config.T(), dqk);
            device.gatherRows(dqk, dim, order, dShuffled); // the unshuffle's gradient: back to the encoder's order
            device.l2NormalizeBackward(dShuffled, shuffled, norm, dh, 2 * n, dim);
            encoderQ.backward(dh);
        }
    }

    /** The memory bank (see ReferenceMoCo.memoryBank): positives and negatives are bank rows; the batch's rows move afterwards. */
    private final class BankPass extends Pass {
        final int dim = config.model().dim(), kq = config.K();
        final Buffer q = device.rows(n, dim), qNorm = device.rows(n, 1), positives = device.rows(n, dim);
        final Buffer dictionary = device.buffer((long) dim * kq);
        final Buffer dq = device.rows(n, dim), dh = device.rows(n, dim);

        BankPass() {
            super(1 + config.K());
        }

        void run(ImageBatch imQ, int[] index, int[] negatives) {
            Indices.check(index, n, bankRows, true, "index");
            Indices.check(negatives, kq, bankRows, false, "negatives");
            device.writeImages(imQ.floats(), 0, encoderQ.input());
            device.l2Normalize(encoderQ.forward(config.devices()), q, qNorm, n, dim);
            device.gatherRows(bank, dim, index, positives);
            device.gatherColumns(bank, dim, negatives, dictionary);
            device.contrastiveLogits(q, positives, dictionary, n, dim, kq, config.T(), logits);
            device.crossEntropy(logits, n, 1 + kq, n, dLogits, lossAndHit);
            device.contrastiveLogitsBackward(dLogits, positives, dictionary, n, dim, kq, config.T(), dq);
            device.l2NormalizeBackward(dq, q, qNorm, dh, n, dim);
            encoderQ.backward(dh);
            // after the loss: v <- normalize(0.5 v + 0.5 q) for the batch's rows
            device.momentumUpdate(positives, q, (long) n * dim, BANK_MOMENTUM);
            device.l2Normalize(positives, positives, null, n, dim);
            device.scatterRows(positives, dim, index, bank);
        }
    }

    /**
     * 2. builder.py {@code _momentum_update_key_encoder}: {@code param_k = param_k*m + param_q*(1-m)}
     * for every parameter; BatchNorm's running statistics are buffers and are not averaged.
     */
    void momentumUpdateKeyEncoder(double m) {
        device.momentumUpdate(encoderK.weights.value, encoderQ.weights.value, encoderQ.weights.total(), m);
    }

    /** 6. builder.py {@code _dequeue_and_enqueue}: {@code queue[:, ptr:ptr+N] = keys.T; ptr = (ptr+N) % K}. */
    void dequeueAndEnqueue(Buffer keys) {
        int n = config.batch(), kq = config.K();
        int ptr = (int) queuePtr;
        if (ptr + n > kq) throw new IllegalStateException("queue_ptr " + ptr + " + " + n + " keys overruns K = " + kq);
        device.enqueue(queue, keys, n, config.model().dim(), kq, ptr);
        queuePtr = (ptr + n) % kq;
    }

    /**
     * 7. PyTorch SGD with momentum and weight decay: {@code d = grad + wd*theta; buf = d on a
     * parameter's first step, else momentum*buf + d; theta -= lr*buf}. One device call per run of
     * consecutive parameters that agree on whether they have a buffer yet (one call, after the first step).
     */
    private void sgdStep(double lr) {
        EncoderWeights w = encoderQ.weights;
        int p = 0;
        while (p < hasBuffer.length) {
            int end = p;
            while (end < hasBuffer.length && hasBuffer[end] == hasBuffer[p]) end++;
            long from = entries.get(p).offset();
            long to = entries.get(end - 1).offset() + entries.get(end - 1).size();
            device.sgd(w.value, w.grad, momentumBuffer, from, to - from, lr, config.momentum(), config.weightDecay(), !hasBuffer[p]);
            p = end;
        }
        Arrays.fill(hasBuffer, true);
    }

    @Override
    public Map<String, StoredTensor> state() {
        Map<String, StoredTensor> s = new LinkedHashMap<>(encoderQ.weights.stateDict("encoder_q."));
        int dim = config.model().dim();
        if (encoderK != null) {
            s.putAll(encoderK.weights.stateDict("encoder_k."));
            float[] qv = new float[dim * config.K()];
            device.read(queue, 0, qv, 0, qv.length);
            s.put("queue", StoredTensor.f32(qv, dim, config.K()));
            s.put("queue_ptr", StoredTensor.i64(new long[] {queuePtr}, 1));
        }
        if (bank != null) {
            float[] bv = new float[bankRows * dim];
            device.read(bank, 0, bv, 0, bv.length);
            s.put("bank", StoredTensor.f32(bv, bankRows, dim));
        }
        float[] buf = new float[Math.toIntExact(encoderQ.weights.total())];
        device.read(momentumBuffer, 0, buf, 0, buf.length);
        for (int p = 0; p < hasBuffer.length; p++) {
            if (!hasBuffer[p]) continue;
            EncoderWeights.Entry e = entries.get(p);
            int from = Math.toIntExact(e.offset());
            s.put("optimizer.encoder_q." + e.name() + ".momentum_buffer",
                    StoredTensor.f32(Arrays.copyOfRange(buf, from, from + e.size()), e.shape()));
        }
        return s;
    }

    @Override
    public Encoder encoderQ() {
        if (evalEncoder == null) evalEncoder = new Float32Encoder(device, encoderQ.weights, pool);
        return evalEncoder;
    }

    @Override
    public void close() {
        device.close();
    }

    /** The device this model runs on, for reports. */
    public Device device() {
        return device;
    }
}
