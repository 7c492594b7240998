// Convolutions (no bias, NCHW activations) as implicit matrix products on gemm.cl's tiles: the
// im2col matrix is never stored; each tile gathers its elements from the activation directly.
// Per-layer tables made once on the host replace the divisions of the im2col index:
//   ktab[k], k = (c, u, v) a tap:      (c H W + u W + v, u, v, unused)             forward, weight gradient
//   ktab[k], k = (o, u, v) for dx:     (o OH OW, u, v, o C KS KS + u KS + v)        input gradient
//   ptab[p], p = (oy, ox) an output:   (oy stride - pad, ox stride - pad)           weight gradient
//
// Java twins: CpuDevice's Conv2d and the reference Conv2d (mocoref.opencl.KernelTwins:
// "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight").
//
// Determinism: each output element is one work-item's fma chain over k in increasing order; the
// weight gradient's split-K partials are added in split order by sum_partials (gemm.cl).

// y[img, o, p] = sum_k W[o, k] x_col[k, (img, p)]: M = O, N = n OH OW, K = C KS KS.
__kernel __attribute__((reqd_work_group_size(WX, WY, 1)))
void conv2d_forward(__global const float* x, __global const float* w, const int wOff, __global float* y,
                    __global const int4* ktab, const int C, const int H, const int W, const int O,
                    const int OH, const int OW, const int stride, const int pad, const int K, const int N) {
    __local float As[TK * AS_LD];
    __local float Bs[TK * BS_LD];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * WX + tx;
    const int bm = get_group_id(1) * TM, bn = get_group_id(0) * TN;
    const int P = OH * OW;
    // This work-item stages column bnl of every B tile: one output position (img, oy, ox) for the
    // whole loop, so its index arithmetic is done once.
    const int bnl = tid % TN, bkl = tid / TN;
    const int j = bn + bnl;
    const int jValid = j < N;
    const int img = j / P, p = j - img * P, oy = p / OW, ox = p - oy * OW;
    const int iy0 = oy * stride - pad, ix0 = ox * stride - pad;
    const int xBase = img * C * H * W + iy0 * W + ix0;
    const int ak = tid % TK, am = tid / TK;
    float acc[RM * RN];
    for (int i = 0; i < RM * RN; i++) acc[i] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TK) {
        for (int r = 0; r < A_LOADS; r++) {
            const int mm = am + (WG / TK) * r, gm = bm + mm, gk = k0 + ak;
            As[ak * AS_LD + mm] = (gm < O && gk < K) ? w[wOff + gm * K + gk] : 0.0f;
        }
        for (int r = 0; r < B_LOADS; r++) {
            const int kk = bkl + (WG / TN) * r, gk = k0 + kk;
            float v = 0.0f;
            if (jValid && gk < K) {
                const int4 t = ktab[gk];
                const int iy = iy0 + t.y, ix = ix0 + t.z;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = x[xBase + t.x];
            }
            Bs[kk * BS_LD + bnl] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        tile_multiply(As, Bs, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int jj = 0; jj < RN; jj++) {
        const int gn = bn + tx + WX * jj;
        if (gn >= N) continue;
        const int im = gn / P, q = gn - im * P;
        for (int i = 0; i < RM; i++) {
            const int gm = bm + ty + WY * i;
            if (gm < O) y[(im * O + gm) * P + q] = acc[i * RN + jj];
        }
    }
}

// dx[img, c, yy, xx] (= or +=) sum_{o,u,v} W[o, c, u, v] dy[img, o, (yy+pad-u)/s, (xx+pad-v)/s],
// over the taps where the division is exact and lands inside dy: M = C, N = n H W, K = O KS KS.
__kernel __attribute__((reqd_work_group_size(WX, WY, 1)))
void conv2d_backward_input(__global const float* dy, __global const float* w, const int wOff, __global float* dx,
                           __global const int4* ktab, const int C, const int H, const int W, const int O,
                           const int OH, const int OW, const int stride, const int pad, const int KK,
                           const int K, const int N, const int accumulate) {
    __local float As[TK * AS_LD];
    __local float Bs[TK * BS_LD];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * WX + tx;
    const int bm = get_group_id(1) * TM, bn = get_group_id(0) * TN;
    const int P = H * W;
    const int bnl = tid % TN, bkl = tid / TN;
    const int j = bn + bnl;
    const int jValid = j < N;
    const int img = j / P, q = j - img * P, yy = q / W, xx = q - yy * W;
    const int ty0 = yy + pad, tx0 = xx + pad;
    const int dyBase = img * O * OH * OW;
    const int ak = tid % TK, am = tid / TK;
    float acc[RM * RN];
    for (int i = 0; i < RM * RN; i++) acc[i] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TK) {
        for (int r = 0; r < A_LOADS; r++) {
            const int mm = am + (WG / TK) * r, gm = bm + mm, gk = k0 + ak;
            As[ak * AS_LD + mm] = (gm < C && gk < K) ? w[wOff + ktab[gk].w + gm * KK] : 0.0f;
        }
        for (int r = 0; r < B_LOADS; r++) {
            const int kk = bkl + (WG / TN) * r, gk = k0 + kk;
            float v = 0.0f;
            if (jValid && gk < K) {
                const int4 t = ktab[gk];
                const int sy = ty0 - t.y, sx = tx0 - t.z;
                if (sy >= 0 && sx >= 0) {
                    int oy = sy, ox = sx, exact = 1;
                    if (stride != 1) {
                        oy = sy / stride;
                        ox = sx / stride;
                        exact = oy * stride == sy && ox * stride == sx;
                    }
                    if (exact && oy < OH && ox < OW) v = dy[dyBase + t.x + oy * OW + ox];
                }
            }
            Bs[kk * BS_LD + bnl] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        tile_multiply(As, Bs, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int jj = 0; jj < RN; jj++) {
        const int gn = bn + tx + WX * jj;
        if (gn >= N) continue;
        const int im = gn / P, qq = gn - im * P;
        for (int i = 0; i < RM; i++) {
            const int gm = bm + ty + WY * i;
            if (gm >= C) continue;
            const int at = (im * C + gm) * P + qq;
            dx[at] = accumulate ? dx[at] + acc[i * RN + jj] : acc[i * RN + jj];
        }
    }
}

// dW[o, k] += sum_{img, p} dy[img, o, p] x_col[k, (img, p)], k = (c, u, v): M = O, N = C KS KS, and
// the reduction runs over images x positions padded to Ppad (a multiple of TK) so that a step
// through k never straddles two images. Split s takes tiles [s tilesPerSplit, (s+1) tilesPerSplit)
// of the reduction; with one split it adds into grad directly, else it writes partial[s][O][N].
__kernel __attribute__((reqd_work_group_size(WX, WY, 1)))
void conv2d_backward_weight(__global const float* dy, __global const float* x, __global float* grad, const int gOff,
                            __global float* partial, __global const int4* ktab, __global const int2* ptab,
                            const int C, const int H, const int W, const int O, const int P, const int N,
                            const int Ppad, const int tilesPerSplit, const int tiles) {
    __local float As[TK * AS_LD];
    __local float Bs[TK * BS_LD];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * WX + tx;
    const int bm = get_group_id(1) * TM, bn = get_group_id(0) * TN;
    const int split = get_group_id(2), splits = get_num_groups(2);
    // Both tiles are staged along k (positions are the contiguous index of dy and, nearly, of x).
    const int kl = tid % TK, rl = tid / TK;
    // The taps (columns of B) this work-item stages are the same at every step: look them up once.
    int4 tap[B_LOADS];
    for (int r = 0; r < B_LOADS; r++) {
        const int gn = bn + rl + (WG / TK) * r;
        tap[r] = gn < N ? ktab[gn] : (int4)(0, -(1 << 28), 0, 0); // a tap that is never inside the image
    }
    const int CHW = C * H * W;
    float acc[RM * RN];
    for (int i = 0; i < RM * RN; i++) acc[i] = 0.0f;
    const int tBegin = split * tilesPerSplit, tEnd = min(tiles, tBegin + tilesPerSplit);
    for (int t = tBegin; t < tEnd; t++) {
        const int k0 = t * TK, img = k0 / Ppad, p = k0 - img * Ppad + kl;
        const int pValid = p < P;
        for (int r = 0; r < A_LOADS; r++) {
            const int mm = rl + (WG / TK) * r, gm = bm + mm;
            As[kl * AS_LD + mm] = (pValid && gm < O) ? dy[(img * O + gm) * P + p] : 0.0f;
        }
        const int2 at = pValid ? ptab[p] : (int2)(-(1 << 28), 0);
        const int xBase = img * CHW + at.x * W + at.y;
        for (int r = 0; r < B_LOADS; r++) {
            const int iy = at.x + tap[r].y, ix = at.y + tap[r].z;
            Bs[kl * BS_LD + rl + (WG / TK) * r] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[xBase + tap[r].x] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        tile_multiply(As, Bs, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < RM; i++) {
        const int gm = bm + ty + WY * i;
        if (gm >= O) continue;
        for (int jj = 0; jj < RN; jj++) {
            const int gn = bn + tx + WX * jj;
            if (gn >= N) continue;
            if (splits > 1) partial[(split * O + gm) * N + gn] = acc[i * RN + jj];
            else grad[gOff + gm * N + gn] += acc[i * RN + jj];
        }
    }
}

// ---- the vector path, for CPU devices (PoCL): im2col, gemm_vec16, col2im ----------------------
// col holds the im2col matrix of `images` images from img0, positions padded to Ppad (a multiple of
// 16) with zeros: col[b][k][p] for the forward (rows of positions), colT[b][p][k] with taps padded to
// Kpad for the weight gradient (rows of taps), so that the float16 kernels read whole vectors.

// col[b, k, p0 .. p0+15] = x[img0 + b, c, oy s - pad + u, ox s - pad + v] for k = (c, u, v),
// p = (oy, ox); zero outside the image and for p >= P. Work-item (p0 / 16, k, b).
__kernel void im2col(__global const float* x, const int img0, __global float* col, __global const int4* ktab,
                     __global const int2* ptab, const int CHW, const int H, const int W, const int K, const int P,
                     const int Ppad) {
    const int p0 = get_global_id(0) * 16, k = get_global_id(1), b = get_global_id(2);
    if (p0 >= Ppad) return;
    const int4 t = ktab[k];
    __global const float* xb = x + (img0 + b) * CHW + t.x;
    float v[16];
    for (int j = 0; j < 16; j++) {
        const int p = p0 + j;
        v[j] = 0.0f;
        if (p < P) {
            const int2 o = ptab[p];
            const int iy = o.x + t.y, ix = o.y + t.z;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) v[j] = xb[o.x * W + o.y];
        }
    }
    vstore16(vload16(0, v), 0, col + (b * K + k) * Ppad + p0);
}

// colT[b, p, k0 .. k0+15] = the same taps, transposed: work-item (k0 / 16, p, b); zero for k >= K.
__kernel void im2col_t(__global const float* x, const int img0, __global float* colT, __global const int4* ktab,
                       __global const int2* ptab, const int CHW, const int H, const int W, const int K, const int P,
                       const int Kpad) {
    const int k0 = get_global_id(0) * 16, p = get_global_id(1), b = get_global_id(2);
    if (k0 >= Kpad || p >= P) return;
    const int2 o = ptab[p];
    __global const float* xb = x + (img0 + b) * CHW + o.x * W + o.y;
    float v[16];
    for (int j = 0; j < 16; j++) {
        const int k = k0 + j;
        v[j] = 0.0f;
        if (k < K) {
            const int4 t = ktab[k];
            const int iy = o.x + t.y, ix = o.y + t.z;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) v[j] = xb[t.x];
        }
    }
    vstore16(vload16(0, v), 0, colT + (b * P + p) * Kpad + k0);
}

// dx[img0 + b, c, yy, xx] (= or +=) sum over taps (u, v) in order of dcol[b, (c, u, v), p], p the
// output position whose window puts tap (u, v) on (yy, xx) (exact division by the stride, inside).
__kernel void col2im(__global const float* dcol, const int img0, __global float* dx, const int C, const int H,
                     const int W, const int OH, const int OW, const int KS, const int stride, const int pad,
                     const int Ppad, const int accumulate, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int HW = H * W, plane = i / HW, q = i - plane * HW, b = plane / C, c = plane - b * C;
    const int yy = q / W, xx = q - yy * W;
    float s = 0.0f;
    for (int u = 0; u < KS; u++) {
        const int sy = yy + pad - u;
        if (sy < 0 || sy % stride != 0 || sy / stride >= OH) continue;
        for (int v = 0; v < KS; v++) {
            const int sx = xx + pad - v;
            if (sx < 0 || sx % stride != 0 || sx / stride >= OW) continue;
            s += dcol[((b * C + c) * KS * KS + u * KS + v) * Ppad + (sy / stride) * OW + sx / stride];
        }
    }
    const int at = img0 * C * HW + i;
    dx[at] = accumulate ? dx[at] + s : s;
}

// dW[o, k0 .. k0+15] += sum over images b, then positions p, in order, of dy[img0 + b, o, p]
// colT[b, p, k0 .. k0+15], for VR output channels per work-item (k0 / 16, o0 / VR): the shape of
// gemm_vec16, one fma chain per output.
__kernel void conv2d_weight_grad_vec(__global const float* dy, const int img0, const int O, const int P,
                                     __global const float* colT, const int K, const int Kpad, const int images,
                                     __global float* grad, const int gOff) {
    const int k0 = get_global_id(0) * 16, o0 = get_global_id(1) * VR;
    if (k0 >= K || o0 >= O) return;
    int row[VR];
    for (int i = 0; i < VR; i++) row[i] = min(o0 + i, O - 1) * P;
    float16 acc[VR];
    for (int i = 0; i < VR; i++) acc[i] = (float16) (0.0f);
    for (int b = 0; b < images; b++) {
        __global const float* d = dy + (img0 + b) * O * P;
        __global const float* c = colT + b * P * Kpad + k0;
        for (int p = 0; p < P; p++) {
            const float16 cv = vload16(0, c + p * Kpad);
            for (int i = 0; i < VR; i++) acc[i] = fma((float16) (d[row[i] + p]), cv, acc[i]);
        }
    }
    const int width = min(16, K - k0);
    for (int i = 0; i < VR && o0 + i < O; i++) {
        float t[16];
        vstore16(acc[i], 0, t);
        __global float* g = grad + gOff + (o0 + i) * K + k0;
        for (int j = 0; j < width; j++) g[j] += t[j];
    }
}
