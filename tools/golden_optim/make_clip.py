"""Golden fixture for TuneSharp's GradClip: torch.nn.utils.clip_grad_norm_ (torch 1.13, CPU, fp32).

Writes tests/fixtures/optim/clip.safetensors with, for each case c in {clipped, unclipped}:
  <c>.grad.<p>     gradient before clipping (parameter "frozen" has no grad)
  <c>.clipped.<p>  gradient after clip_grad_norm_
  <c>.total_norm   F32 [1]: the returned total norm (before clipping)
and metadata max_norm.<c>. Run with /usr/bin/python3; CI never runs this.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from safetensors_io import check_layout, save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "optim", "clip.safetensors")
CASES = {"clipped": 1.0, "unclipped": 1000.0}


def main():
    torch.manual_seed(99)
    torch.set_num_threads(1)
    out, meta = {}, {}
    for case, max_norm in CASES.items():
        params = {n: torch.nn.Parameter(torch.randn(*s)) for n, s in
                  {"a": (3, 4), "b": (5,), "c": (2, 2, 2), "frozen": (4,)}.items()}
        for n, p in params.items():
            if n != "frozen":
                p.grad = torch.randn_like(p) * 3.0
                out[f"{case}.grad.{n}"] = p.grad.clone()
        total = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
        out[f"{case}.total_norm"] = total.reshape(1).float()
        for n, p in params.items():
            if p.grad is not None:
                out[f"{case}.clipped.{n}"] = p.grad.clone()
        meta[f"max_norm.{case}"] = repr(max_norm)
        assert (total.item() > max_norm) == (case == "clipped"), f"case {case}: norm {total.item()}"
    meta["torch"] = torch.__version__
    save_file(out, OUT, meta)
    check_layout(OUT)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
