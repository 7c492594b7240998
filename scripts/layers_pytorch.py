#!/usr/bin/python3
"""PyTorch's time for each row of `mocoref.float32.LayerTiming`: the per-layer half of
`scripts/layers-vs-pytorch.sh`.

Reads LayerTiming's tab-separated rows (name, shape, count, pass, ms, flop) from the file given,
times the same operation with PyTorch on the CPU (float32, torch.set_num_threads(threads)) and
prints the row again with PyTorch's median ms in a seventh column. Each operation runs as the
PyTorch MoCo step of `bench_pytorch.py` runs it: that step (reference-tests/moco_torch.py's
`forward_chunks`) runs the encoder once per logical device, on a chunk of batch / G images, so
a convolution, BatchNorm or Linear row is G calls on a chunk each; the logits over the queue are
`FastMoCo.logits_and_loss`'s 1x1 convolution (oneDNN) on the whole batch; the SGD step is
torch.optim.SGD over encoder_q's parameters and the momentum update is builder.py's loop.
The input gradient and the weight gradient of a convolution are `aten::convolution_backward`
with one output each, the same function autograd calls. Each row is the median of --reps calls
after 3 warm-up calls, with glibc's malloc tuned as bench_pytorch.py's default (--malloc): without
it most of a large convolution's time on this VM is page faults of freshly mapped buffers.
"""
import argparse
import os
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference-tests"))
from moco_torch import build_encoder  # noqa: E402
from bench_pytorch import tune_malloc  # noqa: E402

WARMUP = 3


def timed(fn, reps):
    """Median ms of fn() over reps calls after WARMUP calls."""
    times = []
    for r in range(reps + WARMUP):
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        if r >= WARMUP:
            times.append((t1 - t0) * 1000)
    return statistics.median(times)


def timed_backward(forward, reps):
    """Median ms of the backward alone: forward() builds a fresh graph and returns (outputs, inputs, grads)."""
    times = []
    for r in range(reps + WARMUP):
        outs, ins, grads = forward()
        t0 = time.perf_counter()
        torch.autograd.grad(outs, ins, grads)
        t1 = time.perf_counter()
        if r >= WARMUP:
            times.append((t1 - t0) * 1000)
    return statistics.median(times)


def conv_row(shape, pazz, batch, groups, reps):
    m = re.fullmatch(r"(\d+)->(\d+) k(\d+) s(\d+) @(\d+)x(\d+)", shape)
    cin, cout, k, s, h, w = map(int, m.groups())
    p = k // 2
    b = batch // groups
    xs = [torch.randn(b, cin, h, w) for _ in range(groups)]
    weight = torch.randn(cout, cin, k, k) * 0.1
    ys = [F.conv2d(x, weight, None, s, p) for x in xs]
    if pazz == "fwd":
        return timed(lambda: [F.conv2d(x, weight, None, s, p) for x in xs], reps)
    mask = [pazz == "dX", pazz == "dW", False]
    return timed(lambda: [torch.ops.aten.convolution_backward(y, x, weight, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)
                          for x, y in zip(xs, ys)], reps)


def bn_row(shape, pazz, batch, groups, reps):
    c, h, w = map(int, re.match(r"(\d+)x(\d+)x(\d+)", shape).groups())
    b = batch // groups
    bn = torch.nn.BatchNorm2d(c)
    xs = [torch.randn(b, c, h, w, requires_grad=True) for _ in range(groups)]
    if pazz == "fwd":
        return timed(lambda: [F.relu(bn(x)) for x in xs], reps)  # with autograd recording, as in training
    dys = [torch.randn(b, c, h, w) for _ in range(groups)]
    params = list(bn.parameters())

    def forward():
        ys = [F.relu(bn(x)) for x in xs]
        return ys, xs + params, dys
    return timed_backward(forward, reps)


def linear_row(shape, pazz, batch, groups, reps):
    n, fin, fout = map(int, re.match(r"(\d+)x(\d+) -> (\d+)", shape).groups())
    b = n // groups
    lin = torch.nn.Linear(fin, fout)
    xs = [torch.randn(b, fin, requires_grad=True) for _ in range(groups)]
    if pazz == "fwd":
        return timed(lambda: [lin(x) for x in xs], reps)
    dys = [torch.randn(b, fout) for _ in range(groups)]

    def forward():
        return [lin(x) for x in xs], xs + list(lin.parameters()), dys
    return timed_backward(forward, reps)


def logits_row(shape, pazz, reps, T=0.2):
    n, dim, _, kq = map(int, re.match(r"(\d+)x(\d+) x (\d+)x(\d+)", shape).groups())
    q = torch.randn(n, dim, requires_grad=True)
    k = torch.randn(n, dim)
    queue = torch.randn(dim, kq)

    def logits():  # bench_pytorch.FastMoCo.logits_and_loss without the loss
        l_pos = (q * k).sum(dim=1, keepdim=True)
        l_neg = F.conv2d(q[:, :, None, None], queue.t().contiguous()[:, :, None, None])[:, :, 0, 0]
        return torch.cat([l_pos, l_neg], dim=1) / T
    if pazz == "fwd":
        return timed(logits, reps)
    dl = torch.randn(n, kq + 1)
    return timed_backward(lambda: ([logits()], [q], [dl]), reps)


def optimizer_row(name, width, reps):
    model_cfg = dict(block="basic", layers=[2, 2, 2, 2], width=width, in_channels=1, stem="cifar", dim=128, mlp=True)
    enc_q, enc_k = build_encoder(model_cfg), build_encoder(model_cfg)
    for p in enc_q.parameters():
        p.grad = torch.full_like(p, 1e-3)
    if name == "sgd step":
        opt = torch.optim.SGD(enc_q.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
        opt.step()  # the momentum buffers exist from the first step on
        return timed(opt.step, reps), sum(p.numel() for p in enc_q.parameters())

    @torch.no_grad()
    def update(m=0.99):  # builder.py's _momentum_update_key_encoder (moco_torch.MoCo.momentum_update_key_encoder)
        for pq, pk in zip(enc_q.parameters(), enc_k.parameters()):
            pk.data.mul_(m).add_(pq.data, alpha=1.0 - m)
    return timed(update, reps), sum(p.numel() for p in enc_q.parameters())


def table(path):
    """The joined rows as a markdown table: ms, GFLOP/s and share of the FMA peak on each side, and totals by kind."""
    peak = None
    rows, notes = [], []
    with open(path) as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln.startswith("#"):
                notes.append(ln[1:].strip())
                m = re.search(r"peak ([0-9.]+) GFLOP/s", ln)
                peak = float(m.group(1)) if m else peak
            elif ln.strip():
                name, shape, count, pazz, ms, flop, pt = ln.split("\t")
                rows.append((name, shape, int(count), pazz, float(ms), float(flop), float(pt)))
    for n in notes:
        print(f"- {n}")
    print()
    print("| operation | shape | pass | moco-ref ms | GFLOP/s | % peak | PyTorch ms | GFLOP/s | % peak | PyTorch / moco-ref time |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def rate(flop, ms):
        return ("%.1f" % (flop / ms / 1e6), "%.0f" % (100 * flop / ms / 1e6 / peak)) if flop > 0 and peak else ("", "")
    totals = {}
    for name, shape, count, pazz, ms, flop, pt in rows:
        g, p = rate(flop, ms)
        gp, pp = rate(flop, pt)
        print(f"| {name} | {shape} | {pazz} | {ms:.2f} | {g} | {p} | {pt:.2f} | {gp} | {pp} | {pt / ms:.2f} |")
        kind = name.split(" ")[0] + (" forward" if pazz == "fwd" else " backward" if pazz in ("dX", "dW", "bwd") else "")
        t = totals.setdefault(kind, [0.0, 0.0])
        t[0] += count * ms
        t[1] += count * pt
    print()
    print("Per encoder pass (each row times how often the model runs it):")
    print()
    print("| kind | moco-ref ms | PyTorch ms | PyTorch / moco-ref |")
    print("| --- | ---: | ---: | ---: |")
    for kind, (m, p) in totals.items():
        print(f"| {kind} | {m:.1f} | {p:.1f} | {p / m:.2f} |")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--table":
        table(sys.argv[2])
        return
    a = argparse.ArgumentParser(description=__doc__)
    a.add_argument("rows", help="LayerTiming's output (or --table JOINED: print the joined rows as markdown)")
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--reps", type=int, default=10)
    a.add_argument("--batch", type=int, default=256)
    a.add_argument("--groups", type=int, default=2, help="logical devices G of the step (chunks of batch / G)")
    a.add_argument("--width", type=int, default=16)
    a.add_argument("--malloc", choices=["tuned", "default"], default="tuned", help="as bench_pytorch.py's --malloc")
    args = a.parse_args()
    if args.malloc == "tuned":
        tune_malloc()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.rows) as f:
        lines = [ln.rstrip("\n") for ln in f if ln.strip()]
    print("# pytorch %s, %d threads, ATEN_CPU_CAPABILITY=%s, ONEDNN_MAX_CPU_ISA=%s, malloc %s" % (
        torch.__version__, torch.get_num_threads(), os.environ.get("ATEN_CPU_CAPABILITY", "(default)"),
        os.environ.get("ONEDNN_MAX_CPU_ISA", "(default)"), args.malloc))
    for ln in lines:
        if ln.startswith("#"):
            print(ln)
            continue
        name, shape, count, pazz, ms, flop = ln.split("\t")
        if name.startswith("conv "):
            t = conv_row(shape, pazz, args.batch, args.groups, args.reps)
        elif name.startswith("bn+relu "):
            t = bn_row(shape, pazz, args.batch, args.groups, args.reps)
        elif name.startswith("linear "):
            t = linear_row(shape, pazz, args.batch, args.groups, args.reps)
        elif name.startswith("logits"):
            t = logits_row(shape, pazz, args.reps)
        else:
            t, params = optimizer_row(name, args.width, args.reps)
            if str(params) + " parameters" != shape:
                sys.exit(f"layers_pytorch: {name}: PyTorch's encoder has {params} parameters, the row says {shape}")
        print("\t".join([name, shape, count, pazz, ms, flop, "%.4f" % t]), flush=True)


if __name__ == "__main__":
    main()
