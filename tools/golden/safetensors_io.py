"""Minimal safetensors reader/writer (torch 1.13 has no safetensors module).

Format: 8-byte little-endian header length N, then N bytes of UTF-8 JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
padded with spaces to a multiple of 8, then the raw little-endian tensor bytes.
Offsets are relative to the start of the data section.
"""
import json
import struct

import numpy as np
import torch

# safetensors dtype tag <-> (numpy dtype, torch dtype)
_DTYPES = {
    "F32": (np.dtype("<f4"), torch.float32),
    "F64": (np.dtype("<f8"), torch.float64),
    "I64": (np.dtype("<i8"), torch.int64),
    "I32": (np.dtype("<i4"), torch.int32),
    "F16": (np.dtype("<f2"), torch.float16),
}
_TAG_OF_TORCH = {t: tag for tag, (_, t) in _DTYPES.items()}


def save_file(tensors, path, metadata=None):
    """Write a dict name -> torch.Tensor; names sorted, offsets contiguous."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        tag = _TAG_OF_TORCH.get(t.dtype)
        if tag is None:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {t.dtype}")
        raw = t.numpy().astype(_DTYPES[tag][0], copy=False).tobytes(order="C")
        header[name] = {"dtype": tag, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def load_file(path):
    """Read a safetensors file into a dict name -> torch.Tensor (copies)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if end > len(body):
            raise ValueError(f"{path}: tensor '{name}' ends at byte {end} but the data section has {len(body)}")
        np_dtype, _ = _DTYPES[info["dtype"]]
        arr = np.frombuffer(body[begin:end], dtype=np_dtype).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def check_layout(path):
    """Assert the file is canonical: header padded to 8, names sorted, offsets contiguous from 0."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0, f"{path}: header length {n} is not a multiple of 8"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    names = [k for k in header if k != "__metadata__"]
    assert names == sorted(names), f"{path}: tensor names are not sorted"
    pos = 0
    for name in names:
        begin, end = header[name]["data_offsets"]
        assert begin == pos, f"{path}: tensor '{name}' starts at {begin}, expected {pos}"
        pos = end
    assert 8 + n + pos == len(data), f"{path}: data section is {len(data) - 8 - n} bytes, offsets cover {pos}"
