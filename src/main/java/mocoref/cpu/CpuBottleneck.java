package mocoref.cpu;

import java.util.Map;

/**
 * ResNet-50's block, torchvision's "v1.5": 1x1 conv, BN, ReLU, 3x3 conv carrying the stride, BN,
 * ReLU, 1x1 conv to 4x the planes, BN, + shortcut, ReLU.
 */
final class CpuBottleneck implements CpuBlock {
    static final int EXPANSION = 4;
    final CpuConv2d conv1, conv2, conv3;
    final CpuBatchNorm2d bn1, bn2, bn3;
    final CpuConv2d downsampleConv;
    final CpuBatchNorm2d downsampleBn;
    private final int outPlanes;
    private final float[] h1, a1, h2, a2, h3, hd, d, out;
    private final float[] dz, dh3, da2, dh2, da1, dh1, dIn;
    private float[] x;

    /** Buffers as {@link CpuBasicBlock}'s: h1 .. hd in slots 0-5 when forward-only, the shortcut's BatchNorm in place over hd. */
    CpuBottleneck(String prefix, Params params, int inPlanes, int planes, int stride, Plane src, int maxGroups,
                  Kernels kernels, WorkerPool pool, Workspace ws, boolean trainable) {
        outPlanes = planes * EXPANSION;
        conv1 = new CpuConv2d(prefix + "conv1", params, inPlanes, planes, 1, 1, 0, src, kernels, pool, ws, trainable);
        bn1 = new CpuBatchNorm2d(prefix + "bn1", params, planes, src, maxGroups, kernels, pool);
        conv2 = new CpuConv2d(prefix + "conv2", params, planes, planes, 3, stride, 1, src, kernels, pool, ws, trainable);
        Plane p = conv2.dst;
        bn2 = new CpuBatchNorm2d(prefix + "bn2", params, planes, p, maxGroups, kernels, pool);
        conv3 = new CpuConv2d(prefix + "conv3", params, planes, outPlanes, 1, 1, 0, p, kernels, pool, ws, trainable);
        bn3 = new CpuBatchNorm2d(prefix + "bn3", params, outPlanes, p, maxGroups, kernels, pool);
        boolean ds = stride != 1 || inPlanes != outPlanes;
        downsampleConv = ds ? new CpuConv2d(prefix + "downsample.0", params, inPlanes, outPlanes, 1, stride, 0, src, kernels, pool, ws, trainable) : null;
        downsampleBn = ds ? new CpuBatchNorm2d(prefix + "downsample.1", params, outPlanes, p, maxGroups, kernels, pool) : null;
        int t = Workspace.TRANSIENT;
        h1 = trainable ? new float[src.size(planes)] : ws.activation(src, planes, t);
        a1 = trainable ? new float[src.size(planes)] : ws.activation(src, planes, t + 1);
        h2 = trainable ? new float[p.size(planes)] : ws.activation(p, planes, t + 2);
        a2 = trainable ? new float[p.size(planes)] : ws.activation(p, planes, t + 3);
        h3 = trainable ? new float[p.size(outPlanes)] : ws.activation(p, outPlanes, t + 4);
        hd = !ds ? null : trainable ? new float[p.size(outPlanes)] : ws.activation(p, outPlanes, t + 5);
        d = ds ? ws.activation(p, outPlanes, t + 5) : null;
        out = trainable ? new float[p.size(outPlanes)] : ws.activation(p, outPlanes, Workspace.HANDOFF);
        dz = trainable ? ws.activation(p, outPlanes, t) : null;
        dh3 = trainable ? ws.activation(p, outPlanes, t + 1) : null;
        da2 = trainable ? ws.activation(p, planes, t + 2) : null;
        dh2 = trainable ? ws.activation(p, planes, t + 3) : null;
        da1 = trainable ? ws.activation(src, planes, t + 4) : null;
        dh1 = trainable ? ws.activation(src, planes, t + 5) : null;
        dIn = trainable ? ws.activation(src, inPlanes, Workspace.HANDOFF) : null;
    }

    @Override
    public float[] forward(float[] x, int groups) {
        this.x = x;
        conv1.forward(x, h1);
        CpuBlock.bn(bn1, h1, null, true, a1, groups);
        conv2.forward(a1, h2);
        CpuBlock.bn(bn2, h2, null, true, a2, groups);
        conv3.forward(a2, h3);
        float[] identity = x;
        if (downsampleConv != null) {
            downsampleConv.forward(x, hd);
            CpuBlock.bn(downsampleBn, hd, null, false, d, groups);
            identity = d;
        }
        CpuBlock.bn(bn3, h3, identity, true, out, groups);
        return out;
    }

    @Override
    public float[] backward(float[] dOut) {
        bn3.backward(dOut, out, h3, dz, dh3);
        conv3.backward(dh3, a2, da2, false);
        bn2.backward(da2, a2, h2, da2, dh2);
        conv2.backward(dh2, a1, da1, false);
        bn1.backward(da1, a1, h1, da1, dh1);
        conv1.backward(dh1, x, dIn, false);
        if (downsampleConv != null) {
            downsampleBn.backward(dz, null, hd, dz, dh3);
            downsampleConv.backward(dh3, x, dIn, true);
        } else {
            CpuBlock.addInto(dIn, dz);
        }
        return dIn;
    }

    @Override
    public int outChannels() {
        return outPlanes;
    }

    @Override
    public Plane outPlane() {
        return conv2.dst;
    }

    @Override
    public void register(String prefix, Map<String, Object> modules) {
        modules.put(prefix + "conv1", conv1);
        modules.put(prefix + "bn1", bn1);
        modules.put(prefix + "conv2", conv2);
        modules.put(prefix + "bn2", bn2);
        modules.put(prefix + "conv3", conv3);
        modules.put(prefix + "bn3", bn3);
        if (downsampleConv != null) {
            modules.put(prefix + "downsample.0", downsampleConv);
            modules.put(prefix + "downsample.1", downsampleBn);
        }
    }
}
