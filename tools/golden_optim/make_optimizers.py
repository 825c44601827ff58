"""Golden fixtures for TuneSharp's Adam, SGD and Adafactor, step by step (torch 1.13, CPU, fp32).

Writes tests/fixtures/optim/<case>.safetensors for each case below, with
  init.<p>                      initial parameter values
  grad.<k>.<p>                  gradient fed at step k (absent = parameter has no grad at that step)
  lr.<k>                        F64 [num_groups]: each group's lr at step k
  param.<k>.<p>                 parameter after step k
  state.<k>.<p>.<suffix>        optimizer state after step k, with TuneSharp's suffixes
and metadata: optimizer, options (JSON), steps, groups (JSON: [{"params": [...], "weight_decay": x, "base_lr": y}]).

adam and sgd are torch.optim.Adam / torch.optim.SGD (foreach=False, the single-tensor path). transformers is not
installed here, so Adafactor is HF transformers' Adafactor.step (src/transformers/optimization.py, v4.x) written out in
plain torch below for the configuration TuneSharp implements: relative_step=False, scale_parameter=False,
warmup_init=False, beta1=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8. Its equations (Shazeer and Stern
2018, arXiv:1804.04235, Algorithm 4 with update clipping, section 5 and beta2_t = 1 - t^-0.8, section 7.2):
  G2 = g^2 + eps1
  factored (>= 2-D):  R_t = b2t R + (1 - b2t) mean_last(G2);  C_t = b2t C + (1 - b2t) mean_second_last(G2)
                      V_hat = (R_t / mean(R_t)) outer C_t;  U = g / sqrt(V_hat)
  else:               V_t = b2t V + (1 - b2t) G2;  U = g / sqrt(V_t)
  U = U / max(1, RMS(U) / d);  U = lr U;  p = p - wd lr p - U
Run with /usr/bin/python3 (has torch); CI never runs this.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from safetensors_io import check_layout, save_file  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "optim")

STEPS = 5
FACTORS = [0.25, 0.75, 1.0, 0.6, 0.2]
NO_GRAD = {("bias", 2)}
SHAPES = {"weight": (4, 3), "proj": (2, 3, 2), "bias": (3,)}


class HfAdafactor(torch.optim.Optimizer):
    """transformers.optimization.Adafactor.step, for relative_step=False, scale_parameter=False, beta1=None."""

    def __init__(self, params, lr, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, eps=eps, clip_threshold=clip_threshold, decay_rate=decay_rate,
                                      weight_decay=weight_decay))

    @staticmethod
    def _rms(tensor):
        return tensor.norm(2) / (tensor.numel() ** 0.5)

    @staticmethod
    def _approx_sq_grad(exp_avg_sq_row, exp_avg_sq_col):
        r_factor = (exp_avg_sq_row / exp_avg_sq_row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
        c_factor = exp_avg_sq_col.unsqueeze(-2).rsqrt()
        return torch.mul(r_factor, c_factor)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                grad_shape = grad.shape
                factored = len(grad_shape) >= 2
                if len(state) == 0:
                    state["step"] = 0
                    if factored:
                        state["exp_avg_sq_row"] = torch.zeros(grad_shape[:-1])
                        state["exp_avg_sq_col"] = torch.zeros(grad_shape[:-2] + grad_shape[-1:])
                    else:
                        state["exp_avg_sq"] = torch.zeros_like(grad)
                p_data_fp32 = p
                state["step"] += 1
                lr = group["lr"]  # relative_step=False, scale_parameter=False: param_scale = 1
                beta2t = 1.0 - math.pow(state["step"], group["decay_rate"])
                update = (grad ** 2) + group["eps"][0]
                if factored:
                    exp_avg_sq_row = state["exp_avg_sq_row"]
                    exp_avg_sq_col = state["exp_avg_sq_col"]
                    exp_avg_sq_row.mul_(beta2t).add_(update.mean(dim=-1), alpha=(1.0 - beta2t))
                    exp_avg_sq_col.mul_(beta2t).add_(update.mean(dim=-2), alpha=(1.0 - beta2t))
                    update = self._approx_sq_grad(exp_avg_sq_row, exp_avg_sq_col)
                    update.mul_(grad)
                else:
                    exp_avg_sq = state["exp_avg_sq"]
                    exp_avg_sq.mul_(beta2t).add_(update, alpha=(1.0 - beta2t))
                    update = exp_avg_sq.rsqrt().mul_(grad)
                update.div_((self._rms(update) / group["clip_threshold"]).clamp_(min=1.0))
                update.mul_(lr)
                if group["weight_decay"] != 0:
                    p_data_fp32.add_(p_data_fp32, alpha=(-group["weight_decay"] * lr))
                p_data_fp32.add_(-update)


def adam(groups, opts):
    return torch.optim.Adam(groups, betas=tuple(opts["betas"]), eps=opts["eps"], foreach=False)


def sgd(groups, opts):
    return torch.optim.SGD(groups, lr=groups[0]["lr"], momentum=opts["momentum"], foreach=False)


def adafactor(groups, opts):
    return HfAdafactor(groups, lr=groups[0]["lr"])


# case -> (optimizer factory, options, weight decay of the first group, torch state key -> TuneSharp suffix)
CASES = {
    "adam": (adam, {"betas": [0.9, 0.98], "eps": 1e-6}, 0.1, {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}),
    "sgd_momentum": (sgd, {"momentum": 0.9}, 0.0, {"momentum_buffer": "momentum_buffer"}),
    "sgd_momentum_wd": (sgd, {"momentum": 0.9}, 0.1, {"momentum_buffer": "momentum_buffer"}),
    "adafactor": (adafactor, {}, 0.1, {k: k for k in ("exp_avg_sq_row", "exp_avg_sq_col", "exp_avg_sq")}),
}


def run(case, make, opts, wd, state_keys):
    torch.manual_seed(1234)
    params = {n: torch.nn.Parameter(torch.randn(*s)) for n, s in SHAPES.items()}
    groups = [
        {"params": ["weight", "proj"], "weight_decay": wd, "base_lr": 1e-2},
        {"params": ["bias"], "weight_decay": 0.0, "base_lr": 3e-3},
    ]
    opt = make([{"params": [params[n] for n in g["params"]], "weight_decay": g["weight_decay"], "lr": g["base_lr"]}
                for g in groups], opts)
    out = {f"init.{n}": p.detach().clone() for n, p in params.items()}
    for k in range(STEPS):
        for gi, g in enumerate(groups):
            opt.param_groups[gi]["lr"] = g["base_lr"] * FACTORS[k]
        out[f"lr.{k}"] = torch.tensor([pg["lr"] for pg in opt.param_groups], dtype=torch.float64)
        for n, p in params.items():
            if (n, k) in NO_GRAD:
                p.grad = None
                continue
            scale = [1.0, 10.0, 1e-3][(sum(map(ord, n)) + 7 * k) % 3]
            p.grad = torch.randn_like(p) * scale
            out[f"grad.{k}.{n}"] = p.grad.clone()
        opt.step()
        for n, p in params.items():
            out[f"param.{k}.{n}"] = p.detach().clone()
            for key, suffix in state_keys.items():
                if key in opt.state[p]:
                    out[f"state.{k}.{n}.{suffix}"] = opt.state[p][key].clone()
    assert torch.equal(out["param.2.bias"], out["param.1.bias"]), "skipped parameter changed"
    path = os.path.join(OUT_DIR, f"{case}.safetensors")
    meta = {"optimizer": case, "options": json.dumps(opts), "steps": str(STEPS), "groups": json.dumps(groups),
            "torch": torch.__version__}
    save_file(out, path, meta)
    check_layout(path)
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


def main():
    torch.set_num_threads(1)
    for case, (make, opts, wd, keys) in CASES.items():
        run(case, make, opts, wd, keys)


if __name__ == "__main__":
    main()
