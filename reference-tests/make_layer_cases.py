#!/usr/bin/python3
"""Per-layer reference dumps: reference-tests/layers/<case>.safetensors.

Each file pins one layer's forward and backward on small random inputs, computed by
PyTorch in float64. Java unit tests of the reference layers read these files; they
never run Python.

Conventions (all float tensors F64, `__metadata__` = {"layer": ..., config as strings}):
  * inputs / parameters under their plain names (x, weight, bias, ...),
  * `dy`: the upstream gradient (random normal), `y`: the forward output,
  * `d<name>`: autograd's gradient of sum(dy * y) with respect to <name>.

Run:  /usr/bin/python3 reference-tests/make_layer_cases.py
Every case has its own seed, so the files are reproduced byte for byte.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers")


def leaf(t):
    """A fresh float64 leaf that records its gradient."""
    return t.detach().clone().requires_grad_(True)


def backward_of(y, dy):
    """Backpropagate upstream gradient dy, i.e. take the gradient of sum(dy * y)."""
    y.backward(dy)


def save(name, tensors, meta):
    meta = {k: str(v) for k, v in meta.items()}
    safetensors_io.save({k: v.detach() for k, v in tensors.items()},
                        os.path.join(OUT_DIR, name + ".safetensors"), meta)
    return name


# ------------------------------------------------------------------------------
# one function per layer; each gets a seeded generator `g`
# ------------------------------------------------------------------------------

def conv2d_case(g, n, cin, cout, h, w, k, s, p):
    x = leaf(torch.randn(n, cin, h, w, generator=g))
    weight = leaf(torch.randn(cout, cin, k, k, generator=g) * (2.0 / (cin * k * k)) ** 0.5)
    y = F.conv2d(x, weight, None, stride=s, padding=p)
    dy = torch.randn(y.shape, generator=g)
    backward_of(y, dy)
    name = f"conv2d_k{k}_s{s}_p{p}_n{n}_c{cin}x{cout}_{h}x{w}"
    return save(name, {"x": x, "weight": weight, "dy": dy, "y": y, "dx": x.grad, "dweight": weight.grad},
                {"layer": "conv2d", "in_channels": cin, "out_channels": cout, "kernel": k,
                 "stride": s, "padding": p})


def batchnorm2d_case(g, n, c, h, w, groups, mode):
    """`groups` logical devices: in train mode each contiguous chunk of the batch is
    normalized with its own statistics; the running buffers keep chunk 0's update."""
    x = leaf(torch.randn(n, c, h, w, generator=g) * 1.5 + 0.3)
    bn = nn.BatchNorm2d(c, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)
    with torch.no_grad():
        bn.weight.copy_(0.5 + torch.rand(c, generator=g))
        bn.bias.copy_(torch.rand(c, generator=g) - 0.5)
        bn.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
        bn.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))
    running_mean, running_var = bn.running_mean.clone(), bn.running_var.clone()

    if mode == "train":
        bn.train()
        b = n // groups
        assert b * groups == n
        outs = []
        for i in range(groups):
            outs.append(bn(x[i * b:(i + 1) * b]))
            if i == 0:
                after = (bn.running_mean.clone(), bn.running_var.clone())
        y = torch.cat(outs)
    else:
        assert groups == 1
        bn.eval()
        y = bn(x)
        after = (bn.running_mean.clone(), bn.running_var.clone())
    dy = torch.randn(y.shape, generator=g)
    backward_of(y, dy)
    name = f"batchnorm2d_{mode}_g{groups}_n{n}_c{c}_{h}x{w}"
    return save(name, {"x": x, "weight": bn.weight, "bias": bn.bias,
                       "running_mean": running_mean, "running_var": running_var,
                       "dy": dy, "y": y, "dx": x.grad, "dweight": bn.weight.grad, "dbias": bn.bias.grad,
                       "running_mean_after": after[0], "running_var_after": after[1]},
                {"layer": "batchnorm2d", "channels": c, "groups": groups, "mode": mode,
                 "eps": "1e-05", "momentum": "0.1"})


def relu_case(g, shape):
    x = torch.randn(shape, generator=g)
    # keep every input at least 1e-2 away from 0, where the derivative is ambiguous
    x = leaf(x + torch.sign(x) * 1e-2 + (x == 0).double() * 1e-2)
    y = F.relu(x)
    dy = torch.randn(y.shape, generator=g)
    backward_of(y, dy)
    name = "relu_" + "x".join(map(str, shape))
    return save(name, {"x": x, "dy": dy, "y": y, "dx": x.grad}, {"layer": "relu"})


def maxpool2d_case(g, n, c, h, w, ties=None):
    """ties=(lo, hi): inputs are integers in [lo, hi), so most windows hold several equal
    maxima; the file then pins which one PyTorch routes the gradient to (the first in
    row-major window order on CPU)."""
    if ties is None:
        x = leaf(torch.randn(n, c, h, w, generator=g))
    else:
        x = leaf(torch.randint(ties[0], ties[1], (n, c, h, w), generator=g).double())
    y = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    dy = torch.randn(y.shape, generator=g)
    backward_of(y, dy)
    name = f"maxpool2d_n{n}_c{c}_{h}x{w}" + ("" if ties is None else f"_ties_{ties[0]}_{ties[1] - 1}".replace("-", "m"))
    return save(name, {"x": x, "dy": dy, "y": y, "dx": x.grad},
                {"layer": "maxpool2d", "kernel": 3, "stride": 2, "padding": 1})


def avgpool_case(g, n, c, h, w):
    x = leaf(torch.randn(n, c, h, w, generator=g))
    y = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
    dy = torch.randn(y.shape, generator=g)
    backward_of(y, dy)
    return save(f"avgpool_n{n}_c{c}_{h}x{w}", {"x": x, "y": y, "dy": dy, "dx": x.grad}, {"layer": "avgpool"})


def linear_case(g, n, fin, fout):
    x = leaf(torch.randn(n, fin, generator=g))
    weight = leaf(torch.randn(fout, fin, generator=g) / fin ** 0.5)
    bias = leaf(torch.randn(fout, generator=g) * 0.1)
    y = F.linear(x, weight, bias)
    dy = torch.randn(y.shape, generator=g)
    backward_of(y, dy)
    return save(f"linear_n{n}_{fin}to{fout}",
                {"x": x, "weight": weight, "bias": bias, "dy": dy, "y": y,
                 "dx": x.grad, "dweight": weight.grad, "dbias": bias.grad},
                {"layer": "linear", "in_features": fin, "out_features": fout})


def normalize_case(g, n, d, scale=1.0):
    # row norms well above eps = 1e-12, where F.normalize is x / ||x||
    x = leaf(torch.randn(n, d, generator=g) * scale)
    y = F.normalize(x, dim=1, eps=1e-12)
    dy = torch.randn(y.shape, generator=g)
    backward_of(y, dy)
    return save(f"normalize_n{n}_d{d}" + ("" if scale == 1.0 else "_small"),
                {"x": x, "dy": dy, "y": y, "dx": x.grad}, {"layer": "normalize", "dim": 1, "eps": "1e-12"})


def cross_entropy_case(g, n, c, scale=1.0, zero_target=False):
    """scale > 1 makes logits large (like q.k / T with T = 0.07), so a naive softmax
    would overflow in float32: the loss needs a max-subtracted log-sum-exp."""
    logits = leaf(torch.randn(n, c, generator=g) * scale)
    target = torch.zeros(n, dtype=torch.long) if zero_target else torch.randint(0, c, (n,), generator=g)
    loss = F.cross_entropy(logits, target, reduction="mean")
    loss.backward()
    name = f"cross_entropy_n{n}_c{c}" + ("" if scale == 1.0 else f"_scale{scale:g}") + \
        ("_target0" if zero_target else "")
    return save(name, {"logits": logits, "target": target, "loss": loss, "dlogits": logits.grad},
                {"layer": "cross_entropy", "reduction": "mean"})


def add_case(g, shape):
    a = leaf(torch.randn(shape, generator=g))
    b = leaf(torch.randn(shape, generator=g))
    y = a + b
    dy = torch.randn(y.shape, generator=g)
    backward_of(y, dy)
    return save("add_" + "x".join(map(str, shape)), {"a": a, "b": b, "dy": dy, "y": y, "da": a.grad, "db": b.grad},
                {"layer": "add"})


# (function, args): each case gets seed = its index, so adding a case at the end
# leaves the earlier files unchanged.
CASES = [
    # conv2d: kernels 1/3/7, strides 1/2, paddings 0/1/3, odd and non-square inputs, batch 1
    (conv2d_case, dict(n=2, cin=3, cout=4, h=7, w=7, k=3, s=1, p=1)),
    (conv2d_case, dict(n=1, cin=2, cout=5, h=5, w=9, k=3, s=2, p=1)),
    (conv2d_case, dict(n=2, cin=3, cout=4, h=11, w=13, k=7, s=2, p=3)),
    (conv2d_case, dict(n=3, cin=4, cout=6, h=7, w=7, k=1, s=2, p=0)),
    (conv2d_case, dict(n=2, cin=5, cout=3, h=6, w=4, k=1, s=1, p=0)),
    (conv2d_case, dict(n=1, cin=3, cout=2, h=8, w=6, k=3, s=1, p=0)),
    (conv2d_case, dict(n=1, cin=1, cout=4, h=9, w=9, k=7, s=1, p=3)),
    (conv2d_case, dict(n=2, cin=2, cout=3, h=6, w=6, k=3, s=2, p=1)),
    # batchnorm2d: train with 1, 2 and 3 devices, batch 1, and eval
    (batchnorm2d_case, dict(n=4, c=3, h=5, w=5, groups=1, mode="train")),
    (batchnorm2d_case, dict(n=1, c=4, h=3, w=5, groups=1, mode="train")),
    (batchnorm2d_case, dict(n=6, c=5, h=4, w=4, groups=2, mode="train")),
    (batchnorm2d_case, dict(n=6, c=3, h=3, w=3, groups=3, mode="train")),
    (batchnorm2d_case, dict(n=8, c=2, h=1, w=1, groups=2, mode="train")),
    (batchnorm2d_case, dict(n=3, c=4, h=5, w=9, groups=1, mode="eval")),
    (batchnorm2d_case, dict(n=1, c=3, h=7, w=7, groups=1, mode="eval")),
    # relu
    (relu_case, dict(shape=(2, 3, 7, 7))),
    (relu_case, dict(shape=(1, 4, 5, 9))),
    (relu_case, dict(shape=(5, 7))),
    # maxpool2d 3x3 s2 p1: random, odd / non-square, and two tie-heavy inputs
    (maxpool2d_case, dict(n=2, c=3, h=8, w=8)),
    (maxpool2d_case, dict(n=1, c=2, h=7, w=7)),
    (maxpool2d_case, dict(n=2, c=2, h=5, w=9)),
    (maxpool2d_case, dict(n=2, c=3, h=8, w=8, ties=(0, 3))),
    (maxpool2d_case, dict(n=1, c=2, h=7, w=9, ties=(-2, 1))),
    # global average pool
    (avgpool_case, dict(n=2, c=3, h=7, w=7)),
    (avgpool_case, dict(n=1, c=4, h=5, w=9)),
    (avgpool_case, dict(n=3, c=5, h=1, w=1)),
    # linear
    (linear_case, dict(n=4, fin=8, fout=5)),
    (linear_case, dict(n=1, fin=3, fout=7)),
    (linear_case, dict(n=5, fin=16, fout=16)),
    # normalize (dim=1)
    (normalize_case, dict(n=4, d=8)),
    (normalize_case, dict(n=1, d=3)),
    (normalize_case, dict(n=5, d=16, scale=0.01)),
    # cross entropy (mean); the MoCo-like one has 1 + K classes, target 0, logits / 0.07
    (cross_entropy_case, dict(n=4, c=5)),
    (cross_entropy_case, dict(n=1, c=3)),
    (cross_entropy_case, dict(n=8, c=17, scale=14.0, zero_target=True)),
    # residual add
    (add_case, dict(shape=(2, 3, 7, 7))),
    (add_case, dict(shape=(1, 4, 5, 9))),
    (add_case, dict(shape=(3, 2, 1, 1))),
]


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT_DIR, exist_ok=True)
    names = []
    for i, (fn, kwargs) in enumerate(CASES):
        g = torch.Generator().manual_seed(1000 + i)
        names.append(fn(g, **kwargs))
    assert len(set(names)) == len(names), "duplicate case names"
    # drop files of cases that no longer exist, so the folder matches CASES exactly
    for f in os.listdir(OUT_DIR):
        if f.endswith(".safetensors") and f[:-len(".safetensors")] not in names:
            os.remove(os.path.join(OUT_DIR, f))
    print(f"wrote {len(names)} cases to {OUT_DIR}")


if __name__ == "__main__":
    main()
