package mocoref.device;

/**
 * A float32 compute device: memory it owns and the operations the float32 model
 * ({@code mocoref.float32}) is written in. The model (the ResNet wiring, the MoCo step) is written
 * once against this interface; a device (the {@code cpu} one, the {@code opencl} one) implements
 * the operations however it likes (layout, fusion, threads, kernels) as long as each computes what
 * its documentation says, to float32 rounding. Each operation here says what it computes, not how.
 *
 * <p>Memory: a {@link Buffer} is flat float32 data (parameters, gradients, the queue, [rows, cols]
 * matrices, row-major); an {@link Activation} is a batch of feature maps [N, C, H, W] in whatever
 * layout the device prefers, read and written only through the device. Both start at zero. Data
 * moves between host and device only through {@link #write}, {@link #read}, {@link #writeImages}
 * and {@link #readActivation}: what stays on the device across steps never crosses.
 *
 * <p>Layers with weights and a fixed geometry ({@link Conv2d}, {@link BatchNorm2d}, {@link Linear},
 * the poolings) are created once per layer instance, bound to their parameters' slices, so that a
 * device may prepare for that one shape (pack, plan, allocate scratch). Their {@code backward}
 * methods add into the bound parameter gradients and set (or, where they say so, add into) the
 * input gradient, as in the reference layers.
 *
 * <p>Calls are not thread-safe: one caller drives a device at a time. Results must depend only on
 * the inputs and the device's configuration (e.g. its thread count), never on timing.
 */
public interface Device extends AutoCloseable {
    /** The device kind, as {@code --backend} names it ("cpu", "opencl"). */
    String name();

    /** What it runs on, for logs ("vector-512 8x32 kernels, 2 threads"). */
    String describe();

    // ---- memory ----------------------------------------------------------------------------

    /** A zeroed flat buffer of {@code floats} floats: state (parameters, the queue, optimizer buffers). */
    Buffer buffer(long floats);

    /**
     * A zeroed buffer [rows, cols] whose rows are the samples of a batch (features, embeddings,
     * logits, per-row losses). Where {@link #buffer} holds state, this holds one row per image: a
     * device spread over several (data parallel) splits it by rows where it replicates state.
     */
    Buffer rows(int rows, int cols);

    /** A zeroed activation [n, channels, h, w]. */
    Activation activation(int n, int channels, int h, int w);

    /**
     * An activation [n, channels, h, w] that may share its memory with every other activation this
     * device gave out for {@code bank}, whatever their geometry: the caller guarantees that no two of
     * them are live at once, and writes one before reading it (its values are undefined until
     * then). A device may give each its own memory, as this default does.
     */
    default Activation sharedActivation(int bank, int n, int channels, int h, int w) {
        return activation(n, channels, h, w);
    }

    /** dst[dstOffset .. dstOffset+length) = src[srcOffset .. srcOffset+length). */
    void write(float[] src, int srcOffset, Buffer dst, long dstOffset, int length);

    /** dst[dstOffset .. dstOffset+length) = src[srcOffset .. srcOffset+length). */
    void read(Buffer src, long srcOffset, float[] dst, int dstOffset, int length);

    /** dst = the dst.n() images [C, H, W] of {@code nchw}, row-major, starting at {@code offset}. */
    void writeImages(float[] nchw, int offset, Activation dst);

    /** The activation as row-major [N, C, H, W] floats. */
    float[] readActivation(Activation src);

    /** dst[offset .. offset+n) = value. */
    void fill(Buffer dst, long offset, long n, float value);

    /** dst += src, elementwise, over two activations of one geometry (the residual gradient's sum). */
    void add(Activation src, Activation dst);

    // ---- layers ----------------------------------------------------------------------------

    /** A convolution without bias on activations of {@code in}'s geometry; weight [out, in, k, k]. */
    Conv2d conv2d(ConvShape shape, ParamRef weight);

    /**
     * BatchNorm over {@code channels} of activations of geometry (n, h, w), eps 1e-5, momentum 0.1,
     * affine; in training it normalizes each of {@code groups <= maxGroups} contiguous chunks of the
     * batch with the chunk's own statistics (the logical devices of shuffle BN).
     */
    BatchNorm2d batchNorm2d(int channels, int n, int h, int w, int maxGroups, ParamRef weight, ParamRef bias,
                            Buffer runningStats, long runningMeanOffset, long runningVarOffset);

    /** Max pooling over activations [n, channels, h, w]: windows of {@code kernel}, stride, padding counted as minus infinity. */
    MaxPool2d maxPool2d(int channels, int n, int h, int w, int kernel, int stride, int padding);

    /** The global average pool of activations [n, channels, h, w] into a buffer [n, channels]. */
    GlobalAvgPool globalAvgPool(int channels, int n, int h, int w);

    /** PyTorch's nn.Linear: y = x W^T + b, x [rows, in], W [out, in], b [out], for up to {@code maxRows} rows. */
    Linear linear(int in, int out, int maxRows, ParamRef weight, ParamRef bias);

    /** A convolution's geometry: {@code in} channels of n images h x w to {@code out} channels. */
    record ConvShape(int in, int out, int kernel, int stride, int padding, int n, int h, int w) {
        public int outH() {
            return (h + 2 * padding - kernel) / stride + 1;
        }

        public int outW() {
            return (w + 2 * padding - kernel) / stride + 1;
        }
    }

    interface Conv2d {
        /** y[n,o,i,j] = sum_{c,u,v} W[o,c,u,v] x[n,c,i*s+u-p, j*s+v-p] (zero outside the image). */
        void forward(Activation x, Activation y);

        /** dW += dL/dW = sum_{n,i,j} dy[n,o,i,j] x[n,c,i*s+u-p, j*s+v-p]; x is the forward's input. */
        void backwardWeight(Activation dy, Activation x);

        /** dx = (or with {@code accumulate} dx +=) dL/dx, the transposed convolution of dy with W. */
        void backwardInput(Activation dy, Activation dx, boolean accumulate);
    }

    interface BatchNorm2d {
        /**
         * Training mode over {@code groups} chunks: per chunk g and channel c, mean and biased variance
         * of x over the chunk's images and positions; y = f(gamma (x - mean) / sqrt(var + eps) + beta
         * [+ residual]), f = ReLU when {@code relu}, else identity; residual may be null. Saves what
         * {@link #backward} needs. running_mean and running_var (unbiased) move by momentum 0.1 toward
         * chunk 0's statistics alone (DistributedDataParallel broadcasts rank 0's buffers). y may be
         * x or residual.
         */
        void forwardTrain(Activation x, Activation residual, boolean relu, Activation y, int groups);

        /** Eval mode: y = f(gamma (x - running_mean) / sqrt(running_var + eps) + beta [+ residual]); nothing saved or updated. */
        void forwardEval(Activation x, Activation residual, boolean relu, Activation y);

        /**
         * The gradient of the last {@link #forwardTrain}: dz = dy, or with {@code y} (its output)
         * given, dz = dy where y > 0 else 0 (through the fused ReLU): what the residual branch
         * receives. dx = BatchNorm's input gradient from dz (per chunk); dgamma += sum dz xhat, dbeta
         * += sum dz. x is the forward's input. dz may be dy, dx may be dz.
         */
        void backward(Activation dy, Activation y, Activation x, Activation dz, Activation dx);
    }

    interface MaxPool2d {
        /** The output geometry's rows and columns. */
        int outH();

        int outW();

        /** y = the maximum of each window (the first in row-major order among equals, as PyTorch). */
        void forward(Activation x, Activation y);

        /** dx = 0, then each output's gradient added to the input that won its window in the last forward. */
        void backward(Activation dy, Activation dx);
    }

    interface GlobalAvgPool {
        /** y[n, c] = the mean of x[n, c, :, :]. */
        void forward(Activation x, Buffer y);

        /** dx[n, c, i, j] = dy[n, c] / (h w). */
        void backward(Buffer dy, Activation dx);
    }

    interface Linear {
        /** y [rows, out] = x [rows, in] W^T + b. */
        void forward(Buffer x, Buffer y, int rows);

        /** dW += dy^T x, db += sum over rows of dy; dx = dy W when dx is not null. */
        void backward(Buffer dy, Buffer x, Buffer dx, int rows);
    }

    // ---- the head, the loss and the optimizer, on flat buffers ---------------------------------

    /** y[i] = max(x[i], 0) for i < n; y may be x. */
    void relu(Buffer x, Buffer y, int n);

    /** dx[i] = y[i] > 0 ? dy[i] : 0, y the ReLU's output; dx may be dy. */
    void reluBackward(Buffer dy, Buffer y, Buffer dx, int n);

    /** F.normalize(x, dim=1, eps=1e-12): y[r] = x[r] / max(|x[r]|, eps) over [rows, cols]; norm[r] = |x[r]| (norm may be null). */
    void l2Normalize(Buffer x, Buffer y, Buffer norm, int rows, int cols);

    /** dx[r] = (dy[r] - y[r] (y[r].dy[r])) / |x[r]|, or dy[r] / eps where the norm was clamped; y and norm from the forward. */
    void l2NormalizeBackward(Buffer dy, Buffer y, Buffer norm, Buffer dx, int rows, int cols);

    /** builder.py's batch shuffle: image i of dst = image order[i] of src (same geometry). */
    void shuffleRows(Activation src, int[] order, Activation dst);

    /** builder.py's batch unshuffle on [rows, cols]: dst[order[i]] = src[i]. */
    void unshuffleRows(Buffer src, int[] order, Buffer dst, int rows, int cols);

    /**
     * MoCo's logits [n, 1+K]: column 0 = q[r].k[r] / T, column 1+j = q[r].queue[:, j] / T, for q and k
     * [n, dim] and queue [dim, K] (column j a key).
     */
    void contrastiveLogits(Buffer q, Buffer k, Buffer queue, int n, int dim, int K, double T, Buffer logits);

    /** dq [n, dim] = (dLogits[:, 0] * k + dLogits[:, 1:] queue^T) / T; keys and queue get no gradient. */
    void contrastiveLogitsBackward(Buffer dLogits, Buffer k, Buffer queue, int n, int dim, int K, double T, Buffer dq);

    /**
     * F.cross_entropy(logits, zeros) per row of [rows, cols]: into {@code lossAndHit} [rows, 2],
     * loss[r] = logsumexp(logits[r]) - logits[r, 0] and 1 or 0 as logits[r, 0] is strictly the
     * largest of its row (the contrastive accuracy); dLogits = (softmax(logits) - onehot(0)) / meanOver,
     * the gradient of the loss averaged over {@code meanOver} rows (the whole batch's).
     */
    void crossEntropy(Buffer logits, int rows, int cols, int meanOver, Buffer dLogits, Buffer lossAndHit);

    /**
     * End-to-end's logits [n, n] from qk [2n, dim] (rows 0..n-1 the queries, n..2n-1 their keys):
     * row i is [q_i.k_i, q_i.k_j for every j != i in increasing order] / T, the positive first and
     * the batch's other keys as the negatives.
     */
    void batchLogits(Buffer qk, int n, int dim, double T, Buffer logits);

    /** dqk [2n, dim] = the gradient of {@link #batchLogits} for dLogits [n, n]: into the queries (rows 0..n-1) and the keys (rows n..). */
    void batchLogitsBackward(Buffer dLogits, Buffer qk, int n, int dim, double T, Buffer dqk);

    /** out[i, :] = table[index[i], :] for table [*, cols] and out [index.length, cols]. */
    void gatherRows(Buffer table, int cols, int[] index, Buffer out);

    /** out[:, i] = table[index[i], :] for table [*, cols] and out [cols, index.length] (rows become columns, as the queue holds its keys). */
    void gatherColumns(Buffer table, int cols, int[] index, Buffer out);

    /** table[index[i], :] = src[i, :] for src [index.length, cols] (distinct indices). */
    void scatterRows(Buffer src, int cols, int[] index, Buffer table);

    /** builder.py's momentum update: k[i] = k[i] m + q[i] (1 - m) for i < n. */
    void momentumUpdate(Buffer k, Buffer q, long n, double m);

    /**
     * PyTorch SGD (no dampening, no Nesterov) on theta[offset .. offset+n): d = grad + wd theta;
     * buf = d when {@code first} (the parameter's first step), else momentum buf + d; theta -= lr buf.
     */
    void sgd(Buffer theta, Buffer grad, Buffer buf, long offset, long n, double lr, double momentum, double weightDecay,
             boolean first);

    /** builder.py's dequeue and enqueue: queue[:, ptr + i] = keys[i] for i < n, keys [n, dim], queue [dim, K]. */
    void enqueue(Buffer queue, Buffer keys, int n, int dim, int K, int ptr);

    /** Frees what the device holds (worker threads are shared and stay). */
    @Override
    void close();
}
