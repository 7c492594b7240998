"""Reference files for moco-ref's weight-transfer tests (src/test/java/mocoref/eval/TransferTest.java).

Two directions:

(a) PyTorch -> moco-ref: `torchvision_resnet18.safetensors`
    A real `torchvision.models.resnet18(num_classes=10)` (ImageNet stem, width 64) with every
    parameter and buffer drawn from a counter-based generator (below) that the Java test
    reimplements, so that the 47 MB of weights need not be committed: what is committed is the
    model's own state-dict listing (names, shapes, dtypes, in state_dict() order) with the range
    of each tensor and its float64 sum, plus 4 random 3x32x32 images and torch's eval-mode
    outputs for them: `features` (the avgpool output, flattened) and `output` (the logits), in
    float32, and `features_f64` / `output_f64` from the same model in float64.
    The Java test rebuilds the state dict, writes it under plain torchvision names and under the
    official MoCo checkpoints' `module.encoder_q.` names, and runs `moco-ref features` on it.

(b) moco-ref -> PyTorch: `mocoref_torch.safetensors`
    Reads `mocoref_checkpoint.safetensors` (written by moco-ref: MakeTransferCheckpoint.java) and
    `mocoref_backbone.safetensors` (written by `moco-ref export` from it). Loads the query
    encoder the way main_lincls.py does (keep `encoder_q.*` but `encoder_q.fc*`, strip the
    prefix, `load_state_dict(strict=False)`, only the fc tensors missing) into the
    torchvision-layout model of moco_torch.py, and the full encoder_q (head included) strictly;
    loads the exported backbone strictly into the same model without its head. Writes 6 random
    1x28x28 images and the float32 outputs: `features` (global-pooled), `embedding` (head output),
    `backbone_features` (from the exported file), and float64 twins; the metadata records the
    outcome of each load.

Run through make_transfer.sh, which makes the moco-ref files first:
    /usr/bin/python3 reference-tests/transfer/make_transfer.py
Seeded and single-threaded: rerunning writes the same bytes.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import safetensors_io  # noqa: E402
from moco_torch import build_encoder  # noqa: E402

M64 = (1 << 64) - 1


def splitmix64(z):
    """SplitMix64's finalizer on uint64 arrays (wrapping arithmetic), as SampleSeeds.mix in Java."""
    z = z.astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform_tensor(seed, tensor_index, numel, lo, hi):
    """float32 values lo + (hi - lo) * u, u = top 24 bits of splitmix64((index << 40) + i + seed) / 2^24.

    u is a multiple of 2^-24, so it is exact in float64 and both languages compute the same float64
    and round it to the same float32.
    """
    i = np.arange(numel, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = (np.uint64(tensor_index) << np.uint64(40)) + i + np.uint64(seed)
    u = (splitmix64(key) >> np.uint64(40)).astype(np.float64) / 16777216.0
    return (lo + (hi - lo) * u).astype(np.float32)


def value_range(name, shape, model):
    """The range each tensor is drawn from: weights of unit-preserving scale, non-trivial BN statistics."""
    module = model.get_submodule(name.rsplit(".", 1)[0])
    leaf = name.rsplit(".", 1)[1]
    if isinstance(module, nn.Conv2d):
        fan_in = shape[1] * shape[2] * shape[3]
        a = (6.0 / fan_in) ** 0.5  # variance 2/fan_in, as Kaiming
        return -a, a
    if isinstance(module, nn.BatchNorm2d):
        return {"weight": (0.5, 1.5), "bias": (-0.5, 0.5), "running_mean": (-0.5, 0.5), "running_var": (0.5, 2.0)}[leaf]
    if isinstance(module, nn.Linear):
        if leaf == "weight":
            a = (3.0 / shape[1]) ** 0.5  # variance 1/fan_in
            return -a, a
        return -0.1, 0.1
    raise ValueError(f"unexpected tensor {name}")


def torchvision_case():
    seed = 7
    model = torchvision.models.resnet18(num_classes=10)
    manifest = []
    state = {}
    for index, (name, t) in enumerate(model.state_dict().items()):
        entry = {"name": name, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
        if name.endswith("num_batches_tracked"):
            entry["value"] = 7
            state[name] = torch.tensor(7, dtype=torch.int64)
        else:
            lo, hi = value_range(name, list(t.shape), model)
            v = uniform_tensor(seed, index, t.numel(), lo, hi)
            entry.update({"lo": lo, "hi": hi, "sum": float(v.astype(np.float64).sum())})
            state[name] = torch.from_numpy(v).reshape(t.shape)
        manifest.append(entry)
    model.load_state_dict(state, strict=True)
    model.eval()

    gen = torch.Generator().manual_seed(11)
    images = torch.randn(4, 3, 32, 32, generator=gen, dtype=torch.float32)

    def run(m, x):
        pooled = {}
        hook = m.avgpool.register_forward_hook(lambda mod, i, o: pooled.setdefault("f", torch.flatten(o, 1)))
        with torch.no_grad():
            out = m(x)
        hook.remove()
        return pooled["f"], out

    features, output = run(model, images)
    model64 = torchvision.models.resnet18(num_classes=10).double()
    model64.load_state_dict({k: (v.double() if v.is_floating_point() else v) for k, v in state.items()}, strict=True)
    model64.eval()
    features64, output64 = run(model64, images.double())

    meta = {
        "made_by": "reference-tests/transfer/make_transfer.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "model": "torchvision.models.resnet18(num_classes=10)",
        "generator_seed": str(seed),
        "generator": "value[i] = float32(lo + (hi - lo) * (splitmix64((index << 40) + i + seed) >>> 40) / 2^24), "
                     "index = the tensor's position in state_dict(), splitmix64 = SplitMix64's finalizer (no increment)",
        "manifest": json.dumps(manifest),
    }
    safetensors_io.save({
        "images": images,
        "features": features.contiguous(),
        "output": output.contiguous(),
        "features_f64": features64.contiguous(),
        "output_f64": output64.contiguous(),
    }, os.path.join(HERE, "torchvision_resnet18.safetensors"), meta)


def strip(state, prefix, drop_head):
    """main_lincls.py's renaming: keep `prefix*` (but the head when `drop_head`), without the prefix."""
    out = {}
    for k, v in state.items():
        if k.startswith(prefix) and not (drop_head and k.startswith(prefix + "fc")):
            out[k[len(prefix):]] = v
    return out


def mocoref_case():
    ckpt_path = os.path.join(HERE, "mocoref_checkpoint.safetensors")
    backbone_path = os.path.join(HERE, "mocoref_backbone.safetensors")
    state, meta = safetensors_io.load(ckpt_path)
    backbone, backbone_meta = safetensors_io.load(backbone_path)
    assert meta["format"] == "moco-ref-checkpoint/1", meta.get("format")
    cfg = json.loads(meta["config"])["model"]

    # main_lincls.py: backbone only, strict=False, and only the head may be missing.
    lincls = build_encoder(cfg).float()
    msg = lincls.load_state_dict(strip(state, "encoder_q.", True), strict=False)
    missing = sorted(msg.missing_keys)
    expected_missing = sorted(k for k in lincls.state_dict() if k.startswith("fc"))
    assert missing == expected_missing and not msg.unexpected_keys, msg

    full = build_encoder(cfg).float()
    full.load_state_dict(strip(state, "encoder_q.", False), strict=True)
    full.eval()

    headless = build_encoder(cfg).float()
    headless.fc = nn.Identity()
    headless.load_state_dict(backbone, strict=True)  # raises unless names, shapes and set agree exactly
    headless.eval()
    assert backbone_meta["format"] == "moco-ref-backbone/1", backbone_meta

    gen = torch.Generator().manual_seed(13)
    images = torch.randn(6, cfg["in_channels"], 28, 28, generator=gen, dtype=torch.float32)

    def features_of(m, x):
        pooled = {}
        hook = m.avgpool.register_forward_hook(lambda mod, i, o: pooled.setdefault("f", torch.flatten(o, 1)))
        with torch.no_grad():
            out = m(x)
        hook.remove()
        return pooled["f"], out

    features, embedding = features_of(full, images)
    backbone_features, _ = features_of(headless, images)
    full64 = build_encoder(cfg).double()
    full64.load_state_dict({k: (v.double() if v.is_floating_point() else v)
                            for k, v in strip(state, "encoder_q.", False).items()}, strict=True)
    full64.eval()
    features64, embedding64 = features_of(full64, images.double())
    assert torch.equal(features, backbone_features), "the exported backbone computes other features than the checkpoint"

    out_meta = {
        "made_by": "reference-tests/transfer/make_transfer.py",
        "torch": torch.__version__,
        "checkpoint": "mocoref_checkpoint.safetensors",
        "backbone": "mocoref_backbone.safetensors",
        "lincls_load": "ok: strict=False, missing " + json.dumps(missing) + ", unexpected []",
        "checkpoint_strict_load": "ok: encoder_q.* with the head, strict=True",
        "backbone_strict_load": f"ok: {len(backbone)} tensors, strict=True into the model without fc",
    }
    safetensors_io.save({
        "images": images,
        "features": features.contiguous(),
        "embedding": embedding.contiguous(),
        "backbone_features": backbone_features.contiguous(),
        "features_f64": features64.contiguous(),
        "embedding_f64": embedding64.contiguous(),
    }, os.path.join(HERE, "mocoref_torch.safetensors"), out_meta)


def lincls_backbone_case():
    """(c) What main_lincls.py keeps of a moco-ref checkpoint, as PyTorch's own state dict.

    The query encoder of `mocoref_checkpoint.safetensors` loaded the way main_lincls.py loads it
    (`encoder_q.*` without the head, `strict=False`), then the model's `state_dict()` less the
    freshly initialized `fc`: torchvision's names in PyTorch's module order, float32 parameters
    and buffers, `num_batches_tracked` int64 `[]`. `moco-ref export` of the same checkpoint must
    write exactly these tensors (TransferTest): a check of its names, order, dtypes and values
    that does not rest on an earlier output of moco-ref.
    """
    state, meta = safetensors_io.load(os.path.join(HERE, "mocoref_checkpoint.safetensors"))
    cfg = json.loads(meta["config"])["model"]
    model = build_encoder(cfg).float()
    msg = model.load_state_dict(strip(state, "encoder_q.", True), strict=False)
    assert sorted(msg.missing_keys) == sorted(k for k in model.state_dict() if k.startswith("fc")), msg
    backbone = {k: v for k, v in model.state_dict().items() if not k.startswith("fc")}
    safetensors_io.save(backbone, os.path.join(HERE, "torch_backbone.safetensors"), {
        "made_by": "reference-tests/transfer/make_transfer.py",
        "torch": torch.__version__,
        "source": "mocoref_checkpoint.safetensors",
        "how": "main_lincls.py's load (encoder_q.* without fc, strict=False), then state_dict() without fc",
    })


if __name__ == "__main__":
    torch.set_num_threads(1)
    torchvision_case()
    mocoref_case()
    lincls_backbone_case()
    print("wrote torchvision_resnet18.safetensors, mocoref_torch.safetensors and torch_backbone.safetensors")
