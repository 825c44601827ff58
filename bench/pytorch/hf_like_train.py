"""PyTorch eager baseline that trains like the Hugging Face Trainer (+ PEFT LoRA), for bench/TuneSharp.Bench.Train.

It consumes the exact micro-batches TuneSharp trains on (exported by the C# harness as JSON lines), so both sides do
equal work. HF Trainer semantics: fp32 weights; bf16 = torch.autocast("cpu", torch.bfloat16); loss = full logits
.float() + cross entropy (ignore_index -100, mean over trained tokens); torch.optim.AdamW; clip_grad_norm_ 1.0; linear
decay schedule. LoRA as PEFT: fp32 adapters A [r, in] (Kaiming-uniform) and B [out, r] (zeros) on q,k,v,o,gate,up,down,
y = base(x) + B(A(x)) * alpha / r, base frozen.

The model is tools/golden/reference.py (the readable HF-semantics decoder) with gradients enabled; weights are read with
tools/golden/safetensors_io.py. Labels in the export are already aligned (labels[t] = target of position t), which is
what HF's shift of logits[:, :-1] against labels[:, 1:] computes.

Usage: /usr/bin/python3 bench/pytorch/hf_like_train.py --model DIR --batches FILE --method lora|full --dtype fp32|bf16
       --threads N --lr 2e-4 --out result.json
Writes one JSON object: per-step seconds, loss, RSS (VmRSS after each step), peak RSS (VmHWM after the last step).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "golden"))
import reference  # noqa: E402
from safetensors_io import load_file  # noqa: E402

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return None


def read_batches(path):
    """The harness's export: a header line, then one micro-batch per line (flat row-major ids and labels)."""
    with open(path) as f:
        header = json.loads(f.readline())
        if header.get("format") != "tunesharp-bench-batches/1":
            raise ValueError(f"{path}: line 1: unknown format {header.get('format')!r}")
        batches = []
        for n, line in enumerate(f, start=2):
            b = json.loads(line)
            rows, length = b["rows"], b["length"]
            ids = torch.tensor(b["input_ids"], dtype=torch.int64)
            labels = torch.tensor(b["labels"], dtype=torch.int64)
            if ids.numel() != rows * length or labels.numel() != rows * length:
                raise ValueError(f"{path}: line {n}: {ids.numel()} ids for rows {rows} x length {length}")
            batches.append((ids.view(rows, length), labels.view(rows, length)))
    return header, batches


def add_lora(model, r, alpha):
    """PEFT-style adapters on every linear projection; routes reference.linear through them."""
    adapters = {}
    for name, w in model.w.items():
        parts = name.rsplit(".", 2)  # prefix, module, "weight"
        if len(parts) == 3 and parts[2] == "weight" and parts[1] in LORA_TARGETS:
            out_f, in_f = w.shape
            a = torch.empty(r, in_f)
            torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))  # PEFT's default init of lora_A
            b = torch.zeros(out_f, r)
            adapters[f"{parts[0]}.{parts[1]}"] = (a.requires_grad_(True), b.requires_grad_(True))
    scaling = alpha / r
    base_linear = reference.linear

    def lora_linear(x, w, prefix, name, bias):
        y = base_linear(x, w, prefix, name, bias)
        ab = adapters.get(f"{prefix}.{name}")
        if ab is None:
            return y
        a, b = ab
        return y + F.linear(F.linear(x, a), b) * scaling  # [.., out] += B(A(x)) * alpha / r

    reference.linear = lora_linear
    return [t for ab in adapters.values() for t in ab]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batches", required=True)
    p.add_argument("--method", choices=["lora", "full"], required=True)
    p.add_argument("--dtype", choices=["fp32", "bf16"], required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=float, default=32)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    model = reference.DecoderReference(config, load_file(os.path.join(args.model, "model.safetensors")))
    if args.method == "full":
        params = [w.requires_grad_(True) for w in model.w.values()]
    else:
        params = add_lora(model, args.lora_r, args.lora_alpha)
    _, batches = read_batches(args.batches)

    optimizer = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    total = len(batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (total - s) / total))
    forward = reference.DecoderReference.forward.__wrapped__  # the reference's forward without its no_grad
    steps = []
    for ids, labels in batches:
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bf16"):
            logits = forward(model, ids)["logits"]
        # HF: upcast the full logits, cross entropy over trained tokens (mean)
        logits = logits.float()
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - t0
        del logits
        steps.append({"seconds": seconds, "loss": loss.item(), "grad_norm": float(grad_norm),
                      "rss_bytes": status_bytes("VmRSS:"), "peak_rss_bytes": status_bytes("VmHWM:")})
        print(f"step {len(steps)}/{total}: {seconds:.2f} s, loss {loss.item():.4f}", file=sys.stderr)

    result = {"side": "pytorch", "torch_version": torch.__version__, "threads": torch.get_num_threads(),
              "trainable_parameters": sum(t.numel() for t in params), "steps": steps,
              "peak_rss_bytes": status_bytes("VmHWM:")}
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
