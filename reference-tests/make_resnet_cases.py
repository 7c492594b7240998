#!/usr/bin/python3
"""Whole-encoder reference dumps: reference-tests/resnet/<case>.safetensors.

Each file pins a full ResNet encoder (moco_torch.ResNetEncoder: torchvision layout and
state-dict names, configurable width / stem / head) forward and backward in float64:

  x                      input [N, C, H, W]
  <state-dict name>      every parameter and buffer BEFORE the forward, under its plain
                         torchvision name (conv1.weight, bn1.num_batches_tracked (I64 []),
                         layer1.0.conv1.weight, fc.weight or fc.0.weight, ...)
  dy                     upstream gradient [N, dim]
  y                      training-mode output [N, dim] (head output, not normalized),
                         with `groups` logical devices: per-chunk BN batch statistics
  dx                     gradient of sum(dy * y) w.r.t. x
  grad.<param name>      gradient of sum(dy * y) w.r.t. every parameter
  after.<buffer name>    every BN buffer after the training-mode forward (as updated by
                         chunk 0 alone; num_batches_tracked + 1)
  y_eval                 eval-mode output of the same x with the BEFORE buffers

Run:  /usr/bin/python3 reference-tests/make_resnet_cases.py
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from moco_torch import build_encoder, forward_chunks, randomize_  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resnet")

CASES = [
    dict(name="basic_cifar_fc_g1", block="basic", layers=[1, 1, 1, 1], width=4, in_channels=1,
         stem="cifar", dim=8, mlp=False, groups=1, batch=4, image=(1, 16, 16)),
    dict(name="basic_imagenet_mlp_g1", block="basic", layers=[1, 1, 1, 1], width=4, in_channels=3,
         stem="imagenet", dim=8, mlp=True, groups=1, batch=4, image=(3, 32, 32)),
    dict(name="bottleneck_cifar_mlp_g2", block="bottleneck", layers=[1, 1, 1, 1], width=2, in_channels=3,
         stem="cifar", dim=8, mlp=True, groups=2, batch=4, image=(3, 12, 12)),
    # odd input size: 23 -> 12 (conv s2) -> 6 (maxpool) -> 6, 3, 2, 1
    dict(name="bottleneck_imagenet_fc_g1_odd23", block="bottleneck", layers=[1, 1, 1, 1], width=2, in_channels=3,
         stem="imagenet", dim=6, mlp=False, groups=1, batch=3, image=(3, 23, 23)),
    dict(name="resnet18_w4_cifar_mlp_g2", block="basic", layers=[2, 2, 2, 2], width=4, in_channels=1,
         stem="cifar", dim=16, mlp=True, groups=2, batch=8, image=(1, 28, 28)),
]


def make_case(i, c):
    g = torch.Generator().manual_seed(2000 + i)
    model = build_encoder(c)
    randomize_(model, g, buffers=True, num_batches_tracked=3)
    if c["stem"] == "imagenet":
        # Behind the stem's ReLU and 3x3 max-pool, a shift of bn1's output passes unchanged
        # wherever a window's maximum is positive, and the next BatchNorm removes a shift: with
        # a bias near 0 almost every window wins positive, so d(loss)/d(bn1.bias) is zero up to
        # rounding (~1e-14) and a relative error on it measures only noise. A negative bias
        # leaves many windows all-negative, so the gradient is a real number to compare.
        with torch.no_grad():
            model.bn1.bias.copy_(-1.0 - torch.rand(model.bn1.bias.shape, generator=g))
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}

    x = torch.randn((c["batch"],) + tuple(c["image"]), generator=g)

    # eval first: it reads, never writes, the BEFORE buffers
    model.eval()
    with torch.no_grad():
        y_eval = model(x)

    model.train()
    xg = x.clone().requires_grad_(True)
    y = forward_chunks(model, xg, c["groups"])
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)

    tensors = {"x": x}
    tensors.update(before)
    tensors["dy"] = dy
    tensors["y"] = y.detach()
    tensors["dx"] = xg.grad
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad
    params = dict(model.named_parameters())
    for name, b in model.state_dict().items():
        if name not in params:  # buffers: running_mean, running_var, num_batches_tracked
            tensors["after." + name] = b.detach().clone()
    tensors["y_eval"] = y_eval

    meta = {"block": c["block"], "layers": json.dumps(c["layers"], separators=(",", ":")),
            "width": str(c["width"]), "in_channels": str(c["in_channels"]), "stem": c["stem"],
            "dim": str(c["dim"]), "mlp": "true" if c["mlp"] else "false", "groups": str(c["groups"])}
    path = os.path.join(OUT_DIR, c["name"] + ".safetensors")
    safetensors_io.save(tensors, path, meta)
    return path


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT_DIR, exist_ok=True)
    names = set()
    for i, c in enumerate(CASES):
        path = make_case(i, c)
        names.add(os.path.basename(path))
        print(f"{path}: {os.path.getsize(path)} bytes")
    for f in os.listdir(OUT_DIR):
        if f.endswith(".safetensors") and f not in names:
            os.remove(os.path.join(OUT_DIR, f))


if __name__ == "__main__":
    main()
