// The projection head's elementwise and per-row operations on [rows, cols] buffers: ReLU and
// F.normalize.
//
// Java twins: CpuDevice's relu, reluBackward, l2Normalize, l2NormalizeBackward and the reference
// Relu and L2Normalize (mocoref.opencl.KernelTwins: "relu", "relu_backward", "l2_normalize",
// "l2_normalize_backward").
//
// Determinism: a row's sums are one work-item's, in column order.

#define NORM_EPS 1e-12f

// y[i] = max(x[i], 0); y may be x.
__kernel void relu(__global const float* x, __global float* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = fmax(x[i], 0.0f);
}

// dx[i] = y[i] > 0 ? dy[i] : 0, y the ReLU's output; dx may be dy.
__kernel void relu_backward(__global const float* dy, __global const float* y, __global float* dx, const int n) {
    const int i = get_global_id(0);
    if (i < n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// y[r] = x[r] / max(|x[r]|, eps); norm[r] = |x[r]| when hasNorm.
__kernel void l2_normalize(__global const float* x, __global float* y, __global float* norm, const int hasNorm,
                           const int rows, const int cols) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* xr = x + r * cols;
    float sq = 0.0f;
    for (int c = 0; c < cols; c++) sq += xr[c] * xr[c];
    const float n = sqrt(sq), d = fmax(n, NORM_EPS);
    if (hasNorm) norm[r] = n;
    for (int c = 0; c < cols; c++) y[r * cols + c] = xr[c] / d;
}

// dx[r] = (dy[r] - y[r] (y[r] . dy[r])) / |x[r]|, or dy[r] / eps where the norm was clamped.
__kernel void l2_normalize_backward(__global const float* dy, __global const float* y, __global const float* norm,
                                    __global float* dx, const int rows, const int cols) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    const float n = norm[r];
    if (n > NORM_EPS) {
        float dot = 0.0f;
        for (int c = 0; c < cols; c++) dot += y[r * cols + c] * dy[r * cols + c];
        for (int c = 0; c < cols; c++) dx[r * cols + c] = (dy[r * cols + c] - y[r * cols + c] * dot) / n;
    } else {
        for (int c = 0; c < cols; c++) dx[r * cols + c] = dy[r * cols + c] / NORM_EPS;
    }
}
