// Matrix products: the tile machinery every product kernel shares (also conv.cl's), the generic
// strided product of the head and the logits, the split-K reduction and the bias gradient.
//
// Java twins: OpenClDevice's Linear, contrastiveLogits and contrastiveLogitsBackward against
// CpuDevice's and the reference layers (mocoref.opencl.KernelTwins: "gemm", "sum_partials",
// "bias_grad").
//
// Determinism: every output element is one work-item's sum over k in increasing order (fma, a
// single rounding each); a split-K product writes one partial per split, and sum_partials adds the
// partials in split order. Nothing depends on timing; no atomics.

// ---- the tile geometry (the build may override TM, TN, TK with -D) ------------------------------
#ifndef TM
#define TM 64 // rows of C per work-group
#endif
#ifndef TN
#define TN 64 // columns of C per work-group
#endif
#ifndef TK
#define TK 16 // depth of one step through k
#endif
#define RM 4 // rows of C per work-item
#define RN 4 // columns of C per work-item
#define WX (TN / RN) // work-items along n (get_local_id(0))
#define WY (TM / RM) // work-items along m (get_local_id(1))
#define WG (WX * WY)
// Local tiles are stored k-major with one float of padding per row, so that loads walking k (the
// k-fastest orientation) hit distinct banks.
#define AS_LD (TM + 1)
#define BS_LD (TN + 1)
#define A_LOADS (TM * TK / WG) // A elements each work-item stages per step
#define B_LOADS (TK * TN / WG)

// A work-item owns the RM x RN elements (ty + WY i, tx + WX j) of its work-group's tile: strided,
// so that neighbouring work-items read neighbouring floats of Bs and write neighbouring columns.
inline void tile_multiply(__local const float* As, __local const float* Bs, float* acc, const int tx, const int ty) {
    for (int k = 0; k < TK; k++) {
        float a[RM], b[RN];
        for (int i = 0; i < RM; i++) a[i] = As[k * AS_LD + ty + WY * i];
        for (int j = 0; j < RN; j++) b[j] = Bs[k * BS_LD + tx + WX * j];
        for (int i = 0; i < RM; i++) {
            for (int j = 0; j < RN; j++) acc[i * RN + j] = fma(a[i], b[j], acc[i * RN + j]);
        }
    }
}

// C[m, n] (= or +=) alpha sum_k A[m, k] B[k, n] (+ bias[n]), for m < M, n < N, over
// A[m, k] = A[aOff + m sam + k sak] and B[k, n] = B[bOff + k sbk + n sbn], C at cOff with rows ldc.
// With several splits (get_num_groups(2) > 1) split s sums k in [s kChunk, (s+1) kChunk) into
// partial[s][M][N] (alpha applied, no bias), for sum_partials to finish. aKFast/bKFast choose how
// a tile is staged: along k when k is the contiguous index (coalesced reads), else along m or n.
__kernel __attribute__((reqd_work_group_size(WX, WY, 1)))
void gemm(const int M, const int N, const int K, const float alpha,
          __global const float* A, const int aOff, const int sam, const int sak, const int aKFast,
          __global const float* B, const int bOff, const int sbk, const int sbn, const int bKFast,
          __global float* C, const int cOff, const int ldc, const int accumulate,
          __global const float* bias, const int biasOff, const int hasBias,
          __global float* partial, const int kChunk) {
    __local float As[TK * AS_LD];
    __local float Bs[TK * BS_LD];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * WX + tx;
    const int bm = get_group_id(1) * TM, bn = get_group_id(0) * TN;
    const int split = get_group_id(2), splits = get_num_groups(2);
    const int kBegin = split * kChunk, kEnd = min(K, kBegin + kChunk);
    float acc[RM * RN];
    for (int i = 0; i < RM * RN; i++) acc[i] = 0.0f;
    for (int k0 = kBegin; k0 < kEnd; k0 += TK) {
        for (int r = 0; r < A_LOADS; r++) {
            const int e = tid + WG * r;
            const int mm = aKFast ? e / TK : e % TM, kk = aKFast ? e % TK : e / TM;
            const int gm = bm + mm, gk = k0 + kk;
            As[kk * AS_LD + mm] = (gm < M && gk < kEnd) ? A[aOff + gm * sam + gk * sak] : 0.0f;
        }
        for (int r = 0; r < B_LOADS; r++) {
            const int e = tid + WG * r;
            const int nn = bKFast ? e / TK : e % TN, kk = bKFast ? e % TK : e / TN;
            const int gn = bn + nn, gk = k0 + kk;
            Bs[kk * BS_LD + nn] = (gn < N && gk < kEnd) ? B[bOff + gk * sbk + gn * sbn] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        tile_multiply(As, Bs, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < RM; i++) {
        const int gm = bm + ty + WY * i;
        if (gm >= M) continue;
        for (int j = 0; j < RN; j++) {
            const int gn = bn + tx + WX * j;
            if (gn >= N) continue;
            const float v = alpha * acc[i * RN + j];
            if (splits > 1) {
                partial[(split * M + gm) * N + gn] = v;
            } else {
                const int c = cOff + gm * ldc + gn;
                float out = accumulate ? C[c] + v : v;
                if (hasBias) out += bias[biasOff + gn];
                C[c] = out;
            }
        }
    }
}

// C[m, n] (= or +=) sum over s = 0, 1, ... splits-1, in that order, of partial[s][m][n].
__kernel void sum_partials(__global const float* partial, const int splits, const int M, const int N,
                           __global float* C, const int cOff, const int ldc, const int accumulate) {
    const int i = get_global_id(0);
    if (i >= M * N) return;
    float s = 0.0f;
    for (int p = 0; p < splits; p++) s += partial[p * M * N + i];
    const int m = i / N, n = i - m * N, c = cOff + m * ldc + n;
    C[c] = accumulate ? C[c] + s : s;
}

// grad[off + c] += sum over rows r, in order, of dy[r, c]: nn.Linear's bias gradient.
__kernel void bias_grad(__global const float* dy, const int rows, const int cols, __global float* grad, const int off) {
    const int c = get_global_id(0);
    if (c >= cols) return;
    float s = 0.0f;
    for (int r = 0; r < rows; r++) s += dy[r * cols + c];
    grad[off + c] += s;
}

// ---- the vector path, for CPU devices (PoCL) ------------------------------------------------
// PoCL runs work-groups as loops over work-items and keeps private arrays that live across
// barriers in memory, so gemm's local-memory tiles run at a few GFLOP/s there (measured: see
// docs/performance.md); explicit float16 arithmetic without local memory maps onto AVX-512 instead.
#define VR 8 // rows of C per work-item of gemm_vec16

// Batched over b = get_global_id(2): C_b[m, n] (= or +=) sum_k A_b[m, k] B_b[k, n], where
// A_b[m, k] = A[aOff + b sab + m sam + k sak], B_b[k, n] = B[bOff + b sbb + k sbk + n] and
// C_b[m, n] = C[cOff + b scb + m scm + n]: rows of B and C contiguous. A work-item computes VR rows
// by 16 columns, each element one fma chain over k in order.
__kernel void gemm_vec16(const int M, const int N, const int K,
                         __global const float* A, const int aOff, const int sab, const int sam, const int sak,
                         __global const float* B, const int bOff, const int sbb, const int sbk,
                         __global float* C, const int cOff, const int scb, const int scm, const int accumulate) {
    const int n0 = get_global_id(0) * 16, m0 = get_global_id(1) * VR, b = get_global_id(2);
    if (n0 >= N || m0 >= M) return;
    __global const float* a = A + aOff + b * sab;
    __global const float* bb = B + bOff + b * sbb + n0;
    int row[VR]; // rows past M repeat the last one: read in bounds, never stored
    for (int i = 0; i < VR; i++) row[i] = min(m0 + i, M - 1) * sam;
    float16 acc[VR];
    for (int i = 0; i < VR; i++) acc[i] = (float16) (0.0f);
    const int width = min(16, N - n0);
    if (width == 16) {
        for (int k = 0; k < K; k++) {
            const float16 bv = vload16(0, bb + k * sbk);
            for (int i = 0; i < VR; i++) acc[i] = fma((float16) (a[row[i] + k * sak]), bv, acc[i]);
        }
    } else {
        for (int k = 0; k < K; k++) {
            float t[16];
            for (int j = 0; j < 16; j++) t[j] = j < width ? bb[k * sbk + j] : 0.0f;
            const float16 bv = vload16(0, t);
            for (int i = 0; i < VR; i++) acc[i] = fma((float16) (a[row[i] + k * sak]), bv, acc[i]);
        }
    }
    for (int i = 0; i < VR && m0 + i < M; i++) {
        __global float* c = C + cOff + b * scb + (m0 + i) * scm + n0;
        float t[16];
        vstore16(acc[i], 0, t);
        for (int j = 0; j < width; j++) c[j] = accumulate ? c[j] + t[j] : t[j];
    }
}
