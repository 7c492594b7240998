"""PyTorch (float64) reference of the moco-ref encoder and of one MoCo training step.

This module is the executable form of docs/golden-case-format.md:

* `ResNetEncoder` builds the encoder with torchvision's layout and state-dict names
  but a configurable width / stem / head. The residual blocks are torchvision's own
  `BasicBlock` and `Bottleneck` classes, so block internals (where the stride sits,
  when a downsample branch exists, ReLU placement) are exactly torchvision's.
* `forward_chunks` simulates G DistributedDataParallel devices on one host: each
  contiguous chunk of the batch goes through the model separately (per-chunk BN batch
  statistics), and the BN buffers end as updated by chunk 0 alone (DDP broadcasts
  rank 0's buffers at every forward).
* `MoCo` holds both encoders, the queue and the optimizer and performs the spec's
  steps 1-8, with the names of the official moco/builder.py where natural.

Everything here is dtype-agnostic: the generators run it in float64 for the golden
numbers and in float32 to decide whether float32 backends can be held to a case.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import BasicBlock, Bottleneck

BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


# ---------------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------------

class ResNetEncoder(nn.Module):
    """torchvision-layout ResNet with configurable width, stem and head.

    torchvision.models.ResNet hard-codes 64 stem channels, so the skeleton is built
    here; attribute names (conv1, bn1, layer1..4, fc) are chosen so that
    `state_dict()` keys are exactly torchvision's.
    """

    def __init__(self, block="basic", layers=(1, 1, 1, 1), width=4, in_channels=3,
                 stem="cifar", dim=8, mlp=False):
        super().__init__()
        block_cls = BLOCKS[block]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        elif stem == "cifar":
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            raise ValueError(f"unknown stem {stem!r}")
        self.bn1 = nn.BatchNorm2d(width, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        # Identity has no state, so the cifar stem's state dict has no maxpool entry
        # (torchvision's MaxPool2d has none either).
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if stem == "imagenet" else nn.Identity()

        self.inplanes = width
        self.layer1 = self._make_layer(block_cls, width, layers[0], stride=1)
        self.layer2 = self._make_layer(block_cls, 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(block_cls, 4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(block_cls, 8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)

        c = 8 * width * block_cls.expansion
        if mlp:
            # MoCo v2 head: builder.py wraps the original fc as
            # Sequential(Linear(c, c), ReLU(), fc), hence the names fc.0 and fc.2.
            self.fc = nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, dim))
        else:
            self.fc = nn.Linear(c, dim)

    def _make_layer(self, block_cls, planes, blocks, stride):
        # Same rule as torchvision.models.resnet.ResNet._make_layer: a downsample branch
        # (1x1 conv with the block's stride + BN) exactly when the shape changes.
        downsample = None
        if stride != 1 or self.inplanes != planes * block_cls.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block_cls.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block_cls.expansion, eps=BN_EPS, momentum=BN_MOMENTUM),
            )
        mods = [block_cls(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block_cls.expansion
        for _ in range(1, blocks):
            mods.append(block_cls(self.inplanes, planes))
        return nn.Sequential(*mods)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def build_encoder(model_cfg):
    """Encoder from the `model` object of a case.json (or an equivalent dict)."""
    return ResNetEncoder(block=model_cfg["block"], layers=list(model_cfg["layers"]),
                         width=int(model_cfg["width"]), in_channels=int(model_cfg["in_channels"]),
                         stem=model_cfg["stem"], dim=int(model_cfg["dim"]), mlp=bool(model_cfg["mlp"]))


def bn_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


@torch.no_grad()
def randomize_(model, gen, buffers=True, num_batches_tracked=3):
    """Give every parameter (and optionally every BN buffer) a non-trivial random value.

    Scales keep activations O(1) so float64 vs float32 comparisons are meaningful:
    conv weights N(0, 2/fan_in), linear weights N(0, 1/fan_in), linear bias U(-0.1, 0.1),
    BN weight U(0.5, 1.5), BN bias U(-0.5, 0.5); buffers: running_mean U(-0.5, 0.5),
    running_var U(0.5, 2), num_batches_tracked = `num_batches_tracked`.
    Parameters are visited in `named_modules` order, so a seed fixes every value.
    """
    def uniform(t, lo, hi):
        t.copy_(lo + (hi - lo) * torch.rand(t.shape, generator=gen, dtype=t.dtype))

    def normal(t, std):
        t.copy_(std * torch.randn(t.shape, generator=gen, dtype=t.dtype))

    for _, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
            normal(m.weight, math.sqrt(2.0 / fan_in))
        elif isinstance(m, nn.BatchNorm2d):
            uniform(m.weight, 0.5, 1.5)
            uniform(m.bias, -0.5, 0.5)
            if buffers:
                uniform(m.running_mean, -0.5, 0.5)
                uniform(m.running_var, 0.5, 2.0)
                m.num_batches_tracked.fill_(num_batches_tracked)
        elif isinstance(m, nn.Linear):
            normal(m.weight, math.sqrt(1.0 / m.in_features))
            uniform(m.bias, -0.1, 0.1)


# ---------------------------------------------------------------------------------
# G logical devices with per-chunk BatchNorm
# ---------------------------------------------------------------------------------

def forward_chunks(model, x, groups):
    """Run `model` on `groups` contiguous chunks of `x` separately and concatenate.

    In training mode every BN layer thus normalizes each chunk with that chunk's own
    batch statistics, as G DDP replicas would. Each chunk's forward also updates the
    running statistics; DDP keeps rank 0's, so they are restored to their value right
    after chunk 0 (num_batches_tracked ends +1, not +G).

    The restore writes through `.data`: chunk 0's autograd graph saved the running
    buffers and later chunks bump their version counter, which backward would reject;
    native batch-norm backward in training mode never reads the running buffers (it
    uses the saved batch mean / inverse std), so gradients are unaffected.
    """
    n = x.shape[0]
    if n % groups != 0:
        raise ValueError(f"batch {n} not divisible by {groups} devices")
    b = n // groups
    bns = bn_layers(model)
    outs, saved = [], None
    for g in range(groups):
        outs.append(model(x[g * b:(g + 1) * b]))
        if g == 0:
            saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in bns]
    if model.training and groups > 1:
        for m, (rm, rv, nbt) in zip(bns, saved):
            m.running_mean.data.copy_(rm)
            m.running_var.data.copy_(rv)
            m.num_batches_tracked.data.copy_(nbt)
    return torch.cat(outs, dim=0)


# ---------------------------------------------------------------------------------
# The MoCo step
# ---------------------------------------------------------------------------------

def momentum_at(moco_cfg, s):
    """Key-encoder momentum used at step s (0-based within the case)."""
    m = float(moco_cfg["m"])
    if moco_cfg.get("m_schedule", "constant") == "cosine":
        t = s + int(moco_cfg.get("step_offset", 0))
        return 1.0 - (1.0 - m) * (1.0 + math.cos(math.pi * t / int(moco_cfg["total_steps"]))) / 2.0
    return m


class MoCo:
    """Both encoders, the queue and SGD, stepping exactly as the spec says.

    Not an nn.Module on purpose: the optimizer must see encoder_q's parameters only,
    and the state-dict names are assembled explicitly (`state()` / `load_state()`).
    """

    def __init__(self, model_cfg, moco_cfg, optim_cfg, dtype=torch.float64, bank_rows=0):
        self.dtype = dtype
        self.mechanism = moco_cfg.get("mechanism", "moco")
        self.shuffle_bn = bool(moco_cfg.get("shuffle_bn", True))
        self.encoder_q = build_encoder(model_cfg).to(dtype)
        self.encoder_k = build_encoder(model_cfg).to(dtype) if self.mechanism == "moco" else None
        if self.encoder_k is not None:
            for p in self.encoder_k.parameters():
                p.requires_grad = False  # no gradient flows into encoder_k
        self.K = int(moco_cfg["K"])
        self.T = float(moco_cfg["T"])
        self.G = int(moco_cfg["devices"])
        self.symmetric = bool(moco_cfg.get("symmetric", False))
        self.moco_cfg = moco_cfg
        self.queue = torch.zeros(int(model_cfg["dim"]), self.K, dtype=dtype)
        self.queue_ptr = torch.zeros(1, dtype=torch.long)
        # the memory bank (Wu et al. 2018): one stored unit vector per training image
        self.bank = torch.zeros(bank_rows, int(model_cfg["dim"]), dtype=dtype)
        # torch.optim.SGD itself, so the update rule is PyTorch's, not a re-derivation
        self.optimizer = torch.optim.SGD(self.encoder_q.parameters(), lr=float(optim_cfg["lr"]),
                                         momentum=float(optim_cfg["momentum"]),
                                         weight_decay=float(optim_cfg["weight_decay"]))
        self.encoder_q.train()
        if self.encoder_k is not None:
            self.encoder_k.train()

    # --- state <-> flat dict of named tensors (the safetensors names) -------------

    def encoders(self):
        return (("encoder_q.", self.encoder_q),) + ((("encoder_k.", self.encoder_k),) if self.encoder_k is not None else ())

    def state(self):
        """encoder_q.*, then for MoCo encoder_k.*, queue, queue_ptr, for the memory bank
        bank, then optimizer.encoder_q.*.momentum_buffer."""
        out = {}
        for prefix, enc in self.encoders():
            for name, t in enc.state_dict().items():
                out[prefix + name] = t.detach().clone()
        if self.mechanism == "moco":
            out["queue"] = self.queue.clone()
            out["queue_ptr"] = self.queue_ptr.clone()
        if self.mechanism == "memory-bank":
            out["bank"] = self.bank.clone()
        for name, p in self.encoder_q.named_parameters():
            buf = self.optimizer.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                out[f"optimizer.encoder_q.{name}.momentum_buffer"] = buf.detach().clone()
        return out

    @torch.no_grad()
    def load_state(self, tensors):
        """Load an init dict. Momentum buffers, when present, become SGD's state so the
        first step already does buf = momentum*buf + d."""
        for prefix, enc in self.encoders():
            sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            enc.load_state_dict(sd, strict=True)  # load_state_dict casts to the module dtype
        if self.mechanism == "moco":
            self.queue.copy_(tensors["queue"])
            self.queue_ptr.copy_(tensors["queue_ptr"])
        if self.mechanism == "memory-bank":
            self.bank = tensors["bank"].to(self.dtype).clone()
        names = dict(self.encoder_q.named_parameters())
        bufs = {k: v for k, v in tensors.items() if k.startswith("optimizer.encoder_q.")}
        if bufs:
            if len(bufs) != len(names):
                raise ValueError("init holds momentum buffers for only some encoder_q parameters")
            for name, p in names.items():
                self.optimizer.state[p]["momentum_buffer"] = \
                    tensors[f"optimizer.encoder_q.{name}.momentum_buffer"].to(self.dtype).clone()

    # --- the official builder.py pieces --------------------------------------------

    @torch.no_grad()
    def momentum_update_key_encoder(self, m):
        """theta_k <- m*theta_k + (1-m)*theta_q for parameters only (buffers are not blended)."""
        for pq, pk in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            pk.data.mul_(m).add_(pq.data, alpha=1.0 - m)

    @torch.no_grad()
    def dequeue_and_enqueue(self, keys):
        n = keys.shape[0]
        ptr = int(self.queue_ptr[0])
        assert self.K % n == 0  # so a block of keys never straddles the end of the queue
        self.queue[:, ptr:ptr + n] = keys.T
        self.queue_ptr[0] = (ptr + n) % self.K

    @staticmethod
    def batch_shuffle(x, idx_shuffle):
        """Single-host form of _batch_shuffle_ddp: device g gets rows g*b..g*b+b-1 of
        x[idx_shuffle]; the unshuffle index is the inverse permutation."""
        return x[idx_shuffle], torch.argsort(idx_shuffle)

    @staticmethod
    def batch_unshuffle(x, idx_unshuffle):
        return x[idx_unshuffle]

    def query(self, im_q):
        # step 1: per-device forward of encoder_q in training mode, then L2 normalize
        return F.normalize(forward_chunks(self.encoder_q, im_q, self.G), dim=1, eps=1e-12)

    @torch.no_grad()
    def keys(self, im_k, idx_shuffle):
        # step 3: shuffle across devices (ShuffleBN), per-device forward, unshuffle
        x, idx_unshuffle = self.batch_shuffle(im_k, idx_shuffle)
        k = F.normalize(forward_chunks(self.encoder_k, x, self.G), dim=1, eps=1e-12)
        return self.batch_unshuffle(k, idx_unshuffle)

    def logits_and_loss(self, q, k, queue):
        """Steps 4 and 5: positive logit first, then one negative per queue column."""
        l_pos = torch.einsum("nc,nc->n", q, k).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", q, queue)
        logits = torch.cat([l_pos, l_neg], dim=1) / self.T
        labels = torch.zeros(logits.shape[0], dtype=torch.long)  # the positive is class 0
        return logits, F.cross_entropy(logits, labels)

    def contrastive_loss(self, im_q, im_k, idx_shuffle, queue):
        """Steps 1, 3, 4, 5 for one (query view, key view) pair; `queue` is the queue as
        it was before this step's enqueue."""
        q = self.query(im_q)
        k = self.keys(im_k, idx_shuffle)
        logits, loss = self.logits_and_loss(q, k, queue)
        return loss, logits, k

    # --- the other two mechanisms of the paper's Fig. 2 ------------------------------

    def end_to_end_loss(self, im_q, im_k, idx_shuffle):
        """End-to-end: the keys are the other view of the same batch, encoded by encoder_q
        with gradients. One encoder run over [queries; shuffled keys] as 2G devices: each
        view's device chunks get their own BN statistics, running statistics follow the
        queries' chunk 0. Returns the loss and the logits in moco-ref's column order
        (row i: the positive, then the other keys in increasing order)."""
        n = im_q.shape[0]
        x = torch.cat([im_q, im_k[idx_shuffle]], dim=0)
        out = F.normalize(forward_chunks(self.encoder_q, x, 2 * self.G), dim=1, eps=1e-12)
        q, k = out[:n], out[n:][torch.argsort(idx_shuffle)]
        sim = q @ k.T / self.T  # [n, n], the positive on the diagonal
        loss = F.cross_entropy(sim, torch.arange(n))
        rows = []
        for i in range(n):
            others = torch.cat([sim[i, :i], sim[i, i + 1:]])
            rows.append(torch.cat([sim[i, i:i + 1], others]))
        return loss, torch.stack(rows).detach()

    def memory_bank_loss(self, im_q, index, negatives):
        """Memory bank: the positive is the image's own bank row, the negatives the K rows
        drawn for this step (shared by the batch); no gradient into the bank."""
        q = self.query(im_q)
        pos = self.bank[index]
        neg = self.bank[negatives]
        logits = torch.cat([(q * pos).sum(dim=1, keepdim=True), q @ neg.T], dim=1) / self.T
        loss = F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long))
        return loss, logits, q.detach(), pos

    def step(self, s, im_q, im_k, idx_shuffle, idx_shuffle2=None, index=None, negatives=None):
        """One training step; returns {"logits": ..., "loss": ..., ["logits2": ...]}."""
        n = im_q.shape[0]
        if not self.shuffle_bn:  # the cheating ablation: keys keep their order across devices
            idx_shuffle = torch.arange(n)
            idx_shuffle2 = torch.arange(n) if idx_shuffle2 is not None else None
        if self.mechanism != "moco":
            out = {}
            update = None
            if self.mechanism == "end-to-end":
                loss, logits = self.end_to_end_loss(im_q, im_k, idx_shuffle)
                out["logits"] = logits
                if self.symmetric:
                    loss2, logits2 = self.end_to_end_loss(im_k, im_q, idx_shuffle2)
                    loss = loss + loss2
                    out["logits2"] = logits2
            else:
                loss, logits, q, pos = self.memory_bank_loss(im_q, index, negatives)
                out["logits"] = logits.detach().clone()
                update = (q, pos)
            out["loss"] = loss.detach().clone()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if update is not None:  # v <- normalize(0.5 v + 0.5 q) for the batch's rows
                q, pos = update
                with torch.no_grad():
                    self.bank[index] = F.normalize(0.5 * pos + 0.5 * q, dim=1, eps=1e-12)
            return out
        m = momentum_at(self.moco_cfg, s)
        queue = self.queue.clone().detach()  # logits use the pre-enqueue queue
        out = {}
        if not self.symmetric:
            # official order: query forward, then momentum update, then keys
            q = self.query(im_q)
            self.momentum_update_key_encoder(m)
            k = self.keys(im_k, idx_shuffle)
            logits, loss = self.logits_and_loss(q, k, queue)
            self.dequeue_and_enqueue(k)
            out["logits"] = logits.detach().clone()
        else:
            # CIFAR-10 demo: one momentum update, then q(view1), k(view2), q(view2), k(view1)
            self.momentum_update_key_encoder(m)
            loss_12, logits12, k2 = self.contrastive_loss(im_q, im_k, idx_shuffle, queue)
            loss_21, logits21, k1 = self.contrastive_loss(im_k, im_q, idx_shuffle2, queue)
            loss = loss_12 + loss_21
            self.dequeue_and_enqueue(torch.cat([k1, k2], dim=0))
            out["logits"] = logits12.detach().clone()
            out["logits2"] = logits21.detach().clone()
        out["loss"] = loss.detach().clone()
        # step 7: PyTorch SGD over encoder_q's parameters
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return out


def run_case(cfg, init, inputs, dtype=torch.float64):
    """Run every step of a case; returns the dict `expected.safetensors` must hold.

    `cfg` is the parsed case.json, `init` / `inputs` dicts of tensors. Float tensors
    are converted to `dtype` on load, so the same code gives the float64 golden numbers
    and the float32 reruns.
    """
    prev = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        bank_rows = init["bank"].shape[0] if "bank" in init else 0
        moco = MoCo(cfg["model"], cfg["moco"], cfg["optim"], dtype=dtype, bank_rows=bank_rows)
        moco.load_state(init)
        expected = {}
        for s in range(int(cfg["steps"])):
            im_q = inputs[f"step.{s}.im_q"].to(dtype)
            im_k = inputs[f"step.{s}.im_k"].to(dtype)
            idx = inputs.get(f"step.{s}.idx_shuffle")
            idx2 = inputs.get(f"step.{s}.idx_shuffle2")
            r = moco.step(s, im_q, im_k, idx, idx2, inputs.get(f"step.{s}.index"), inputs.get(f"step.{s}.negatives"))
            expected[f"step.{s}.logits"] = r["logits"]
            expected[f"step.{s}.loss"] = r["loss"]
            if "logits2" in r:
                expected[f"step.{s}.logits2"] = r["logits2"]
        final = moco.state()
        # every tensor of init (in init's order), then the optimizer's momentum buffers
        for name in init:
            expected[name] = final[name]
        for name, t in final.items():
            if name.startswith("optimizer.") and name not in expected:
                expected[name] = t
        return expected
    finally:
        torch.set_default_dtype(prev)
