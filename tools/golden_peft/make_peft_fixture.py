"""Writes PEFT-format LoRA/DoRA adapters for the tiny llama fixture, with reference outputs.

No PEFT library here: the files follow PEFT's documented on-disk layout (adapter_config.json with sorted keys, indent 2;
adapter_model.safetensors with keys base_model.model.<module>.lora_A.weight / .lora_B.weight / .lora_magnitude_vector),
and the reference outputs apply PEFT's formulas (tuners/lora/layer.py, dora.py) inside the independent decoder reference
of tools/golden/reference.py:
  LoRA: y = x W^T + b + (x A^T B^T) * s,             s = alpha / r   (alpha / sqrt(r) with use_rslora)
  DoRA: y = (m / ||W + s B A||_row) * (x W^T + s x A^T B^T) + b

Also writes bnb_dynamic_map.json (bitsandbytes' create_dynamic_map(signed=True), float32) and nf4_case.safetensors
(a random weight NF4-quantized with bitsandbytes' rules: absmax per 64-block, nearest level, first value in the high nibble).

Usage: /usr/bin/python3 tools/golden_peft/make_peft_fixture.py   (deterministic; ends with ALL CHECKS PASSED)
"""
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "golden"))
import reference  # noqa: E402
import safetensors_io  # noqa: E402

# uint8 support for the NF4 case (the golden writer only needs float/int types).
safetensors_io._DTYPES["U8"] = (np.dtype("u1"), torch.uint8)
safetensors_io._TAG_OF_TORCH[torch.uint8] = "U8"

BASE = os.path.join(REPO, "tests", "fixtures", "golden", "llama_tied")
OUT = os.path.join(REPO, "tests", "fixtures", "peft")
PREFIX = "base_model.model."

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]


def peft_config(**over):
    """adapter_config.json fields as a recent PEFT writes them (includes keys our reader must tolerate)."""
    cfg = {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "tests/fixtures/golden/llama_tied",
        "bias": "none", "corda_config": None, "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False,
        "inference_mode": True, "init_lora_weights": True, "layer_replication": None, "layers_pattern": None,
        "layers_to_transform": None, "loftq_config": {}, "lora_alpha": 16, "lora_bias": False, "lora_dropout": 0.05,
        "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None, "peft_type": "LORA",
        "qalora_group_size": 16, "r": 8, "rank_pattern": {}, "revision": None, "target_modules": [],
        "target_parameters": None, "task_type": "CAUSAL_LM", "trainable_token_indices": None, "use_dora": False,
        "use_qalora": False, "use_rslora": False,
    }
    cfg.update(over)
    return cfg


def pattern_value(patterns, key, default):
    """PEFT get_pattern_key: first pattern p with re.match(rf'(.*\\.)?({p})$', key)."""
    import re
    for p, v in patterns.items():
        if re.match(rf"(.*\.)?({p})$", key):
            return v
    return default


def is_target(cfg, key):
    import re
    t = cfg["target_modules"]
    if isinstance(t, str):
        return re.fullmatch(t, key) is not None
    return key in t or any(key.endswith("." + n) for n in t)


def make_adapters(cfg, weights, gen):
    """Random trained-looking adapters for every targeted projection: A, B ~ N(0, 0.1) (B non-zero), m = norm * (1 + noise)."""
    adapters = {}
    for name in sorted(weights):
        if not name.endswith(".weight"):
            continue
        key = name[:-len(".weight")]
        if not key.split(".")[-1].endswith("_proj") or not is_target(cfg, key):
            continue
        out_f, in_f = weights[name].shape
        r = pattern_value(cfg["rank_pattern"], key, cfg["r"])
        alpha = pattern_value(cfg["alpha_pattern"], key, cfg["lora_alpha"])
        s = alpha / math.sqrt(r) if cfg["use_rslora"] else alpha / r
        A = torch.randn(r, in_f, generator=gen) * 0.1
        B = torch.randn(out_f, r, generator=gen) * 0.1
        ad = {"A": A, "B": B, "s": s}
        if cfg["use_dora"]:
            W = weights[name].float()
            norm = torch.linalg.norm(W + s * (B @ A), dim=1)
            ad["m"] = norm * (1 + 0.2 * torch.randn(out_f, generator=gen))
        adapters[key] = ad
    return adapters


def patched_linear(adapters):
    def linear(x, w, prefix, name, bias):
        key = f"{prefix}.{name}"
        W = w[f"{key}.weight"]
        b = w[f"{key}.bias"] if bias else None
        if key not in adapters:
            return torch.nn.functional.linear(x, W, b)
        ad = adapters[key]
        lora = (x @ ad["A"].T) @ ad["B"].T
        if "m" not in ad:
            return torch.nn.functional.linear(x, W, b) + lora * ad["s"]
        norm = torch.linalg.norm(W + ad["s"] * (ad["B"] @ ad["A"]), dim=1)
        y = (ad["m"] / norm) * (torch.nn.functional.linear(x, W) + ad["s"] * lora)
        return y + b if b is not None else y
    return linear


def write_case(name, cfg, seed):
    with open(os.path.join(BASE, "config.json")) as f:
        base_cfg = json.load(f)
    weights = safetensors_io.load_file(os.path.join(BASE, "model.safetensors"))
    input_ids = safetensors_io.load_file(os.path.join(BASE, "expected.safetensors"))["input_ids"]
    gen = torch.Generator().manual_seed(seed)
    adapters = make_adapters(cfg, weights, gen)
    assert adapters, f"{name}: no module targeted"

    original = reference.linear
    base_logits = reference.DecoderReference(base_cfg, weights).forward(input_ids)["logits"]
    reference.linear = patched_linear(adapters)
    try:
        logits = reference.DecoderReference(base_cfg, weights).forward(input_ids)["logits"]
    finally:
        reference.linear = original
    # Self-check: the adapters change the output noticeably (a test could not miss a dropped adapter).
    diff = (logits - base_logits).abs().max().item()
    assert diff > 1e-2, f"{name}: adapters barely change the logits ({diff})"

    tensors = {}
    for key, ad in adapters.items():
        tensors[f"{PREFIX}{key}.lora_A.weight"] = ad["A"]
        tensors[f"{PREFIX}{key}.lora_B.weight"] = ad["B"]
        if "m" in ad:
            tensors[f"{PREFIX}{key}.lora_magnitude_vector"] = ad["m"]
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    safetensors_io.save_file(tensors, os.path.join(d, "adapter_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    safetensors_io.save_file({"input_ids": input_ids, "logits": logits, "base_logits": base_logits},
                             os.path.join(d, "expected.safetensors"))
    safetensors_io.check_layout(os.path.join(d, "adapter_model.safetensors"))
    print(f"{name}: {len(adapters)} adapted modules, max |logits - base| = {diff:.4f}")


def dynamic_map():
    """bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), float32 torch ops."""
    data = []
    for i in range(7):
        bounds = torch.linspace(0.1, 1, 2 ** i + 1, dtype=torch.float32)
        means = (bounds[:-1] + bounds[1:]) / 2.0
        data += ((10 ** (-6 + i)) * means).tolist()
        data += (-(10 ** (-6 + i)) * means).tolist()
    data += [0.0, 1.0]
    assert len(data) == 256
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def nf4_case(seed):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(6, 80, generator=gen) * 0.05   # 480 values: 7.5 blocks of 64, the last one padded
    w[2, 5] = 0.3                                      # an outlier block
    flat = w.reshape(-1)
    pad = (-flat.numel()) % 64
    blocks = torch.cat([flat, torch.zeros(pad)]).view(-1, 64)
    absmax = blocks.abs().amax(dim=1)
    normed = blocks / absmax[:, None]
    levels = torch.tensor(NF4)
    mids = (levels[:-1] + levels[1:]) / 2
    idx = (normed.reshape(-1)[:, None] > mids[None, :]).sum(dim=1)  # nearest level, ties down (bnb's `x > t`)
    packed = (idx[0::2] * 16 + idx[1::2]).to(torch.uint8)
    deq = (levels[idx].view(-1, 64) * absmax[:, None]).reshape(-1)[:flat.numel()].view_as(w)
    safetensors_io.save_file({"weight": w, "packed": packed, "absmax": absmax, "dequantized": deq},
                             os.path.join(OUT, "nf4_case.safetensors"))


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    write_case("lora_llama_tied", peft_config(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
        rank_pattern={"down_proj": 2}, alpha_pattern={"layers.1.self_attn.o_proj": 2}), seed=11)
    write_case("dora_llama_tied", peft_config(
        r=4, lora_alpha=8, use_dora=True, use_rslora=True, init_lora_weights="gaussian",
        target_modules=r"model\.layers\.\d+\.(self_attn\.(q|k)_proj|mlp\.up_proj)"), seed=12)
    code = dynamic_map()
    with open(os.path.join(OUT, "bnb_dynamic_map.json"), "w") as f:
        json.dump({"source": "bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)",
                   "values": code.tolist()}, f, indent=1)
        f.write("\n")
    nf4_case(seed=13)
    print("ALL CHECKS PASSED")


if __name__ == "__main__":
    main()
