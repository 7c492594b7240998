"""A tiny, dependency-free safetensors reader/writer for the reference generators.

The `safetensors` package is not available here, and the format is simple enough to
write by hand:

    [8 bytes]  little-endian u64: length L of the JSON header
    [L bytes]  JSON header, padded with spaces so that 8 + L is a multiple of 8
               {"<name>": {"dtype": "F64"|"F32"|"I64", "shape": [...],
                           "data_offsets": [begin, end]},
                "__metadata__": {"<key>": "<string value>", ...}}
    [rest]     raw little-endian tensor data, offsets relative to the end of the header

Tensors are packed in the order they appear in the header (the insertion order of
the dict given to `save`), so that writing the same dict twice yields the same bytes.
"""

import json
import struct

import numpy as np
import torch

# safetensors dtype name <-> (torch dtype, numpy little-endian dtype)
_DTYPES = {
    "F64": (torch.float64, np.dtype("<f8")),
    "F32": (torch.float32, np.dtype("<f4")),
    "I64": (torch.int64, np.dtype("<i8")),
}
_TORCH_TO_NAME = {t: name for name, (t, _) in _DTYPES.items()}


def save(tensors, path, metadata=None):
    """Write `tensors` (an ordered dict name -> torch.Tensor) to `path`.

    `metadata` is an optional dict of str -> str stored under "__metadata__".
    Only float64, float32 and int64 tensors are accepted: anything else is a bug in
    the caller (the golden format uses exactly those three dtypes).
    """
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise ValueError("tensor name __metadata__ is reserved")
        if t.dtype not in _TORCH_TO_NAME:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        dtype_name = _TORCH_TO_NAME[t.dtype]
        np_dtype = _DTYPES[dtype_name][1]
        # detach + contiguous + explicit little-endian: the bytes do not depend on how
        # the tensor happened to be laid out or on the host's byte order.
        data = t.detach().contiguous().cpu().numpy().astype(np_dtype, copy=False).tobytes()
        header[name] = {
            "dtype": dtype_name,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    if metadata:
        meta = {}
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"metadata must be str -> str, got {k!r}: {v!r}")
            meta[k] = v
        header["__metadata__"] = meta

    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # pad with spaces so the data section starts 8-byte aligned
    head += b" " * ((-(8 + len(head))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def load(path):
    """Read a safetensors file: returns (ordered dict name -> torch.Tensor, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    # order by data offset: that is the packing order of files written by `save`
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        torch_dtype, np_dtype = _DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        arr = np.frombuffer(raw[base + b:base + e], dtype=np_dtype).copy()
        out[name] = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="))).reshape(info["shape"]).to(torch_dtype)
    return out, metadata
