#!/usr/bin/python3
"""Golden cases of the MoCo training step (format moco-golden/1).

Writes reference-tests/cases/<name>/{case.json, init.safetensors, inputs.safetensors,
expected.safetensors} as specified in docs/golden-case-format.md, with
the numbers computed by moco_torch.py (PyTorch, float64).

Usage:
  /usr/bin/python3 reference-tests/make_golden.py --all
      regenerate every committed case (the CASES table below)
  /usr/bin/python3 reference-tests/make_golden.py --name X --block basic --layers 1,1,1,1 \\
      --width 4 --stem cifar --in-channels 1 --image 1,16,16 --dim 8 [--mlp] --K 16 --m 0.99 \\
      --T 0.07 --devices 2 --batch 8 --steps 3 --lr 0.03 --momentum 0.9 --wd 1e-4 \\
      [--m-schedule cosine --total-steps 10 --step-offset 3] [--symmetric] [--mid-training] \\
      [--mechanism end-to-end|memory-bank --bank-rows 48] [--no-shuffle-bn] --seed 1 --out DIR
      one custom case, written to DIR/X
  /usr/bin/python3 reference-tests/make_golden.py --check DIR [--dtype float32]
      recompute DIR's expected from its init + inputs and print the relative error
      ||a - e|| / ||e|| of every tensor (0 everywhere in float64: the generator is
      deterministic)

Besides the spec's keys, case.json gets a top-level "float32" verdict:
  {"held": bool, "worst_rel_err": x, "reruns": R, "reason": "..."}
A float32 backend is held to a case iff every BN layer sees at least 4 samples per
device (batch / devices >= 4) AND R = 8 float32 reruns of the whole case, each from
init + inputs multiplied by (1 + 1e-7 * noise) (fresh noise per rerun) before the cast
to float32, reproduce every tensor of expected within relative error 2e-4 (integer
tensors exactly). The worst error seen is recorded either way.
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from moco_torch import build_encoder, randomize_, run_case  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")

FLOAT32_RERUNS = 8
FLOAT32_TOL = 2e-4
FLOAT32_MIN_PER_DEVICE = 4


def case(name, seed, *, block="basic", layers=(1, 1, 1, 1), width=4, in_channels=1, stem="cifar",
         dim=8, mlp=False, K=16, m=0.99, T=0.07, devices=1, lr=0.03, momentum=0.9, wd=1e-4,
         batch=8, image=(1, 16, 16), steps=3, m_schedule="constant", total_steps=None,
         step_offset=0, symmetric=False, mid_training=False, mechanism="moco", shuffle_bn=True, bank_rows=0):
    """A case description: the case.json content plus how to make init (seed, mid_training)."""
    moco = {"K": K, "m": m, "T": T, "devices": devices}
    # options are written only when not at their default ("absent means the default")
    if m_schedule != "constant":
        moco["m_schedule"] = m_schedule
        moco["total_steps"] = total_steps
        if step_offset:
            moco["step_offset"] = step_offset
    if symmetric:
        moco["symmetric"] = True
    if mechanism != "moco":
        moco["mechanism"] = mechanism
    if not shuffle_bn:
        moco["shuffle_bn"] = False
    cfg = {
        "format": "moco-golden/1",
        "model": {"block": block, "layers": list(layers), "width": width, "in_channels": in_channels,
                  "stem": stem, "dim": dim, "mlp": mlp},
        "moco": moco,
        "optim": {"lr": lr, "momentum": momentum, "weight_decay": wd},
        "batch": batch, "image": list(image), "steps": steps, "dtype": "float64",
    }
    if image[0] != in_channels:
        raise ValueError(f"{name}: image channels {image[0]} != in_channels {in_channels}")
    return {"name": name, "seed": seed, "mid_training": mid_training, "bank_rows": bank_rows, "cfg": cfg}


# The committed cases. Seeds are fixed per case so each regenerates byte for byte.
CASES = [
    # 1. the plain MoCo v1 step on one device; K = 2N so the queue wraps at step 2
    case("basic_cifar_g1_k16", 1, devices=1, batch=8, K=16, steps=3, m=0.99, T=0.07),
    # 2. two devices (ShuffleBN across them); K = 3N, 4 steps: ptr 0, 8, 16, 0 (wraps mid-run)
    case("basic_cifar_g2_k24_wrap", 2, devices=2, batch=8, K=24, steps=4, m=0.9),
    # 3. bottleneck blocks, imagenet stem (7x7 s2 conv + max-pool), four devices of 4
    case("bottleneck_imagenet_g4", 3, block="bottleneck", stem="imagenet", in_channels=3, image=(3, 32, 32),
         width=3, dim=16, devices=4, batch=16, K=32, m=0.999, steps=2),
    # 4. MoCo v2 MLP head; m = 0 makes encoder_k's parameters a copy of encoder_q's each step
    case("mlp_m0_g2", 4, mlp=True, m=0.0, T=0.2, devices=2, batch=8, K=16, in_channels=3, image=(3, 16, 16)),
    # 5. cosine momentum schedule resumed at step 3 of 10
    case("cosine_m_g2", 5, m=0.99, m_schedule="cosine", total_steps=10, step_offset=3, devices=2, batch=8,
         K=16, steps=3),
    # 6. symmetric loss (CIFAR-10 demo): 2N keys per step, K = 2 * 2N so the queue wraps
    case("symmetric_g2_k32", 6, symmetric=True, devices=2, batch=8, K=32, steps=3, m=0.99),
    # 7. resumed mid-training: SGD momentum buffers, queue_ptr != 0, encoder_k != encoder_q,
    #    trained running statistics, weight decay 5e-4
    case("midtrain_g2_wd5e-4", 7, mid_training=True, devices=2, batch=8, K=32, steps=3, m=0.99, wd=5e-4,
         in_channels=3, image=(3, 16, 16)),
    # 8. ResNet-18 layout (two blocks per stage) at width 4 with the MLP head
    case("resnet18_w4_mlp_g2", 8, layers=(2, 2, 2, 2), width=4, in_channels=1, image=(1, 28, 28), mlp=True,
         dim=16, devices=2, batch=16, K=64, steps=2, m=0.99),
    # 9. float32-friendly: 8 samples per device, small images, 3 steps
    case("basic_cifar_g2_b16_f32", 9, devices=2, batch=16, K=32, steps=3, in_channels=3, image=(3, 12, 12),
         m=0.99),
    # 10. extra: only 2 samples per device (4 devices of 2), which float32 backends are not
    #     held to by rule; float64 implementations still must match it
    case("basic_cifar_g4_b8_tiny", 10, devices=4, batch=8, K=16, steps=2, m=0.99),
    # 11. the paper's ablations. End-to-end: the batch is the dictionary (K = batch - 1), the keys
    #     get gradients; queries and keys through encoder_q as 2G devices
    case("end_to_end_g2_b16", 11, mechanism="end-to-end", devices=2, batch=16, K=15, steps=3, T=0.2, mlp=True,
         image=(1, 12, 12)),
    # 12. end-to-end with the symmetric loss and an imagenet stem
    case("end_to_end_symmetric_g2", 12, mechanism="end-to-end", symmetric=True, devices=2, batch=8, K=7, steps=2,
         stem="imagenet", in_channels=3, image=(3, 24, 24)),
    # 13. memory bank: 48 rows, K = 32 negatives drawn per step, batches overlapping across steps
    case("memory_bank_g2_b16", 13, mechanism="memory-bank", bank_rows=48, devices=2, batch=16, K=32, steps=3,
         T=0.2, mlp=True, image=(1, 16, 16)),
    # 14. MoCo without shuffle BN (the cheating setting): keys keep their order across devices
    case("no_shuffle_bn_g2_b16", 14, shuffle_bn=False, devices=2, batch=16, K=32, steps=3, image=(1, 12, 12)),
    # 15. small images whose last stages are 1x1: 16 px through the imagenet stem (8, then 4 after the
    #     max-pool) leaves layer3 and layer4 at 1x1, so layer4's stride-2 convolutions map 1x1 to 1x1
    case("basic_imagenet_16px_g2", 15, stem="imagenet", image=(1, 16, 16), mlp=True, devices=2, batch=16, K=32,
         steps=2, m=0.99),
    # 16. the same with bottleneck blocks (a stride-2 3x3 between 1x1s of equal planes) through the cifar stem at 4 px
    case("bottleneck_cifar_4px_g2", 16, block="bottleneck", image=(1, 4, 4), width=3, dim=16, devices=2, batch=16,
         K=32, steps=2, m=0.99),
]


# ---------------------------------------------------------------------------------
# init and inputs
# ---------------------------------------------------------------------------------

def make_init(cfg, gen, mid_training, bank_rows=0):
    """Tensors of init.safetensors, in the order: encoder_q.*, encoder_k.*, queue,
    queue_ptr, [optimizer.encoder_q.<param>.momentum_buffer].

    A fresh case starts like main_moco.py: BN buffers at their defaults (0, 1, 0),
    encoder_k a copy of encoder_q. Parameters are random (not torchvision's init) so
    that no value is special. A mid-training case has trained-looking state instead.
    """
    model_cfg, moco_cfg = cfg["model"], cfg["moco"]
    enc_q = build_encoder(model_cfg)
    randomize_(enc_q, gen, buffers=mid_training, num_batches_tracked=120)
    enc_k = build_encoder(model_cfg)
    enc_k.load_state_dict(enc_q.state_dict())
    if mid_training:
        with torch.no_grad():
            # encoder_k lags encoder_q: its parameters differ by a few percent ...
            for p in enc_k.parameters():
                p.add_(0.05 * p.abs().mean() * torch.randn(p.shape, generator=gen))
            # ... and its running statistics were collected on other batches
            for mod in enc_k.modules():
                if isinstance(mod, torch.nn.BatchNorm2d):
                    mod.running_mean.add_(0.1 * torch.randn(mod.running_mean.shape, generator=gen))
                    mod.running_var.mul_(1.0 + 0.2 * torch.rand(mod.running_var.shape, generator=gen))

    init = {}
    mechanism = moco_cfg.get("mechanism", "moco")
    encoders = (("encoder_q.", enc_q), ("encoder_k.", enc_k)) if mechanism == "moco" else (("encoder_q.", enc_q),)
    for prefix, enc in encoders:
        for name, t in enc.state_dict().items():
            init[prefix + name] = t.detach().clone()
    dim, K = model_cfg["dim"], moco_cfg["K"]
    if mechanism != "moco":
        if mid_training:
            raise ValueError("mid-training cases are MoCo cases")
        if mechanism == "memory-bank":  # random unit rows, one per training image
            init["bank"] = F.normalize(torch.randn(bank_rows, dim, generator=gen), dim=1)
        return init
    # as in builder.py: randn(dim, K) normalized over dim 0 (each column a unit key)
    init["queue"] = F.normalize(torch.randn(dim, K, generator=gen), dim=0)
    per_step = cfg["batch"] * (2 if moco_cfg.get("symmetric") else 1)
    if mid_training:
        # a non-zero pointer on a block boundary (the queue is filled in whole blocks)
        slots = K // per_step
        if slots < 2:
            raise ValueError("a mid-training case needs K >= 2 blocks of keys for a non-zero queue_ptr")
        init["queue_ptr"] = torch.tensor([per_step * int(torch.randint(1, slots, (1,), generator=gen))],
                                         dtype=torch.long)
        for name, p in enc_q.named_parameters():
            init[f"optimizer.encoder_q.{name}.momentum_buffer"] = \
                0.01 * p.abs().mean() * torch.randn(p.shape, generator=gen)
    else:
        init["queue_ptr"] = torch.zeros(1, dtype=torch.long)
    return init


def make_inputs(cfg, gen, bank_rows=0):
    """Already-augmented views: random normal images; random permutations for ShuffleBN;
    for the memory bank, the batch's bank rows (distinct) and K negative rows (uniform,
    with replacement) instead."""
    n = cfg["batch"]
    inputs = {}
    for s in range(cfg["steps"]):
        inputs[f"step.{s}.im_q"] = torch.randn([n] + cfg["image"], generator=gen)
        inputs[f"step.{s}.im_k"] = torch.randn([n] + cfg["image"], generator=gen)
        if cfg["moco"].get("mechanism") == "memory-bank":
            inputs[f"step.{s}.index"] = torch.randperm(bank_rows, generator=gen)[:n]
            inputs[f"step.{s}.negatives"] = torch.randint(bank_rows, (cfg["moco"]["K"],), generator=gen)
            continue
        inputs[f"step.{s}.idx_shuffle"] = torch.randperm(n, generator=gen)
        if cfg["moco"].get("symmetric"):
            inputs[f"step.{s}.idx_shuffle2"] = torch.randperm(n, generator=gen)
    return inputs


def validate(cfg):
    n, G, K = cfg["batch"], cfg["moco"]["devices"], cfg["moco"]["K"]
    per_step = n * (2 if cfg["moco"].get("symmetric") else 1)
    if n % G:
        raise ValueError(f"batch {n} not divisible by devices {G}")
    mechanism = cfg["moco"].get("mechanism", "moco")
    if mechanism == "end-to-end" and K != n - 1:
        raise ValueError(f"end-to-end needs K = batch - 1 = {n - 1}")
    if mechanism == "moco" and K % per_step:
        raise ValueError(f"K {K} not a multiple of the {per_step} keys enqueued per step")


# ---------------------------------------------------------------------------------
# comparison and the float32 verdict
# ---------------------------------------------------------------------------------

def rel_err(a, e):
    """||a - e|| / ||e|| in float64; integer tensors: 0 if equal, inf otherwise;
    ||e|| == 0 falls back to the absolute norm ||a||."""
    if a.shape != e.shape:
        return math.inf
    if not e.is_floating_point():
        return 0.0 if torch.equal(a, e) else math.inf
    a, e = a.double(), e.double()
    den = e.norm().item()
    num = (a - e).norm().item()
    return num / den if den > 0 else num


def perturb(tensors, gen):
    """float32 copies of float tensors, each multiplied first by (1 + 1e-7 * noise):
    a one-ulp-sized change that shows how much float32 rounding the case amplifies."""
    out = {}
    for k, t in tensors.items():
        if t.is_floating_point():
            out[k] = (t * (1.0 + 1e-7 * torch.randn(t.shape, generator=gen, dtype=t.dtype))).float()
        else:
            out[k] = t.clone()
    return out


def float32_verdict(cfg, init, inputs, expected, seed, reruns=FLOAT32_RERUNS):
    worst, worst_name = 0.0, None
    for r in range(reruns):
        gen = torch.Generator().manual_seed(100000 * seed + r)
        out = run_case(cfg, perturb(init, gen), perturb(inputs, gen), dtype=torch.float32)
        for name, e in expected.items():
            err = rel_err(out[name], e)
            if err > worst:
                worst, worst_name = err, name
    per_device = cfg["batch"] // cfg["moco"]["devices"]
    enough = per_device >= FLOAT32_MIN_PER_DEVICE
    stable = worst <= FLOAT32_TOL
    samples = (f"batch/devices = {per_device} samples per device in every BN layer "
               f"({'>=' if enough else '<'} the {FLOAT32_MIN_PER_DEVICE} required)")
    errors = (f"the worst relative error over {reruns} perturbed float32 reruns is {worst:.3g} "
              f"{'<=' if stable else '>'} {FLOAT32_TOL:g} ({worst_name})")
    held = enough and stable
    return {"held": held, "worst_rel_err": float(f"{worst:.3g}"), "reruns": reruns,
            "reason": f"{'held' if held else 'not held'}: {samples}; {errors}"}


# ---------------------------------------------------------------------------------
# writing and checking a case
# ---------------------------------------------------------------------------------

def dump_json(obj, indent=""):
    """JSON with one key per line but lists of numbers on one line, like the spec's example."""
    if isinstance(obj, dict):
        inner = indent + "  "
        items = [f"{inner}{json.dumps(k)}: {dump_json(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return json.dumps(obj)


def generate(desc, out_root, reruns=FLOAT32_RERUNS):
    cfg = json.loads(json.dumps(desc["cfg"]))  # a private copy
    validate(cfg)
    torch.manual_seed(desc["seed"])  # nothing should draw from the global RNG; belt and braces
    gen = torch.Generator().manual_seed(desc["seed"])
    init = make_init(cfg, gen, desc["mid_training"], desc.get("bank_rows", 0))
    inputs = make_inputs(cfg, gen, desc.get("bank_rows", 0))
    expected = run_case(cfg, init, inputs, dtype=torch.float64)
    cfg["float32"] = float32_verdict(cfg, init, inputs, expected, desc["seed"], reruns)

    d = os.path.join(out_root, desc["name"])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "case.json"), "w") as f:
        f.write(dump_json(cfg) + "\n")
    safetensors_io.save(init, os.path.join(d, "init.safetensors"))
    safetensors_io.save(inputs, os.path.join(d, "inputs.safetensors"))
    safetensors_io.save(expected, os.path.join(d, "expected.safetensors"))
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    v = cfg["float32"]
    print(f"{desc['name']}: {size / 1e6:.2f} MB, float32 held={v['held']} worst={v['worst_rel_err']:.3g}")
    return d


def check(d, dtype):
    with open(os.path.join(d, "case.json")) as f:
        cfg = json.load(f)
    init, _ = safetensors_io.load(os.path.join(d, "init.safetensors"))
    inputs, _ = safetensors_io.load(os.path.join(d, "inputs.safetensors"))
    expected, _ = safetensors_io.load(os.path.join(d, "expected.safetensors"))
    if dtype == torch.float32:
        init = {k: (v.float() if v.is_floating_point() else v) for k, v in init.items()}
        inputs = {k: (v.float() if v.is_floating_point() else v) for k, v in inputs.items()}
    out = run_case(cfg, init, inputs, dtype=dtype)
    if set(out) != set(expected):
        print(f"name mismatch: missing {sorted(set(expected) - set(out))}, extra {sorted(set(out) - set(expected))}")
        return 1
    worst = 0.0
    for name, e in expected.items():
        err = rel_err(out[name], e)
        worst = max(worst, err)
        print(f"{err:.3e}  {name}")
    print(f"{d}: worst relative error {worst:.3e} over {len(expected)} tensors ({dtype})")
    return 0 if (worst == 0.0 or dtype != torch.float64) else 1


def parse_ints(s):
    return [int(v) for v in s.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="regenerate every committed case")
    ap.add_argument("--only", metavar="NAMES", help="with --all: regenerate only these committed cases (comma-separated)")
    ap.add_argument("--check", metavar="DIR", help="recompute a case and compare with its expected")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="for --check")
    ap.add_argument("--name")
    ap.add_argument("--block", default="basic", choices=["basic", "bottleneck"])
    ap.add_argument("--layers", default="1,1,1,1")
    ap.add_argument("--width", type=int, default=4)
    ap.add_argument("--stem", default="cifar", choices=["cifar", "imagenet"])
    ap.add_argument("--in-channels", type=int, default=None, help="defaults to the image's channels")
    ap.add_argument("--image", default="1,16,16")
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--mlp", action="store_true")
    ap.add_argument("--K", type=int, default=16)
    ap.add_argument("--m", type=float, default=0.99)
    ap.add_argument("--T", type=float, default=0.07)
    ap.add_argument("--devices", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.03)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--m-schedule", default="constant", choices=["constant", "cosine"])
    ap.add_argument("--total-steps", type=int, default=None)
    ap.add_argument("--step-offset", type=int, default=0)
    ap.add_argument("--symmetric", action="store_true")
    ap.add_argument("--mid-training", action="store_true",
                    help="start from momentum buffers, queue_ptr != 0, encoder_k != encoder_q")
    ap.add_argument("--mechanism", default="moco", choices=["moco", "end-to-end", "memory-bank"])
    ap.add_argument("--no-shuffle-bn", action="store_true", help="keys keep their order across devices")
    ap.add_argument("--bank-rows", type=int, default=0, help="memory bank: rows (training images)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reruns", type=int, default=FLOAT32_RERUNS, help="float32 reruns for the verdict")
    ap.add_argument("--out", default=CASES_DIR, help="parent folder of the case folder")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)

    if args.check:
        sys.exit(check(args.check, torch.float32 if args.dtype == "float32" else torch.float64))
    if args.all:
        only = set(args.only.split(",")) if args.only else None
        for desc in CASES:
            if only is None or desc["name"] in only:
                generate(desc, CASES_DIR)
        return
    if not args.name:
        ap.error("give --all, --check DIR, or --name X with the case's settings")
    if args.m_schedule == "cosine" and args.total_steps is None:
        ap.error("--m-schedule cosine needs --total-steps")
    image = parse_ints(args.image)
    desc = case(args.name, args.seed, block=args.block, layers=parse_ints(args.layers), width=args.width,
                in_channels=args.in_channels if args.in_channels is not None else image[0], stem=args.stem,
                dim=args.dim, mlp=args.mlp, K=args.K, m=args.m, T=args.T, devices=args.devices, lr=args.lr,
                momentum=args.momentum, wd=args.wd, batch=args.batch, image=image, steps=args.steps,
                m_schedule=args.m_schedule, total_steps=args.total_steps, step_offset=args.step_offset,
                symmetric=args.symmetric, mid_training=args.mid_training, mechanism=args.mechanism,
                shuffle_bn=not args.no_shuffle_bn, bank_rows=args.bank_rows)
    generate(desc, args.out, args.reruns)


if __name__ == "__main__":
    main()
