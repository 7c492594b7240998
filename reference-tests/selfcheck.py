#!/usr/bin/python3
"""Cross-check the golden cases with a second, independently written MoCo step.

moco_torch.py simulates G devices by running one model on G chunks and restoring the
BN buffers, and uses torch.optim.SGD and F.cross_entropy. This script instead does
what DistributedDataParallel literally does and spells the rest out by hand:

  * G deep copies (replicas) of the encoder, replica g forwards chunk g; a parameter's
    gradient is the sum over replicas (= DDP's average of per-rank mean losses);
    the encoder's buffers afterwards are replica 0's;
  * keys are unshuffled by scattering (k[idx[i]] = k_shuffled[i]) rather than argsort;
  * cross-entropy as logsumexp(logits) - logits[:, 0];
  * SGD, the momentum update, the cosine schedule and the queue written out by hand.

It then compares with every committed expected.safetensors. Agreement to ~1e-12 says
both implementations read the spec the same way.

It also recomputes the whole-encoder dumps of reference-tests/resnet/ with replicas.

Run:  /usr/bin/python3 reference-tests/selfcheck.py [CASE_DIR ...]
"""

import copy
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from moco_torch import build_encoder  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-10


def load_encoder(model_cfg, init, prefix):
    enc = build_encoder(model_cfg)
    enc.load_state_dict({k[len(prefix):]: v for k, v in init.items() if k.startswith(prefix)})
    enc.train()
    return enc


def replicated_forward(enc, x, G):
    """Forward chunk g on its own replica; returns (output, replicas)."""
    b = x.shape[0] // G
    reps = [copy.deepcopy(enc) for _ in range(G)]
    out = torch.cat([reps[g](x[g * b:(g + 1) * b]) for g in range(G)])
    return out, reps


def take_buffers_from(enc, rep):
    """DDP broadcasts rank 0's buffers: copy replica 0's into the encoder."""
    src = dict(rep.named_buffers())
    with torch.no_grad():
        for name, buf in enc.named_buffers():
            buf.copy_(src[name])


def unit_rows(x):
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def run_independent(cfg, init, inputs):
    mc, mo, op = cfg["model"], cfg["moco"], cfg["optim"]
    G, T, K = mo["devices"], mo["T"], mo["K"]
    enc_q = load_encoder(mc, init, "encoder_q.")
    enc_k = load_encoder(mc, init, "encoder_k.")
    queue = init["queue"].clone()
    ptr = int(init["queue_ptr"][0])
    names = [n for n, _ in enc_q.named_parameters()]
    mom = {n: init.get(f"optimizer.encoder_q.{n}.momentum_buffer") for n in names}
    mom = {n: (None if v is None else v.clone()) for n, v in mom.items()}
    expected = {}

    for s in range(cfg["steps"]):
        if mo.get("m_schedule", "constant") == "cosine":
            t = (s + mo.get("step_offset", 0)) / mo["total_steps"]
            m = 1 - (1 - mo["m"]) * (1 + math.cos(math.pi * t)) / 2
        else:
            m = mo["m"]
        queue_before = queue.clone()
        q_replicas = []

        def query(im):
            out, reps = replicated_forward(enc_q, im, G)
            take_buffers_from(enc_q, reps[0])
            q_replicas.extend(reps)
            return unit_rows(out)

        def keys(im, idx):
            with torch.no_grad():
                out, reps = replicated_forward(enc_k, im[idx], G)
                take_buffers_from(enc_k, reps[0])
                ks = unit_rows(out)
                k = torch.empty_like(ks)
                k[idx] = ks  # row i of the shuffled batch is original row idx[i]
                return k

        def momentum_update():
            qp = dict(enc_q.named_parameters())
            with torch.no_grad():
                for n, p in enc_k.named_parameters():
                    p.copy_(m * p + (1 - m) * qp[n])

        def loss_of(q, k):
            logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue_before], 1) / T
            return (torch.logsumexp(logits, 1) - logits[:, 0]).mean(), logits

        im_q, im_k = inputs[f"step.{s}.im_q"], inputs[f"step.{s}.im_k"]
        if not mo.get("symmetric", False):
            q = query(im_q)
            momentum_update()
            k = keys(im_k, inputs[f"step.{s}.idx_shuffle"])
            loss, logits = loss_of(q, k)
            new_keys = k
        else:
            momentum_update()
            q1 = query(im_q)
            k2 = keys(im_k, inputs[f"step.{s}.idx_shuffle"])
            q2 = query(im_k)
            k1 = keys(im_q, inputs[f"step.{s}.idx_shuffle2"])
            l12, logits = loss_of(q1, k2)
            l21, logits2 = loss_of(q2, k1)
            loss = l12 + l21
            expected[f"step.{s}.logits2"] = logits2.detach()
            new_keys = torch.cat([k1, k2])
        expected[f"step.{s}.logits"] = logits.detach()
        expected[f"step.{s}.loss"] = loss.detach()

        n_new = new_keys.shape[0]
        queue[:, ptr:ptr + n_new] = new_keys.T
        ptr = (ptr + n_new) % K

        loss.backward()
        grads = {n: sum(dict(r.named_parameters())[n].grad for r in q_replicas) for n in names}
        with torch.no_grad():
            for n, p in enc_q.named_parameters():
                d = grads[n] + op["weight_decay"] * p
                mom[n] = d.clone() if mom[n] is None else op["momentum"] * mom[n] + d
                p.sub_(op["lr"] * mom[n])

    final = {}
    for prefix, enc in (("encoder_q.", enc_q), ("encoder_k.", enc_k)):
        for n, t in enc.state_dict().items():
            final[prefix + n] = t
    final["queue"] = queue
    final["queue_ptr"] = torch.tensor([ptr])
    for n in names:
        final[f"optimizer.encoder_q.{n}.momentum_buffer"] = mom[n]
    expected.update(final)
    return expected


def check_resnet_file(path):
    """Recompute a reference-tests/resnet dump with replicas; returns (worst, name)."""
    t, meta = safetensors_io.load(path)
    mc = {"block": meta["block"], "layers": json.loads(meta["layers"]), "width": int(meta["width"]),
          "in_channels": int(meta["in_channels"]), "stem": meta["stem"], "dim": int(meta["dim"]),
          "mlp": meta["mlp"] == "true"}
    enc = build_encoder(mc)
    sd_names = list(enc.state_dict().keys())
    enc.load_state_dict({n: t[n] for n in sd_names})
    got = {}
    enc.eval()
    with torch.no_grad():
        got["y_eval"] = enc(t["x"])
    enc.train()
    x = t["x"].clone().requires_grad_(True)
    y, reps = replicated_forward(enc, x, int(meta["groups"]))
    y.backward(t["dy"])
    got["y"], got["dx"] = y.detach(), x.grad
    for n, _ in enc.named_parameters():
        got["grad." + n] = sum(dict(r.named_parameters())[n].grad for r in reps)
    for n, b in reps[0].named_buffers():
        got["after." + n] = b
    return max((rel(v, t[n]), n) for n, v in got.items())


def rel(a, e):
    if not e.is_floating_point():
        return 0.0 if torch.equal(a, e) else math.inf
    den = e.norm().item()
    return (a - e).norm().item() / den if den else (a - e).norm().item()


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    cases_dir = os.path.join(HERE, "cases")
    dirs = sys.argv[1:] or sorted(os.path.join(cases_dir, d) for d in os.listdir(cases_dir))
    bad = 0
    for d in dirs:
        with open(os.path.join(d, "case.json")) as f:
            cfg = json.load(f)
        init, _ = safetensors_io.load(os.path.join(d, "init.safetensors"))
        inputs, _ = safetensors_io.load(os.path.join(d, "inputs.safetensors"))
        expected, _ = safetensors_io.load(os.path.join(d, "expected.safetensors"))
        got = run_independent(cfg, init, inputs)
        missing = set(expected) ^ set(got)
        worst, worst_name = max((rel(got[n], e), n) for n, e in expected.items() if n in got)
        ok = not missing and worst <= TOL
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(d)}: worst {worst:.2e} ({worst_name})"
              + (f", name mismatch {sorted(missing)}" if missing else ""))
    if not sys.argv[1:]:
        resnet_dir = os.path.join(HERE, "resnet")
        for f in sorted(os.listdir(resnet_dir)):
            worst, worst_name = check_resnet_file(os.path.join(resnet_dir, f))
            ok = worst <= TOL
            bad += not ok
            print(f"{'ok  ' if ok else 'FAIL'} resnet/{f}: worst {worst:.2e} ({worst_name})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
