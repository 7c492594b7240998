// BatchNorm2d (eps 1e-5, momentum 0.1, affine) over NCHW activations, with MoCo's logical devices:
// in training, each of G contiguous chunks of the batch (perGroup images each) is normalized with
// its own mean and biased variance; running statistics follow chunk 0 alone. The block's residual
// add and ReLU are fused into the forward, their gradients into the backward.
//
// Java twins: CpuDevice's BatchNorm2d and the reference BatchNorm2d, ReLU and residual add
// (mocoref.opencl.KernelTwins: "bn_stats", "bn_forward_train", "bn_forward_eval",
// "bn_backward_reduce", "bn_backward_params", "bn_backward_input").
//
// Determinism: the statistics of a (chunk, channel) are one work-group's: each work-item sums a
// fixed strided subset in order, then a fixed tree in local memory; the parameter gradients add
// the chunks' sums in chunk order. Two passes for the variance (sum of squared deviations from the
// mean), so that a mean far from zero does not cancel.

#define BN_LOCAL 256
#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

// red[0] = sum of red[0 .. BN_LOCAL), a fixed tree; every work-item must call it.
inline float bn_tree_sum(__local float* red, const int lid, const float v) {
    barrier(CLK_LOCAL_MEM_FENCE); // red may still be read by the previous reduction
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = BN_LOCAL / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return red[0];
}

// Element e of chunk g, channel c: image g perGroup + e / HW, position e % HW; each work-item walks
// e = lid, lid + BN_LOCAL, ... keeping (image, position) without a division per element.
#define BN_CHUNK_LOOP(body)                                                                 \
    {                                                                                        \
        const int dImg = BN_LOCAL / HW, dPos = BN_LOCAL - dImg * HW;                          \
        int im = g * perGroup + lid / HW, pos = lid % HW;                                     \
        for (int e = lid; e < count; e += BN_LOCAL) {                                        \
            const int i = (im * C + c) * HW + pos;                                           \
            body;                                                                            \
            im += dImg;                                                                      \
            pos += dPos;                                                                     \
            if (pos >= HW) {                                                                 \
                pos -= HW;                                                                   \
                im++;                                                                        \
            }                                                                                \
        }                                                                                    \
    }

// Work-group (c, g): mean[g C + c], invStd[g C + c] of chunk g, channel c; with g = 0 and
// updateRunning, running_mean and running_var (unbiased) move by momentum 0.1 toward them.
__kernel __attribute__((reqd_work_group_size(BN_LOCAL, 1, 1)))
void bn_stats(__global const float* x, const int C, const int HW, const int perGroup,
              __global float* mean, __global float* invStd,
              __global float* running, const int meanOff, const int varOff, const int updateRunning) {
    __local float red[BN_LOCAL];
    const int c = get_group_id(0), g = get_group_id(1), lid = get_local_id(0);
    const int count = perGroup * HW;
    float s = 0.0f;
    BN_CHUNK_LOOP(s += x[i]);
    const float mu = bn_tree_sum(red, lid, s) / count;
    float s2 = 0.0f;
    BN_CHUNK_LOOP({ const float d = x[i] - mu; s2 += d * d; });
    const float var = bn_tree_sum(red, lid, s2) / count;
    if (lid == 0) {
        mean[g * C + c] = mu;
        invStd[g * C + c] = 1.0f / sqrt(var + BN_EPS);
        if (g == 0 && updateRunning) {
            running[meanOff + c] = (1.0f - BN_MOMENTUM) * running[meanOff + c] + BN_MOMENTUM * mu;
            const float unbiased = count > 1 ? var * count / (count - 1) : var;
            running[varOff + c] = (1.0f - BN_MOMENTUM) * running[varOff + c] + BN_MOMENTUM * unbiased;
        }
    }
}

// y = f(gamma (x - mean) invStd + beta [+ res]) with the statistics of each element's chunk;
// f = ReLU when relu. y may be x or res (elementwise).
__kernel void bn_forward_train(__global const float* x, __global const float* res, const int hasRes, const int relu,
                               __global float* y, __global const float* mean, __global const float* invStd,
                               __global const float* params, const int gammaOff, const int betaOff,
                               const int C, const int HW, const int perGroup, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int plane = i / HW, im = plane / C, c = plane - im * C, gc = (im / perGroup) * C + c;
    float v = (x[i] - mean[gc]) * invStd[gc] * params[gammaOff + c] + params[betaOff + c];
    if (hasRes) v += res[i];
    y[i] = relu ? fmax(v, 0.0f) : v;
}

// Eval mode: y = f(gamma (x - running_mean) / sqrt(running_var + eps) + beta [+ res]).
__kernel void bn_forward_eval(__global const float* x, __global const float* res, const int hasRes, const int relu,
                              __global float* y, __global const float* running, const int meanOff, const int varOff,
                              __global const float* params, const int gammaOff, const int betaOff,
                              const int C, const int HW, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int c = (i / HW) % C;
    float v = (x[i] - running[meanOff + c]) / sqrt(running[varOff + c] + BN_EPS) * params[gammaOff + c]
              + params[betaOff + c];
    if (hasRes) v += res[i];
    y[i] = relu ? fmax(v, 0.0f) : v;
}

// Work-group (c, g): dz = dy, or dy where y > 0 (hasY: through the fused ReLU), written to dz when
// writeDz; sumDz[g C + c] = sum dz, sumDzXhat[g C + c] = sum dz xhat over chunk g, channel c.
// dz may be dy.
__kernel __attribute__((reqd_work_group_size(BN_LOCAL, 1, 1)))
void bn_backward_reduce(__global const float* dy, __global const float* y, const int hasY,
                        __global float* dz, const int writeDz, __global const float* x,
                        __global const float* mean, __global const float* invStd,
                        __global float* sumDz, __global float* sumDzXhat,
                        const int C, const int HW, const int perGroup) {
    __local float red[BN_LOCAL];
    const int c = get_group_id(0), g = get_group_id(1), lid = get_local_id(0);
    const int count = perGroup * HW;
    const float mu = mean[g * C + c], is = invStd[g * C + c];
    float s = 0.0f, sx = 0.0f;
    BN_CHUNK_LOOP({
        float d = dy[i];
        if (hasY && !(y[i] > 0.0f)) d = 0.0f;
        if (writeDz) dz[i] = d;
        s += d;
        sx += d * ((x[i] - mu) * is);
    });
    const float total = bn_tree_sum(red, lid, s);
    const float totalX = bn_tree_sum(red, lid, sx);
    if (lid == 0) {
        sumDz[g * C + c] = total;
        sumDzXhat[g * C + c] = totalX;
    }
}

// dgamma[c] += sum over chunks g, in order, of sumDzXhat[g C + c]; dbeta[c] += of sumDz[g C + c].
__kernel void bn_backward_params(__global const float* sumDz, __global const float* sumDzXhat, const int groups,
                                 const int C, __global float* grad, const int gammaOff, const int betaOff) {
    const int c = get_global_id(0);
    if (c >= C) return;
    float a = 0.0f, b = 0.0f;
    for (int g = 0; g < groups; g++) {
        a += sumDzXhat[g * C + c];
        b += sumDz[g * C + c];
    }
    grad[gammaOff + c] += a;
    grad[betaOff + c] += b;
}

// dx = gamma invStd (dz - mean(dz) - xhat mean(dz xhat)), the means over the element's chunk and
// channel. dx may be dz.
__kernel void bn_backward_input(__global const float* dz, __global const float* x, __global const float* mean,
                                __global const float* invStd, __global const float* sumDz,
                                __global const float* sumDzXhat, __global const float* params, const int gammaOff,
                                __global float* dx, const int C, const int HW, const int perGroup, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int plane = i / HW, im = plane / C, c = plane - im * C, gc = (im / perGroup) * C + c;
    const float count = (float) (perGroup * HW);
    const float is = invStd[gc], xhat = (x[i] - mean[gc]) * is;
    dx[i] = params[gammaOff + c] * is * (dz[i] - sumDz[gc] / count - xhat * (sumDzXhat[gc] / count));
}
