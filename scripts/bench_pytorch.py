#!/usr/bin/python3
"""The PyTorch side of `scripts/bench-vs-pytorch.sh`: the same MoCo step as `moco-ref bench`.

The step is reference-tests/moco_torch.py's `MoCo.step` (the spec's steps 1-8: per-device
forward of encoder_q, momentum update, shuffled per-device keys, logits over the queue,
cross-entropy, enqueue, torch.optim.SGD), run in float32 with torch.set_num_threads(threads), on
the CPU or (--device cuda) on a GPU, there with TF32 off (plain float32, the default) or on (--tf32).
Prints one JSON line with the same keys as `moco-ref bench --json`.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference-tests"))
from moco_torch import MoCo  # noqa: E402

class FastMoCo(MoCo):
    """The same step, with the two [N,dim] x [dim,K] products routed through oneDNN.

    Debian's torch links the reference BLAS (about 3 GFLOP/s here), so `einsum` would make the
    logits a large part of PyTorch's time; a 1x1 convolution computes the same numbers through
    oneDNN, forward and backward. This makes the baseline as fast as PyTorch gets here.
    """

    def logits_and_loss(self, q, k, queue):
        l_pos = (q * k).sum(dim=1, keepdim=True)
        weight = queue.t().contiguous()[:, :, None, None]  # [K, dim, 1, 1]
        l_neg = F.conv2d(q[:, :, None, None], weight)[:, :, 0, 0]
        logits = torch.cat([l_pos, l_neg], dim=1) / self.T
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        return logits, F.cross_entropy(logits, labels)


class OneDnnLinear(torch.nn.Module):
    """nn.Linear through oneDNN: y = x W^T + b as a 1x1 convolution, on the Linear's own parameters.

    For the same reason as FastMoCo's logits: under Debian's reference BLAS the MLP head's two
    layers ran at 3-7 GFLOP/s (at width 64, 140 ms per encoder pass; docs/performance.md).
    """

    def __init__(self, linear):
        super().__init__()
        self.weight, self.bias = linear.weight, linear.bias  # the same Parameters: the optimizer keeps them

    def forward(self, x):
        return F.conv2d(x[:, :, None, None], self.weight[:, :, None, None], self.bias)[:, :, 0, 0]


def linears_through_onednn(module):
    """Replaces every nn.Linear under module by an OneDnnLinear on its parameters, in place (names and order kept)."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.Linear):
            setattr(module, name, OneDnnLinear(child))
        else:
            linears_through_onednn(child)


class CudaMoCo(MoCo):
    """The same step on a CUDA device: the labels live where the logits do (cuBLAS is fast, so einsum stays)."""

    def logits_and_loss(self, q, k, queue):
        l_pos = torch.einsum("nc,nc->n", q, k).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", q, queue)
        logits = torch.cat([l_pos, l_neg], dim=1) / self.T
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return logits, F.cross_entropy(logits, labels)


def tune_malloc():
    """glibc's malloc as PyTorch's CPU users tune it (or replace it with jemalloc/tcmalloc): no trimming.

    PyTorch on the CPU has no caching allocator: every step frees and reallocates its activations,
    and glibc hands large freed blocks back to the kernel (munmap, or trimming the heap's top), so
    the next step page-faults them in again. On this VM these settings took PyTorch's width-16 step
    from 485-704 to 586-748 images/s (3 alternating rounds; docs/performance.md). Raising the trim threshold and fixing the mmap
    threshold at its largest value keeps the memory in the process, as a caching allocator would.
    """
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    ok = libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1 and libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20) == 1
    if not ok:
        sys.exit("bench_pytorch: mallopt refused the malloc settings (--malloc default runs without them)")


ARCHS = {"resnet10": ("basic", [1, 1, 1, 1]), "resnet18": ("basic", [2, 2, 2, 2]), "resnet34": ("basic", [3, 4, 6, 3]),
         "resnet50": ("bottleneck", [3, 4, 6, 3])}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--arch", default="resnet18", choices=ARCHS)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--stem", default="cifar")
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--image-size", type=int, default=28)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--moco-k", type=int, default=4096)
    p.add_argument("--moco-dim", type=int, default=128)
    p.add_argument("--mlp", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--devices", type=int, default=2)
    p.add_argument("--symmetric", action="store_true")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logits", choices=["onednn", "einsum"], default="onednn",
                   help="how the [N,dim]x[dim,K] products run on the CPU (default onednn: the faster here)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the step runs (default cpu)")
    p.add_argument("--linear", choices=["onednn", "blas"], default="onednn",
                   help="cpu: how the head's Linear layers run (default onednn, as 1x1 convolutions: the faster here)")
    p.add_argument("--malloc", choices=["tuned", "default"], default="tuned",
                   help="cpu: tuned (default): glibc keeps freed memory instead of returning it to the kernel each step "
                        "(PyTorch at its fastest here); default: glibc as it comes")
    p.add_argument("--tf32", action="store_true",
                   help="cuda: let matrix products and convolutions use TF32 tensor cores (default: off, plain float32)")
    a = p.parse_args()
    cuda = a.device == "cuda"
    if cuda:
        if not torch.cuda.is_available():
            sys.exit("bench_pytorch: --device cuda, but torch sees no CUDA device")
        # cuDNN allows TF32 by default: say both switches explicitly, either way
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cudnn.benchmark = True  # PyTorch at its fastest: cuDNN picks each convolution's algorithm

    if not cuda and a.malloc == "tuned":
        tune_malloc()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    block, layers = ARCHS[a.arch]
    model_cfg = dict(block=block, layers=layers, width=a.width, in_channels=a.in_channels, stem=a.stem,
                     dim=a.moco_dim, mlp=a.mlp)
    moco_cfg = dict(K=a.moco_k, m=0.99, T=0.1, devices=a.devices, symmetric=a.symmetric)
    optim_cfg = dict(lr=0.06, momentum=0.9, weight_decay=5e-4)
    cls = CudaMoCo if cuda else (FastMoCo if a.logits == "onednn" else MoCo)
    moco = cls(model_cfg, moco_cfg, optim_cfg, dtype=torch.float32)
    with torch.no_grad():  # builder.py: encoder_k starts as a copy; the queue as random unit columns
        for pq, pk in zip(moco.encoder_q.parameters(), moco.encoder_k.parameters()):
            pk.copy_(pq)
        moco.queue.copy_(torch.nn.functional.normalize(torch.randn(a.moco_dim, a.moco_k), dim=0))
    if not cuda and a.linear == "onednn":
        linears_through_onednn(moco.encoder_q)
        linears_through_onednn(moco.encoder_k)
    device = torch.device(a.device)
    if cuda:  # Module.to moves the parameters in place, so the optimizer keeps them
        moco.encoder_q.to(device)
        moco.encoder_k.to(device)
        moco.queue = moco.queue.to(device)
    shape = (a.batch_size, a.in_channels, a.image_size, a.image_size)
    im_q, im_k = torch.randn(shape).to(device), torch.randn(shape).to(device)
    times = []
    for s in range(a.warmup + a.steps):
        idx = torch.randperm(a.batch_size).to(device)
        idx2 = torch.randperm(a.batch_size).to(device) if a.symmetric else None
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        moco.step(s, im_q, im_k, idx, idx2)
        if cuda:
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        if s >= a.warmup:
            times.append((t1 - t0) * 1000)
    median = statistics.median(times)
    print(json.dumps({
        "backend": "pytorch", "threads": torch.get_num_threads(), "torch": torch.__version__,
        "images_per_s": round(a.batch_size / (median / 1000), 1), "step_ms_median": round(median, 2),
        "step_ms_min": round(min(times), 2), "step_ms_max": round(max(times), 2), "steps": a.steps,
        "warmup": a.warmup, "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "arch": a.arch, "width": a.width, "stem": a.stem, "in_channels": a.in_channels,
        "image_size": a.image_size, "batch_size": a.batch_size, "moco_k": a.moco_k, "moco_dim": a.moco_dim,
        "malloc": None if cuda else a.malloc, "linear": None if cuda else a.linear, "mlp": a.mlp, "devices": a.devices, "symmetric": a.symmetric, "logits": "einsum" if cuda else a.logits,
        "device": a.device, "gpu": torch.cuda.get_device_name(0) if cuda else None, "tf32": a.tf32 if cuda else None,
        "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None}))


if __name__ == "__main__":
    main()
