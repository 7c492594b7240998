// MoCo's own operations (moco/builder.py): the batch shuffle, the logits' positive column, the
// InfoNCE cross-entropy, the momentum update, SGD and the queue's enqueue. The logits' negative
// columns are a product (gemm.cl).
//
// Java twins: CpuDevice's shuffleRows, unshuffleRows, contrastiveLogits(Backward), crossEntropy,
// momentumUpdate, sgd, enqueue and ReferenceMoCo's and the reference CrossEntropy and Sgd
// (mocoref.opencl.KernelTwins: one twin per kernel name below).
//
// Determinism: a row's sums are one work-item's in order, or (cross_entropy) one work-group's
// fixed tree.

// builder.py _batch_shuffle_ddp: image i of dst = image order[i] of src, images of per floats.
__kernel void shuffle_images(__global const float* src, __global const int* order, __global float* dst,
                             const int per, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int img = i / per, e = i - img * per;
    dst[i] = src[order[img] * per + e];
}

// builder.py _batch_unshuffle_ddp on [rows, cols]: dst[order[r]] = src[r].
__kernel void unshuffle_rows(__global const float* src, __global const int* order, __global float* dst,
                             const int cols, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int r = i / cols, c = i - r * cols;
    dst[order[r] * cols + c] = src[i];
}

// logits[r, 0] = q[r] . k[r] / T (l_pos), rows of logits ld floats apart.
__kernel void positive_logits(__global const float* q, __global const float* k, __global float* logits,
                              const int dim, const int ld, const float invT, const int rows) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    float s = 0.0f;
    for (int c = 0; c < dim; c++) s += q[r * dim + c] * k[r * dim + c];
    logits[r * ld] = s * invT;
}

// dq[r] += dLogits[r, 0] / T k[r]: the positive column's part of the query gradient.
__kernel void positive_logits_backward(__global const float* dLogits, const int ld, __global const float* k,
                                       __global float* dq, const int dim, const float invT, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int r = i / dim;
    dq[i] += dLogits[r * ld] * invT * k[i];
}

#define CE_LOCAL 256

// Work-group r: F.cross_entropy(logits[r], 0): lossAndHit[r] = (logsumexp - logits[r, 0], 1 when
// logits[r, 0] is strictly the largest else 0); dLogits[r] = (softmax - onehot(0)) / meanOver.
__kernel __attribute__((reqd_work_group_size(CE_LOCAL, 1, 1)))
void cross_entropy(__global const float* logits, const int cols, const int meanOver,
                   __global float* dLogits, __global float* lossAndHit) {
    __local float red[CE_LOCAL];
    __local int beaten[CE_LOCAL];
    const int r = get_group_id(0), lid = get_local_id(0);
    __global const float* x = logits + (long) r * cols;
    __global float* d = dLogits + (long) r * cols;
    const float x0 = x[0];
    float m = -INFINITY;
    int b = 0;
    for (int j = lid; j < cols; j += CE_LOCAL) {
        m = fmax(m, x[j]);
        if (j > 0 && !(x[j] < x0)) b = 1;
    }
    red[lid] = m;
    beaten[lid] = b;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = CE_LOCAL / 2; s > 0; s >>= 1) {
        if (lid < s) {
            red[lid] = fmax(red[lid], red[lid + s]);
            beaten[lid] |= beaten[lid + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float max = red[0];
    const int hit = !beaten[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    float s = 0.0f;
    for (int j = lid; j < cols; j += CE_LOCAL) {
        const float e = exp(x[j] - max);
        d[j] = e;
        s += e;
    }
    red[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int t = CE_LOCAL / 2; t > 0; t >>= 1) {
        if (lid < t) red[lid] += red[lid + t];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float sum = red[0];
    const float scale = 1.0f / (sum * meanOver), inv = 1.0f / meanOver;
    for (int j = lid; j < cols; j += CE_LOCAL) d[j] = j == 0 ? d[j] * scale - inv : d[j] * scale;
    if (lid == 0) {
        lossAndHit[2 * r] = max + log(sum) - x0;
        lossAndHit[2 * r + 1] = hit ? 1.0f : 0.0f;
    }
}

// builder.py _momentum_update_key_encoder: k = k m + q (1 - m), two rounded products and a rounded
// sum as PyTorch's float32 tensors compute it (no contraction into an fma).
__kernel void momentum_update(__global float* k, __global const float* q, const float m, const float oneMinusM,
                              const int n) {
#pragma OPENCL FP_CONTRACT OFF
    const int i = get_global_id(0);
    if (i < n) k[i] = k[i] * m + q[i] * oneMinusM;
}

// PyTorch SGD on theta[offset, offset + n), rounded as its CPU kernels round it: d = grad + wd theta
// and theta - lr buf are fused (ATen's add with alpha is fmadd); buf = d on the first step, else the
// rounded momentum buf plus d.
__kernel void sgd(__global float* theta, __global const float* grad, __global float* buf, const int offset,
                  const int n, const float lr, const float momentum, const float wd, const int first) {
#pragma OPENCL FP_CONTRACT OFF
    const int i = get_global_id(0);
    if (i >= n) return;
    const int at = offset + i;
    const float d = fma(theta[at], wd, grad[at]);
    const float b = first ? d : buf[at] * momentum + d;
    buf[at] = b;
    theta[at] = fma(b, -lr, theta[at]);
}

// builder.py _dequeue_and_enqueue: queue[:, ptr + i] = keys[i], keys [n, dim], queue [dim, K].
__kernel void enqueue_keys(__global float* queue, __global const float* keys, const int dim, const int K,
                           const int ptr, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int r = i / dim, c = i - r * dim;
    queue[c * K + ptr + r] = keys[i];
}

// ---- the ablations' mechanisms (end-to-end, memory bank) ------------------------------------------

// End-to-end's logits [n, n] from qk [2n, dim] (queries, then their keys): row i is
// [q_i . k_i, q_i . k_j for every j != i in increasing order] / T. Work-item (i, j): one dot product.
__kernel void batch_logits(__global const float* qk, const int n, const int dim, const float invT,
                           __global float* logits) {
    const int i = get_global_id(0) / n, j = get_global_id(0) % n;
    if (i >= n) return;
    float s = 0.0f;
    for (int c = 0; c < dim; c++) s += qk[i * dim + c] * qk[(n + j) * dim + c];
    logits[i * n + (j == i ? 0 : j < i ? j + 1 : j)] = s * invT;
}

// dqk [2n, dim]: a query's row sums g_ij k_j over its keys j, a key's row sums g_ij q_i over the
// queries i (g = dLogits / T, at the column batch_logits put the pair in), each in index order.
__kernel void batch_logits_backward(__global const float* dLogits, __global const float* qk, const int n, const int dim,
                                    const float invT, __global float* dqk) {
    const int r = get_global_id(0) / dim, c = get_global_id(0) % dim;
    if (r >= 2 * n) return;
    float s = 0.0f;
    if (r < n) {
        for (int j = 0; j < n; j++) s += dLogits[r * n + (j == r ? 0 : j < r ? j + 1 : j)] * invT * qk[(n + j) * dim + c];
    } else {
        const int j = r - n;
        for (int i = 0; i < n; i++) s += dLogits[i * n + (j == i ? 0 : j < i ? j + 1 : j)] * invT * qk[i * dim + c];
    }
    dqk[r * dim + c] = s;
}

// out[i, :] = table[index[i], :], rows of cols floats.
__kernel void gather_rows(__global const float* table, const int cols, __global const int* index, __global float* out,
                          const int total) {
    const int e = get_global_id(0);
    if (e >= total) return;
    const int i = e / cols, c = e - i * cols;
    out[e] = table[index[i] * cols + c];
}

// out[c, i] = table[index[i], c]: rows become columns [cols, k], as the queue holds its keys.
__kernel void gather_columns(__global const float* table, const int cols, __global const int* index, const int k,
                             __global float* out) {
    const int e = get_global_id(0);
    if (e >= k * cols) return;
    const int c = e / k, i = e - c * k;
    out[e] = table[index[i] * cols + c];
}

// table[index[i], :] = src[i, :] (distinct indices, so no two work-items write one place).
__kernel void scatter_rows(__global const float* src, const int cols, __global const int* index, __global float* table,
                           const int total) {
    const int e = get_global_id(0);
    if (e >= total) return;
    const int i = e / cols, c = e - i * cols;
    table[index[i] * cols + c] = src[e];
}
