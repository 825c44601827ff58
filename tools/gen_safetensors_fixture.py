#!/usr/bin/python3
"""Writes tests/fixtures/safetensors/mixed_dtypes.safetensors by hand (independently of TuneSharp's writer) plus
mixed_dtypes.expected.json with the exact values. Run with Debian's /usr/bin/python3 (numpy + torch 1.13 for bf16).

Deliberate differences from TuneSharp's own writer, so the reader is exercised on another layout:
- JSON keys in alphabetical order, with ", " / ": " separators, __metadata__ last;
- data laid out in a different (shuffled) order than the header lists the tensors, without alignment;
- header padded with spaces to a multiple of 8.
Float values in the expected JSON are Python repr strings of the exact float64 value ('inf', '-inf', 'nan', '-0.0').
"""
import json
import os
import random
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "safetensors")

def f(values, dtype):
    return np.array(values, dtype=dtype)

tensors = {
    "a.f64": ("F64", f([[-0.0, 1e-310, 1 / 3], [1e300, -np.inf, 2.5]], np.float64)),
    "b.f32": ("F32", f([np.nan, np.inf, 1e-45, 3.14159274], np.float32)),
    "c.f16": ("F16", f([[65504.0, 5.960464477539063e-08], [-0.0, 0.333251953125]], np.float16)),
    "e.i64": ("I64", f([-(2 ** 63), 2 ** 63 - 1, 12345678901234], np.int64)),
    "f.i32": ("I32", f([[-(2 ** 31), 2 ** 31 - 1, -7]], np.int32)),
    "g.i16": ("I16", f([-32768, 32767], np.int16)),
    "h.i8": ("I8", f([-128, 127, 0, -1], np.int8)),
    "i.u8": ("U8", f([0, 255, 128], np.uint8)),
    "j.bool": ("BOOL", f([True, False, True, True, False], np.bool_)),
    "k.scalar": ("F32", f(-1.5, np.float32)),
    "l.empty": ("F32", np.zeros((0, 3), dtype=np.float32)),
    "model.layers.0.ünïcode": ("F32", f([[1.0, -2.0]], np.float32)),
}

# bf16 comes from torch: round-to-nearest-even from float32, then the raw 16-bit patterns.
bf16 = torch.tensor([1 / 3, 3.0e38, 1e-40, -2.0, 0.1], dtype=torch.float32).to(torch.bfloat16)
bf16_bytes = bf16.view(torch.int16).numpy().astype("<i2").tobytes()
bf16_values = bf16.to(torch.float64).numpy()

def raw(dtype, array):
    return array.astype(array.dtype.newbyteorder("<")).tobytes()

blobs = {name: raw(dt, arr) for name, (dt, arr) in tensors.items()}
blobs["d.bf16"] = bf16_bytes
shapes = {name: list(arr.shape) for name, (dt, arr) in tensors.items()}
shapes["d.bf16"] = list(bf16.shape)
dtypes = {name: dt for name, (dt, arr) in tensors.items()}
dtypes["d.bf16"] = "BF16"

data_order = sorted(blobs)
random.Random(1234).shuffle(data_order)
offsets, pos = {}, 0
for name in data_order:
    offsets[name] = [pos, pos + len(blobs[name])]
    pos += len(blobs[name])

header = {name: {"dtype": dtypes[name], "shape": shapes[name], "data_offsets": offsets[name]} for name in sorted(blobs)}
metadata = {"format": "pt", "note": "written by tools/gen_safetensors_fixture.py", "quote\"key": "ünï \\ value"}
header["__metadata__"] = metadata
text = json.dumps(header, ensure_ascii=False).encode("utf-8")
text += b" " * (-len(text) % 8)

with open(os.path.join(OUT, "mixed_dtypes.safetensors"), "wb") as out:
    out.write(struct.pack("<Q", len(text)))
    out.write(text)
    for name in data_order:
        out.write(blobs[name])

def expected_values(name):
    if name == "d.bf16":
        return [repr(float(v)) for v in bf16_values]
    dt, arr = tensors[name]
    flat = arr.reshape(-1)
    if dt.startswith("F"):
        return [repr(float(v)) for v in flat.astype(np.float64)]
    if dt == "BOOL":
        return [bool(v) for v in flat]
    return [int(v) for v in flat]

expected = {
    "header_order": sorted(blobs),
    "metadata": metadata,
    "tensors": {name: {"dtype": dtypes[name], "shape": shapes[name], "data_offsets": offsets[name],
                       "values": expected_values(name)} for name in sorted(blobs)},
}
with open(os.path.join(OUT, "mixed_dtypes.expected.json"), "w", encoding="utf-8") as out:
    json.dump(expected, out, ensure_ascii=False, indent=1)
    out.write("\n")
print("wrote", len(blobs), "tensors,", 8 + len(text) + pos, "bytes")
