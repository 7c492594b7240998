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
import mocoref.model.ResNetLayout;
import mocoref.tensor.Permutations;

/**
 * MoCo's training step in float32 on any {@link Device}, written once: the same steps as the
 * float64 {@code reference.ReferenceMoCo}, and the official {@code moco/builder.py} (class
 * {@code MoCo}), with the official names, over device operations. Both encoders, the queue and the
 * optimizer state stay on the device; a step sends it the two views and the shuffles, and brings
 * back 2N floats (each query's loss and whether its positive won) and, only when asked, the logits.
 */
public final class Float32MoCo implements MocoModel {
    private final MocoConfig config;
    private final Device device;
    private final ActivationPool pool;
    /** builder.py: {@code self.encoder_q}, trained by SGD. */
    final Float32ResNet encoderQ;
    /** builder.py: {@code self.encoder_k}, a moving average of encoder_q; never gets gradients. */
    final Float32ResNet encoderK;
    /** builder.py: {@code self.queue}, [dim, K]: column j is a key from a recent batch. */
    final Buffer queue;
    /** builder.py: {@code self.queue_ptr}: where the next batch of keys is written. */
    long queuePtr;
    /** SGD's momentum buffers, laid out as encoder_q's parameters; per parameter, whether it has one yet. */
    private final Buffer momentumBuffer;
    private final boolean[] hasBuffer;
    private final List<EncoderWeights.Entry> entries;
    /** The key view as it arrives, before builder.py's batch shuffle reorders it into encoder_k's input. */
    private final Activation keyImages;
    private final Pass pass12, pass21;
    private Float32Encoder evalEncoder;

    /** A model in the state {@code init} describes (the golden-case spec's names), on {@code device}. */
    public Float32MoCo(MocoConfig config, Map<String, StoredTensor> init, String where, Device device) {
        this.config = config.validate();
        this.device = device;
        this.pool = new ActivationPool(device);
        ResNetLayout layout = ResNetLayout.of(config.model());
        EncoderWeights weightsQ = new EncoderWeights(device, layout, true);
        EncoderWeights weightsK = new EncoderWeights(device, layout, false);
        weightsQ.load(init::get, "encoder_q.", where);
        weightsK.load(init::get, "encoder_k.", where);
        int n = config.batch(), dim = config.model().dim();
        encoderQ = new Float32ResNet(device, weightsQ, n, config.image(), config.devices(), true, pool);
        encoderK = new Float32ResNet(device, weightsK, n, config.image(), config.devices(), false, pool);
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
        int[] image = config.image();
        keyImages = device.activation(n, image[0], image[1], image[2]);
        pass12 = new Pass();
        pass21 = config.symmetric() ? new Pass() : null;
    }

    private static StoredTensor require(Map<String, StoredTensor> init, String name, String where) {
        StoredTensor t = init.get(name);
        if (t == null) throw new MocoRefException(where + ": missing tensor '" + name + "'");
        return t;
    }

    @Override
    public StepResult step(StepInput in) {
        checkImages(in.imQ(), "im_q");
        checkImages(in.imK(), "im_k");
        Permutations.check(in.idxShuffle(), config.batch(), "idx_shuffle");
        if (pass21 != null) Permutations.check(in.idxShuffle2(), config.batch(), "idx_shuffle2");
        encoderQ.weights.zeroGrad();
        // L12: queries from view 1, keys from view 2; the momentum update sits after the first query
        // forward as in builder.py (it reads encoder_q's parameters, which no step has changed yet)
        pass12.query(in.imQ());
        momentumUpdateKeyEncoder(in.m());
        pass12.keysAndLoss(in.imK(), in.idxShuffle());
        pass12.backward();
        if (pass21 != null) { // L21: queries from view 2, keys from view 1, the same queue
            pass21.query(in.imK());
            pass21.keysAndLoss(in.imQ(), in.idxShuffle2());
            pass21.backward();
        }
        // 6. enqueue after both losses read the old queue: view 1's keys (L21's) first, then view 2's
        if (pass21 != null) dequeueAndEnqueue(pass21.k);
        dequeueAndEnqueue(pass12.k);
        // 7. SGD on encoder_q (8. running statistics were updated by each forward, from device 0)
        sgdStep(in.lr());
        double[] r12 = pass12.lossAndAccuracy(), r21 = pass21 == null ? null : pass21.lossAndAccuracy();
        double loss = r12[0] + (r21 == null ? 0 : r21[0]);
        double accuracy = r21 == null ? r12[1] : (r12[1] + r21[1]) / 2;
        return new StepResult(loss, accuracy, in.returnLogits() ? pass12.logits() : null,
                in.returnLogits() && pass21 != null ? pass21.logits() : null);
    }

    private void checkImages(ImageBatch b, String name) {
        int[] want = config.image();
        if (b.n() != config.batch() || !Arrays.equals(b.imageShape(), want)) {
            throw new MocoRefException(name + " has " + b.n() + " images of " + Arrays.toString(b.imageShape())
                    + ", the model takes " + config.batch() + " of " + Arrays.toString(want));
        }
    }

    /** One contrastive loss L(q, k): its forward, and what its backward into encoder_q needs. */
    private final class Pass {
        final int n = config.batch(), dim = config.model().dim(), cols = 1 + config.K();
        final Buffer q = device.rows(n, dim), qNorm = device.rows(n, 1);
        final Buffer k = device.rows(n, dim), kShuffled = device.rows(n, dim);
        final Buffer logits = device.rows(n, cols), dLogits = device.rows(n, cols);
        final Buffer dq = device.rows(n, dim), dh = device.rows(n, dim);
        final Buffer lossAndHit = device.rows(n, 2);

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
            float[] l = new float[n * cols];
            device.read(logits, 0, l, 0, l.length);
            return StoredTensor.f32(l, n, cols);
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
        s.putAll(encoderK.weights.stateDict("encoder_k."));
        int dim = config.model().dim();
        float[] qv = new float[dim * config.K()];
        device.read(queue, 0, qv, 0, qv.length);
        s.put("queue", StoredTensor.f32(qv, dim, config.K()));
        s.put("queue_ptr", StoredTensor.i64(new long[] {queuePtr}, 1));
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
