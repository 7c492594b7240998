package mocoref.cpu;

import java.util.Map;

/** ResNet-18/34's block: 3x3 conv (stride s), BN, ReLU, 3x3 conv, BN, + shortcut, ReLU. */
final class CpuBasicBlock implements CpuBlock {
    final CpuConv2d conv1, conv2;
    final CpuBatchNorm2d bn1, bn2;
    final CpuConv2d downsampleConv; // null when the shapes already agree
    final CpuBatchNorm2d downsampleBn;
    private final int planes;
    // forward: conv1 out, bn1+relu out, conv2 out, downsample conv and BN outs, block out (see Workspace)
    private final float[] h1, a1, h2, hd, d, out;
    // backward: grad at bn2's output (also the shortcut's), a shared BN-input grad, conv2's input grad, dIn
    private final float[] dz, dh, da, dIn;
    private float[] x;

    /**
     * A trainable block keeps what its backward reads in buffers of its own and takes its gradients
     * and the shortcut's BatchNorm output from {@code ws}; a forward-only one takes every activation
     * from {@code ws}: h1, a1, h2 in slots 0-2, the shortcut in slot 0 (h1 is dead by then).
     */
    CpuBasicBlock(String prefix, Params params, int inPlanes, int planes, int stride, Plane src, int maxGroups,
                  Kernels kernels, WorkerPool pool, Workspace ws, boolean trainable) {
        this.planes = planes;
        conv1 = new CpuConv2d(prefix + "conv1", params, inPlanes, planes, 3, stride, 1, src, kernels, pool, ws, trainable);
        Plane p = conv1.dst;
        bn1 = new CpuBatchNorm2d(prefix + "bn1", params, planes, p, maxGroups, kernels, pool);
        conv2 = new CpuConv2d(prefix + "conv2", params, planes, planes, 3, 1, 1, p, kernels, pool, ws, trainable);
        bn2 = new CpuBatchNorm2d(prefix + "bn2", params, planes, p, maxGroups, kernels, pool);
        boolean ds = stride != 1 || inPlanes != planes;
        downsampleConv = ds ? new CpuConv2d(prefix + "downsample.0", params, inPlanes, planes, 1, stride, 0, src, kernels, pool, ws, trainable) : null;
        downsampleBn = ds ? new CpuBatchNorm2d(prefix + "downsample.1", params, planes, p, maxGroups, kernels, pool) : null;
        int size = p.size(planes), t = Workspace.TRANSIENT;
        h1 = trainable ? new float[size] : ws.activation(p, planes, t);
        a1 = trainable ? new float[size] : ws.activation(p, planes, t + 1);
        h2 = trainable ? new float[size] : ws.activation(p, planes, t + 2);
        hd = !ds ? null : trainable ? new float[size] : ws.activation(p, planes, t);
        d = ds ? ws.activation(p, planes, t) : null; // BatchNorm in place over hd when forward-only
        out = trainable ? new float[size] : ws.activation(p, planes, Workspace.HANDOFF);
        dz = trainable ? ws.activation(p, planes, t) : null;
        dh = trainable ? ws.activation(p, planes, t + 1) : null;
        da = trainable ? ws.activation(p, planes, t + 2) : null;
        dIn = trainable ? ws.activation(src, inPlanes, Workspace.HANDOFF) : null;
    }

    @Override
    public float[] forward(float[] x, int groups) {
        this.x = x;
        conv1.forward(x, h1);
        CpuBlock.bn(bn1, h1, null, true, a1, groups);
        conv2.forward(a1, h2);
        float[] identity = x;
        if (downsampleConv != null) {
            downsampleConv.forward(x, hd);
            CpuBlock.bn(downsampleBn, hd, null, false, d, groups);
            identity = d;
        }
        CpuBlock.bn(bn2, h2, identity, true, out, groups);
        return out;
    }

    @Override
    public float[] backward(float[] dOut) {
        bn2.backward(dOut, out, h2, dz, dh);
        conv2.backward(dh, a1, da, false);
        bn1.backward(da, a1, h1, da, dh);
        conv1.backward(dh, x, dIn, false);
        if (downsampleConv != null) {
            downsampleBn.backward(dz, null, hd, dz, dh);
            downsampleConv.backward(dh, x, dIn, true);
        } else {
            CpuBlock.addInto(dIn, dz);
        }
        return dIn;
    }

    @Override
    public int outChannels() {
        return planes;
    }

    @Override
    public Plane outPlane() {
        return conv1.dst;
    }

    @Override
    public void register(String prefix, Map<String, Object> modules) {
        modules.put(prefix + "conv1", conv1);
        modules.put(prefix + "bn1", bn1);
        modules.put(prefix + "conv2", conv2);
        modules.put(prefix + "bn2", bn2);
        if (downsampleConv != null) {
            modules.put(prefix + "downsample.0", downsampleConv);
            modules.put(prefix + "downsample.1", downsampleBn);
        }
    }
}
