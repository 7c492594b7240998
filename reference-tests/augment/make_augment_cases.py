#!/usr/bin/python3
"""Augmentation reference dumps: reference-tests/augment/<op>.safetensors.

Each file pins one torchvision 0.14 functional op on float32 tensors (the tensor
implementations, torchvision.transforms.functional_tensor) for several fixed parameter
sets, on small images of odd sizes with 1 and 3 channels. The Java tests in
src/test/java/mocoref/data read these files; they never run Python.

File layout:
  image.i   F32 [C,H,W]  input image i, values in [0,1] (I64 for pil_grayscale), stored once
  k.params  F64 [P]      case k's parameters; params[0] is the index i of its input image,
                         the rest are named in __metadata__["params"]
  k.y       F32          torchvision's output for case k (I64 for pil_grayscale)
__metadata__: op, cases, images, params (comma-separated names after the image index),
torchvision (version).

Run:  /usr/bin/python3 reference-tests/augment/make_augment_cases.py
Seeded and single-threaded, so a rerun writes the same bytes.
"""

import os
import sys

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import safetensors_io  # noqa: E402

torch.set_num_threads(1)

SHAPES = [(1, 13, 17), (3, 20, 15), (3, 9, 11), (1, 28, 28), (3, 32, 32)]


def image(g, c, h, w):
    """Uniform [0,1] pixels plus the corner cases of the colour ops: exact 0 and 1,
    grey pixels (r = g = b, where hue is undefined) and ties between the largest channels."""
    x = torch.rand(c, h, w, generator=g)
    u = torch.rand(h, w, generator=g)
    x = torch.where((u < 0.05).expand(c, h, w), torch.zeros_like(x), x)
    x = torch.where(((u >= 0.05) & (u < 0.1)).expand(c, h, w), torch.ones_like(x), x)
    if c == 3:
        grey = ((u >= 0.1) & (u < 0.2))
        x = torch.where(grey.expand(3, h, w), x[0:1].expand(3, h, w), x)
        tie = ((u >= 0.2) & (u < 0.3))
        mx = x.max(dim=0).values
        x[0] = torch.where(tie, mx, x[0])
        x[1] = torch.where(tie, mx, x[1])
        tie2 = ((u >= 0.3) & (u < 0.35))
        x[1] = torch.where(tie2, mx, x[1])
        x[2] = torch.where(tie2, mx, x[2])
    return x.contiguous()


def save(op, param_names, cases):
    """cases: (input, params, output) triples; an input shared by several cases is stored once."""
    images, index, tensors = [], {}, {}
    for x, _, _ in cases:
        if id(x) not in index:
            index[id(x)] = len(images)
            images.append(x)
    for i, x in enumerate(images):
        tensors[f"image.{i}"] = x
    for k, (x, params, y) in enumerate(cases):
        tensors[f"{k}.params"] = torch.tensor([index[id(x)]] + list(params), dtype=torch.float64)
        tensors[f"{k}.y"] = y
    meta = {"op": op, "cases": str(len(cases)), "images": str(len(images)), "params": ",".join(param_names),
            "torchvision": torchvision.__version__}
    safetensors_io.save(tensors, os.path.join(HERE, op + ".safetensors"), meta)


def resized_crop(g):
    cases = []
    for c, h, w in SHAPES:
        x = image(g, c, h, w)
        outs = [(28, 28), (7, 9), (h, w), (31, 5), (h + 3, w - 2)]
        for oh, ow in outs:
            ch = int(torch.randint(1, h + 1, (1,), generator=g))
            cw = int(torch.randint(1, w + 1, (1,), generator=g))
            top = int(torch.randint(0, h - ch + 1, (1,), generator=g))
            left = int(torch.randint(0, w - cw + 1, (1,), generator=g))
            y = F.resized_crop(x, top, left, ch, cw, [oh, ow], T.InterpolationMode.BILINEAR)
            cases.append((x, [top, left, ch, cw, oh, ow], y))
        # the whole image at its own size (resize returns it unchanged) and a tiny crop blown up
        cases.append((x, [0, 0, h, w, h, w], F.resized_crop(x, 0, 0, h, w, [h, w])))
        cases.append((x, [1, 2, 2, 3, 23, 29], F.resized_crop(x, 1, 2, 2, 3, [23, 29])))
    save("resized_crop", ["top", "left", "height", "width", "out_height", "out_width"], cases)


def resize_antialias(g):
    cases = []
    for c, h, w in SHAPES:
        x = image(g, c, h, w)
        for oh, ow in [(7, 9), (h // 2, w // 3), (h * 2, w + 1), (5, w * 2), (h, w + 5)]:
            y = F.resize(x, [oh, ow], T.InterpolationMode.BILINEAR, antialias=True)
            cases.append((x, [oh, ow], y))
    save("resize_antialias", ["out_height", "out_width"], cases)


def hflip(g):
    cases = [(x, [], F.hflip(x)) for x in (image(g, *s) for s in SHAPES)]
    save("hflip", [], cases)


def one_factor(g, op, fn, factors):
    cases = []
    for s in SHAPES:
        x = image(g, *s)
        for f in factors:
            cases.append((x, [f], fn(x, f)))
    save(op, ["factor"], cases)


def color_jitter(g):
    """ColorJitter.forward with its sampled values fixed: the four ops in a given order."""
    fns = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
    cases = []
    for s in SHAPES:
        x = image(g, *s)
        for _ in range(4):
            order = torch.randperm(4, generator=g).tolist()
            b = 0.6 + 0.8 * float(torch.rand(1, generator=g))
            c = 0.6 + 0.8 * float(torch.rand(1, generator=g))
            sat = 0.6 + 0.8 * float(torch.rand(1, generator=g))
            hue = -0.4 + 0.8 * float(torch.rand(1, generator=g))
            factors = [b, c, sat, hue]
            y = x
            for i in order:
                y = fns[i](y, factors[i])
            cases.append((x, factors + order, y))
    save("color_jitter", ["brightness", "contrast", "saturation", "hue", "order0", "order1", "order2", "order3"],
         cases)


def rgb_to_grayscale(g):
    cases = []
    for s in SHAPES:
        x = image(g, *s)
        for n in (1, 3):
            if s[0] == 1 and n == 3:
                continue  # torchvision expands a 1-channel input to its own shape: n_out is the input's
            cases.append((x, [n], F.rgb_to_grayscale(x, num_output_channels=n).contiguous()))
    save("rgb_to_grayscale", ["num_output_channels"], cases)


def gaussian_blur(g):
    cases = []
    for s in SHAPES:
        x = image(g, *s)
        for k, sigma in [(3, 0.1), (3, 1.0), (5, 0.7), (7, 2.0), (9, 1.3)]:
            if k // 2 >= min(s[1], s[2]):
                continue  # reflect padding needs pad < size
            cases.append((x, [k, sigma], F.gaussian_blur(x, [k, k], [sigma, sigma])))
    save("gaussian_blur", ["kernel_size", "sigma"], cases)


def normalize(g):
    cases = []
    for s in SHAPES:
        x = image(g, *s)
        mean = [0.1 + 0.8 * float(torch.rand(1, generator=g)) for _ in range(s[0])]
        std = [0.1 + 0.5 * float(torch.rand(1, generator=g)) for _ in range(s[0])]
        cases.append((x, mean + std, F.normalize(x, mean, std)))
    save("normalize", ["mean[C]", "std[C]"], cases)


def pil_grayscale(g):
    """PIL's convert("L") on 8-bit RGB, the dataset loader's RGB -> grey conversion."""
    cases = []
    for _, h, w in SHAPES:
        rgb = torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.int64)
        rgb[0, 0] = torch.tensor([255, 255, 255])
        rgb[0, 1] = torch.tensor([0, 0, 0])
        rgb[0, 2] = torch.tensor([1, 1, 1])
        im = Image.fromarray(rgb.numpy().astype(np.uint8), "RGB")
        l_img = torch.from_numpy(np.asarray(im.convert("L"), dtype=np.int64).copy())
        cases.append((rgb.permute(2, 0, 1).contiguous(), [], l_img.unsqueeze(0)))
    save("pil_grayscale", [], cases)


def main():
    g = torch.Generator().manual_seed(20261128)
    resized_crop(g)
    resize_antialias(g)
    hflip(g)
    one_factor(g, "adjust_brightness", F.adjust_brightness, [0.0, 0.6, 1.0, 1.37, 2.5])
    one_factor(g, "adjust_contrast", F.adjust_contrast, [0.0, 0.6, 1.0, 1.37, 2.5])
    one_factor(g, "adjust_saturation", F.adjust_saturation, [0.0, 0.6, 1.0, 1.37, 2.5])
    one_factor(g, "adjust_hue", F.adjust_hue, [-0.5, -0.4, -0.1234, 0.0, 0.05, 0.31, 0.5])
    color_jitter(g)
    rgb_to_grayscale(g)
    gaussian_blur(g)
    normalize(g)
    pil_grayscale(g)


if __name__ == "__main__":
    main()
