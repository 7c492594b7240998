// Poolings over NCHW activations: the imagenet stem's max pool and the global average pool.
//
// Java twins: CpuDevice's MaxPool2d and GlobalAvgPool and the reference layers
// (mocoref.opencl.KernelTwins: "maxpool_forward", "maxpool_backward", "avgpool_forward",
// "avgpool_backward").
//
// Determinism: the max pool's backward gathers (each input sums the gradients of the windows it
// won, in row-major window order) instead of scattering with atomics.

// y = the maximum of each window (padding counts as minus infinity; the first in row-major order
// wins among equals, as in PyTorch); argmax = the winner's index in its plane.
__kernel void maxpool_forward(__global const float* x, __global float* y, __global int* argmax,
                              const int H, const int W, const int OH, const int OW,
                              const int k, const int stride, const int pad, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int plane = i / (OH * OW), o = i - plane * OH * OW, oy = o / OW, ox = o - oy * OW;
    __global const float* xp = x + plane * H * W;
    float best = 0.0f;
    int arg = -1;
    for (int u = 0; u < k; u++) {
        const int iy = oy * stride - pad + u;
        if (iy < 0 || iy >= H) continue;
        for (int v = 0; v < k; v++) {
            const int ix = ox * stride - pad + v;
            if (ix < 0 || ix >= W) continue;
            const float val = xp[iy * W + ix];
            if (arg < 0 || val > best) {
                best = val;
                arg = iy * W + ix;
            }
        }
    }
    y[i] = arg < 0 ? -INFINITY : best;
    argmax[i] = arg;
}

// dx[plane, q] = sum of dy over the windows (row-major order) whose winner was q.
__kernel void maxpool_backward(__global const float* dy, __global const int* argmax, __global float* dx,
                               const int H, const int W, const int OH, const int OW,
                               const int k, const int stride, const int pad, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int plane = i / (H * W), q = i - plane * H * W, iy = q / W, ix = q - iy * W;
    // windows oy with oy stride - pad <= iy <= oy stride - pad + k - 1
    const int ly = iy + pad - k + 1, lx = ix + pad - k + 1;
    const int oy0 = ly <= 0 ? 0 : (ly + stride - 1) / stride, oy1 = min(OH - 1, (iy + pad) / stride);
    const int ox0 = lx <= 0 ? 0 : (lx + stride - 1) / stride, ox1 = min(OW - 1, (ix + pad) / stride);
    const int base = plane * OH * OW;
    float s = 0.0f;
    for (int oy = oy0; oy <= oy1; oy++) {
        for (int ox = ox0; ox <= ox1; ox++) {
            if (argmax[base + oy * OW + ox] == q) s += dy[base + oy * OW + ox];
        }
    }
    dx[i] = s;
}

// y[plane] = the mean of x's plane (plane = n C + c, so y is [n, C] row-major), summed in order.
__kernel void avgpool_forward(__global const float* x, __global float* y, const int HW, const int planes) {
    const int p = get_global_id(0);
    if (p >= planes) return;
    float s = 0.0f;
    for (int q = 0; q < HW; q++) s += x[p * HW + q];
    y[p] = s / HW;
}

// dx[plane, q] = dy[plane] / HW.
__kernel void avgpool_backward(__global const float* dy, __global float* dx, const int HW, const int total) {
    const int i = get_global_id(0);
    if (i >= total) return;
    dx[i] = dy[i / HW] / HW;
}
