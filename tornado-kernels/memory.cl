// Memory operations on flat buffers and activations.
//
// Java twins: CpuDevice's fill and add (mocoref.opencl.KernelTwins: "fill", "add").

// dst[offset, offset + n) = value.
__kernel void fill(__global float* dst, const int offset, const int n, const float value) {
    const int i = get_global_id(0);
    if (i < n) dst[offset + i] = value;
}

// dst += src, elementwise over n floats (the residual gradient's sum).
__kernel void add(__global const float* src, __global float* dst, const int n) {
    const int i = get_global_id(0);
    if (i < n) dst[i] += src[i];
}
