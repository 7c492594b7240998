#!/usr/bin/python3
"""Random golden cases made by PyTorch, run on moco-ref's backends: the committed suite's check
on configurations nobody chose.

    /usr/bin/python3 scripts/golden_sweep.py [--cases 30] [--seed 1] [--backends cpu,opencl] [--out DIR]

Each case is a random configuration (block, layers, width 1-8, 1 or 3 channels, 1-33 px, both
stems, dim 3-16, G 1-4 with 4-8 images per device, symmetric or not, T, m, MLP head or not) made
the way the committed cases are, by `reference-tests/make_golden.py` (PyTorch in float64, and the
format's float32 verdict from 8 perturbed PyTorch float32 reruns), then verified on each backend
by `moco-ref golden verify --backend B` (float64 backends to 1e-9; float32 ones to 2e-4 where the
case is held for float32, skipped where it is not, as the format says). A row gives the verdict
and each backend's worst relative error; a held case a backend fails is marked FAILS and the
script exits 1. A failure is a lead, not a verdict: a case can amplify rounding so much (the
float32 verdict above 1) that the float64 reference and PyTorch's float64, summing in different
orders, differ by more than 1e-9 on a gradient that is nearly zero (seen once: BatchNorm biases'
momentum buffers at 1.2e-9, bottleneck blocks on 3x3 images with 4 per device; docs/reliability.md).
Needs PyTorch (Debian's python3-torch and python3-torchvision); runs moco-ref through its launcher, which builds the jar
when it is missing or stale.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the launcher: its JVM flags (the Vector API module, signal chaining for PoCL) and a build when the jar is stale
MOCO_REF = [os.path.join(ROOT, "moco-ref")]


def random_config(rng):
    """make_golden.py's options for one random case."""
    devices = rng.choice([1, 2, 4])
    batch = devices * rng.choice([4, 5, 8])
    symmetric = rng.random() < 0.25
    keys = 2 * batch if symmetric else batch
    channels, size = rng.choice([1, 3]), rng.choice([1, 2, 3, 5, 6, 7, 9, 11, 13, 16, 17, 20, 24, 31, 33])
    args = ["--block", rng.choice(["basic", "bottleneck"]),
            "--layers", ",".join(str(rng.choice([1, 1, 2])) for _ in range(4)),
            "--width", str(rng.choice([1, 2, 3, 5, 8])), "--image", f"{channels},{size},{size}",
            "--stem", rng.choice(["cifar", "imagenet"]), "--dim", str(rng.choice([3, 8, 16])),
            "--devices", str(devices), "--batch", str(batch), "--K", str(keys * rng.choice([1, 2, 3])),
            "--steps", "2", "--T", str(rng.choice([0.07, 0.2, 1.0])), "--m", str(rng.choice([0.0, 0.9, 0.999])),
            "--seed", str(rng.randrange(1000))]
    if rng.random() < 0.5:
        args.append("--mlp")
    if symmetric:
        args.append("--symmetric")
    return args


def worst(text):
    m = re.findall(r"worst relative error ([0-9.eE+-]+|inf|nan)", text)
    return float(m[-1]) if m else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backends", default="cpu")
    ap.add_argument("--out", default="/tmp/moco-ref-golden-sweep")
    args = ap.parse_args()
    backends = args.backends.split(",")
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    failures = 0
    print("case | float32 held (PyTorch's worst) | " + " | ".join(backends) + " | options")
    for i in range(args.cases):
        options = random_config(rng)
        name = f"case{args.seed}_{i}"
        d = os.path.join(args.out, name)
        shutil.rmtree(d, ignore_errors=True)
        made = subprocess.run([sys.executable, os.path.join(ROOT, "reference-tests", "make_golden.py"), "--name", name,
                               "--out", args.out] + options, capture_output=True, text=True)
        if made.returncode != 0:
            print(f"{i} | PyTorch refused it: {(made.stderr.strip().splitlines() or ['?'])[-1]} | {' '.join(options)}")
            continue
        with open(os.path.join(d, "case.json")) as f:
            verdict = json.load(f)["float32"]
        cells = []
        for b in backends:
            v = subprocess.run(MOCO_REF + ["golden", "verify", "--backend", b, d], capture_output=True, text=True)
            out = v.stdout + v.stderr
            if "skipped" in out and "0 passed" in out:
                cells.append("skipped")
            elif v.returncode == 0:
                cells.append(f"ok {worst(out):.1e}")
            else:
                cells.append(f"FAILS {worst(out):.1e}")
                failures += 1
        held = f"{'yes' if verdict['held'] else 'no'} ({verdict['worst_rel_err']:.1e})"
        print(f"{i} | {held} | " + " | ".join(cells) + f" | {' '.join(options)}", flush=True)
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
