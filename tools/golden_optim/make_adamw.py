"""Golden fixture for TuneSharp's AdamW: torch.optim.AdamW (torch 1.13, CPU, fp32) step by step.

Writes tests/fixtures/optim/adamw.safetensors with
  init.<p>                      initial parameter values
  grad.<k>.<p>                  gradient fed at step k (absent = parameter has no grad at that step)
  lr.<k>                        F64 [num_groups]: each group's lr at step k
  param.<k>.<p>, exp_avg.<k>.<p>, exp_avg_sq.<k>.<p>   state after step k
and metadata: betas, eps, steps, groups (JSON: [{"params": [...], "weight_decay": x, "base_lr": y}]).
Run with /usr/bin/python3 (has torch); CI never runs this.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from safetensors_io import check_layout, save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "optim", "adamw.safetensors")

STEPS = 5
BETAS = (0.9, 0.98)
EPS = 1e-6
# Per-step lr factor, applied to each group's base lr (a warmup then a decay).
FACTORS = [0.25, 0.75, 1.0, 0.6, 0.2]
# Steps at which a parameter has no gradient (torch skips it: no update, no decay, its step count stays).
NO_GRAD = {("bias", 2)}


def main():
    torch.manual_seed(1234)
    torch.set_num_threads(1)
    shapes = {"weight": (4, 3), "proj": (2, 3, 2), "bias": (3,)}
    params = {n: torch.nn.Parameter(torch.randn(*s)) for n, s in shapes.items()}
    groups = [
        {"params": ["weight", "proj"], "weight_decay": 0.1, "base_lr": 1e-2},
        {"params": ["bias"], "weight_decay": 0.0, "base_lr": 3e-3},
    ]
    opt = torch.optim.AdamW(
        [{"params": [params[n] for n in g["params"]], "weight_decay": g["weight_decay"], "lr": g["base_lr"]}
         for g in groups],
        betas=BETAS, eps=EPS, foreach=False)

    out = {f"init.{n}": p.detach().clone() for n, p in params.items()}
    for k in range(STEPS):
        for gi, g in enumerate(groups):
            opt.param_groups[gi]["lr"] = g["base_lr"] * FACTORS[k]
        out[f"lr.{k}"] = torch.tensor([pg["lr"] for pg in opt.param_groups], dtype=torch.float64)
        for n, p in params.items():
            if (n, k) in NO_GRAD:
                p.grad = None
                continue
            # Gradients of mixed magnitude so that eps and the sqrt matter.
            scale = [1.0, 10.0, 1e-3][hash_name(n, k) % 3]
            p.grad = torch.randn_like(p) * scale
            out[f"grad.{k}.{n}"] = p.grad.clone()
        opt.step()
        for n, p in params.items():
            st = opt.state[p]
            out[f"param.{k}.{n}"] = p.detach().clone()
            out[f"exp_avg.{k}.{n}"] = st["exp_avg"].clone()
            out[f"exp_avg_sq.{k}.{n}"] = st["exp_avg_sq"].clone()
    meta = {"betas": json.dumps(BETAS), "eps": repr(EPS), "steps": str(STEPS), "groups": json.dumps(groups),
            "torch": torch.__version__}
    save_file(out, OUT, meta)
    check_layout(OUT)
    # Self-check: the no-grad step left the parameter untouched.
    assert torch.equal(out["param.2.bias"], out["param.1.bias"]), "skipped parameter changed"
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


def hash_name(name, k):
    return sum(map(ord, name)) + 7 * k


if __name__ == "__main__":
    main()
