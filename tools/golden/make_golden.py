"""Generate golden fixtures for every supported decoder family.

    /usr/bin/python3 tools/golden/make_golden.py [--out tests/fixtures/golden]

For each case: a tiny random HF-style checkpoint (config.json + model.safetensors) and
expected.safetensors (input_ids, logits, prefill_len, decode_logits, hidden_0, hidden_last),
computed by the independent reference in reference.py. The script verifies its own output:
safetensors round-trip and layout, cached decode == full forward (except dynamic RoPE),
per-case feature checks, and a mutation table proving the recommended tolerance would catch
the typical implementation mistakes (wrong eps, theta, RoPE layout, GQA head mapping, missing
biases / qk-norm / rope scaling, tied vs untied head). See README.md.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import DecoderConfig, DecoderReference, rope_inv_freq  # noqa: E402
from safetensors_io import check_layout, load_file, save_file  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEQ_LEN = 12            # T
PREFILL_LEN = 9
LOGITS_ATOL = 1e-4      # recommended abs tolerance on logits for an fp32 implementation
HIDDEN_ATOL = 1e-4      # recommended abs tolerance on hidden_0 / hidden_last (debug aids, |x| ~ 1-3)
DECODE_SELF_ATOL = 1e-5  # reference's own cached decode vs full forward (non-dynamic cases)
QK_STD = 0.15           # q_proj/k_proj init std: attention scores O(1) so RoPE matters
MIN_MUTATION_RATIO = 20  # every mutation must move logits by >= this many tolerances
TRANSFORMERS_VERSION = "4.51.3"  # only recorded in config.json, like save_pretrained does

COMMON = {
    "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "hidden_act": "silu", "initializer_range": 0.02, "attention_dropout": 0.0, "use_cache": True,
    "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION,
}


def llama_config(**over):
    cfg = dict(COMMON, architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=256,
               intermediate_size=96, head_dim=16, max_position_embeddings=64, rms_norm_eps=1e-6,
               rope_theta=10000.0, rope_scaling=None, attention_bias=False, mlp_bias=False,
               pretraining_tp=1, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
    cfg.update(over)
    return cfg


def mistral_config(**over):
    # No head_dim / rope_scaling keys: the reader must fall back to hidden_size // num_attention_heads.
    cfg = dict(COMMON, architectures=["MistralForCausalLM"], model_type="mistral", vocab_size=256,
               intermediate_size=128, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
               sliding_window=4096, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    cfg.update(over)
    return cfg


def qwen2_config(**over):
    # No attention_bias key: qwen2 always has q/k/v bias and no o_proj bias.
    cfg = dict(COMMON, architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=300,
               intermediate_size=96, max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=1000000.0,
               rope_scaling=None, sliding_window=4096, use_sliding_window=False, max_window_layers=2,
               tie_word_embeddings=True, bos_token_id=290, eos_token_id=290)
    cfg.update(over)
    return cfg


def qwen3_config(**over):
    # head_dim 32 with hidden 64 / 4 heads: q_proj is [128, 64], o_proj is [64, 128].
    cfg = dict(COMMON, architectures=["Qwen3ForCausalLM"], model_type="qwen3", vocab_size=300,
               intermediate_size=96, head_dim=32, max_position_embeddings=128, rms_norm_eps=1e-6,
               rope_theta=1000000.0, rope_scaling=None, attention_bias=False, sliding_window=None,
               use_sliding_window=False, max_window_layers=2, tie_word_embeddings=False,
               bos_token_id=290, eos_token_id=292)
    cfg.update(over)
    return cfg


# name -> (config, seed, what it covers)
CASES = {
    "llama_tied": (llama_config(), 101,
                   "llama, tied embeddings, default RoPE, GQA 4/2, eps 1e-6, explicit head_dim"),
    "llama_untied_bias": (llama_config(tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
                                       intermediate_size=128, rms_norm_eps=1e-5), 102,
                          "llama, untied lm_head, bias on q/k/v/o (attention_bias) and gate/up/down (mlp_bias)"),
    "llama3_rope": (llama_config(vocab_size=300, rope_theta=500000.0, max_position_embeddings=128,
                                 rms_norm_eps=1e-5, bos_token_id=256, eos_token_id=[257, 259],
                                 rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                               "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
                    103, "llama3 rope_scaling with all three bands (kept / blended / divided), vocab 300, eos list"),
    "llama_linear_rope": (llama_config(rope_scaling={"type": "linear", "factor": 2.0}), 104,
                          "linear rope_scaling written with the legacy key 'type'"),
    "llama_dynamic_rope": (llama_config(max_position_embeddings=8, rms_norm_eps=1e-5,
                                        rope_scaling={"rope_type": "dynamic", "factor": 2.0}), 105,
                           "dynamic NTK rope_scaling, T=12 > max_position_embeddings=8; cached decode differs"),
    "mistral": (mistral_config(), 106,
                "mistral, untied, sliding_window 4096 >= T (no effect), no head_dim/rope_scaling keys"),
    "qwen2": (qwen2_config(), 107, "qwen2, q/k/v bias (implied), no o_proj bias, tied, theta 1e6"),
    "qwen3": (qwen3_config(), 108, "qwen3, per-head q_norm/k_norm before RoPE, head_dim 32 != hidden/heads, untied"),
    "llama_gqa1": (llama_config(num_key_value_heads=1, rms_norm_eps=1e-5), 109, "llama, MQA (1 kv head)"),
}


# ---------------------------------------------------------------- weights and inputs

def make_weights(cfg_dict, seed):
    """Random HF-named fp32 weights: matrices/embeddings N(0, 0.02), norms 1 + N(0, 0.1), biases N(0, 0.02),
    except q_proj/k_proj N(0, QK_STD): with 0.02 the attention is almost uniform and RoPE mistakes
    (theta, scaling, layout) would hide below the tolerance."""
    c = DecoderConfig(cfg_dict)
    g = torch.Generator().manual_seed(seed)

    def normal(shape, std, mean=0.0):
        return torch.randn(*shape, generator=g) * std + mean

    w = {"model.embed_tokens.weight": normal([c.vocab_size, c.hidden_size], 0.02)}
    q_out, kv_out = c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim
    for i in range(c.num_layers):
        p = f"model.layers.{i}"
        w[f"{p}.input_layernorm.weight"] = normal([c.hidden_size], 0.1, 1.0)
        w[f"{p}.post_attention_layernorm.weight"] = normal([c.hidden_size], 0.1, 1.0)
        for name, out_f, in_f, has_bias in (("q_proj", q_out, c.hidden_size, c.qkv_bias),
                                            ("k_proj", kv_out, c.hidden_size, c.qkv_bias),
                                            ("v_proj", kv_out, c.hidden_size, c.qkv_bias),
                                            ("o_proj", c.hidden_size, q_out, c.o_bias)):
            std = QK_STD if name in ("q_proj", "k_proj") else 0.02
            w[f"{p}.self_attn.{name}.weight"] = normal([out_f, in_f], std)
            if has_bias:
                w[f"{p}.self_attn.{name}.bias"] = normal([out_f], 0.02)
        if c.qk_norm:
            w[f"{p}.self_attn.q_norm.weight"] = normal([c.head_dim], 0.1, 1.0)
            w[f"{p}.self_attn.k_norm.weight"] = normal([c.head_dim], 0.1, 1.0)
        for name, out_f, in_f in (("gate_proj", c.intermediate_size, c.hidden_size),
                                  ("up_proj", c.intermediate_size, c.hidden_size),
                                  ("down_proj", c.hidden_size, c.intermediate_size)):
            w[f"{p}.mlp.{name}.weight"] = normal([out_f, in_f], 0.02)
            if c.mlp_bias:
                w[f"{p}.mlp.{name}.bias"] = normal([out_f], 0.02)
    w["model.norm.weight"] = normal([c.hidden_size], 0.1, 1.0)
    if not c.tie_word_embeddings:
        w["lm_head.weight"] = normal([c.vocab_size, c.hidden_size], 0.02)
    return w


def make_inputs(cfg_dict, seed):
    """[2, T] int64: row 0 starts with BOS, row 1 is different random ids."""
    g = torch.Generator().manual_seed(seed + 7919)
    ids = torch.randint(0, cfg_dict["vocab_size"], (2, SEQ_LEN), generator=g, dtype=torch.int64)
    ids[0, 0] = cfg_dict["bos_token_id"]
    assert not torch.equal(ids[0], ids[1])
    return ids


def run_reference(cfg_dict, weights, input_ids):
    model = DecoderReference(cfg_dict, weights)
    full = model.forward(input_ids)
    decode = model.decode_with_cache(input_ids, PREFILL_LEN)
    return {
        "input_ids": input_ids,
        "logits": full["logits"],
        "prefill_len": torch.tensor([PREFILL_LEN], dtype=torch.int64),
        "decode_logits": decode,
        "hidden_0": full["hidden_0"],
        "hidden_last": full["hidden_last"],
    }


# ---------------------------------------------------------------- mutations (test-strength check)

def permute_q_heads_for_tiled_gqa(cfg_dict, w):
    """Weights on which the correct model computes what a model using tile-style GQA
    (query head h -> kv head h % Hkv) computes on the original weights."""
    c = DecoderConfig(cfg_dict)
    g = c.num_heads // c.num_kv_heads
    # slot s = (h % Hkv) * g + h // Hkv holds original head h, so slot s // g == h % Hkv
    order = [0] * c.num_heads
    for h in range(c.num_heads):
        order[(h % c.num_kv_heads) * g + h // c.num_kv_heads] = h
    rows = torch.cat([torch.arange(h * c.head_dim, (h + 1) * c.head_dim) for h in order])
    out = dict(w)
    for i in range(c.num_layers):
        p = f"model.layers.{i}.self_attn"
        out[f"{p}.q_proj.weight"] = w[f"{p}.q_proj.weight"][rows]
        if f"{p}.q_proj.bias" in w:
            out[f"{p}.q_proj.bias"] = w[f"{p}.q_proj.bias"][rows]
        out[f"{p}.o_proj.weight"] = w[f"{p}.o_proj.weight"][:, rows]
    return out


def permute_for_interleaved_rope(cfg_dict, w):
    """Weights on which rotate-half RoPE computes what interleaved (GPT-J style, pairs 2i/2i+1)
    RoPE computes on the original weights: within each head, rows [0,2,4,..,1,3,5,..]."""
    c = DecoderConfig(cfg_dict)
    D = c.head_dim
    within = torch.cat([torch.arange(0, D, 2), torch.arange(1, D, 2)])
    out = dict(w)
    for i in range(c.num_layers):
        p = f"model.layers.{i}.self_attn"
        for name, heads in (("q_proj", c.num_heads), ("k_proj", c.num_kv_heads)):
            rows = torch.cat([h * D + within for h in range(heads)])
            out[f"{p}.{name}.weight"] = w[f"{p}.{name}.weight"][rows]
            if f"{p}.{name}.bias" in w:
                out[f"{p}.{name}.bias"] = w[f"{p}.{name}.bias"][rows]
        for name in ("q_norm", "k_norm"):
            if f"{p}.{name}.weight" in w:
                out[f"{p}.{name}.weight"] = w[f"{p}.{name}.weight"][within]
    return out


def mutations(cfg_dict, w):
    """(label, config, weights) for plausible wrong implementations of this case."""
    c = DecoderConfig(cfg_dict)
    muts = [
        ("rms_norm_eps 1e-5<->1e-6", dict(cfg_dict, rms_norm_eps=1e-5 if cfg_dict["rms_norm_eps"] == 1e-6 else 1e-6), w),
        ("rope_theta x2", dict(cfg_dict, rope_theta=cfg_dict["rope_theta"] * 2), w),
        ("interleaved RoPE pairs", cfg_dict, permute_for_interleaved_rope(cfg_dict, w)),
    ]
    if c.num_kv_heads > 1 and c.num_heads > c.num_kv_heads:
        muts.append(("GQA tile instead of repeat_interleave", cfg_dict, permute_q_heads_for_tiled_gqa(cfg_dict, w)))
    if cfg_dict.get("rope_scaling"):
        muts.append(("rope_scaling ignored", dict(cfg_dict, rope_scaling=None), w))
    if cfg_dict.get("attention_bias"):
        muts.append(("attention_bias ignored", dict(cfg_dict, attention_bias=False), w))
    if cfg_dict.get("mlp_bias"):
        muts.append(("mlp_bias ignored", dict(cfg_dict, mlp_bias=False), w))
    if c.model_type == "qwen2":
        muts.append(("q/k/v bias ignored (as llama)", dict(cfg_dict, model_type="llama"), w))
        muts.append(("o_proj bias assumed (zero-free)", dict(cfg_dict, model_type="llama", attention_bias=True),
                     dict(w, **{f"model.layers.{i}.self_attn.o_proj.bias": torch.full([c.hidden_size], 0.02)
                                for i in range(c.num_layers)})))
    if c.qk_norm:
        muts.append(("q_norm/k_norm skipped (as llama)", dict(cfg_dict, model_type="llama"), w))
    if not c.tie_word_embeddings:
        muts.append(("tied head used instead of lm_head", dict(cfg_dict, tie_word_embeddings=True), w))
    return muts


# ---------------------------------------------------------------- checks

def check_case_features(name, cfg_dict, weights, expected):
    c = DecoderConfig(cfg_dict)
    default = rope_inv_freq(DecoderConfig(dict(cfg_dict, rope_scaling=None)), SEQ_LEN)
    scaled = rope_inv_freq(c, SEQ_LEN)
    if c.rope_type == "llama3":
        # Every band must be exercised: kept (high freq), blended, divided by factor (low freq).
        factor = c.rope_scaling["factor"]
        kept = torch.isclose(scaled, default, rtol=0, atol=0)
        divided = torch.isclose(scaled, default / factor, rtol=1e-6, atol=0)
        blended = ~kept & ~divided
        assert kept.any() and divided.any() and blended.any(), f"{name}: llama3 bands kept={kept} divided={divided}"
        print(f"  llama3 bands: kept {int(kept.sum())}, blended {int(blended.sum())}, divided {int(divided.sum())}")
    if c.rope_type in ("linear", "dynamic"):
        assert not torch.allclose(scaled, default), f"{name}: rope_scaling did not change inv_freq"
    if c.rope_type == "dynamic":
        assert SEQ_LEN > c.max_position_embeddings and PREFILL_LEN > c.max_position_embeddings
    if name == "qwen3":
        assert c.num_heads * c.head_dim != c.hidden_size
        assert list(weights["model.layers.0.self_attn.q_proj.weight"].shape) == [128, 64]
    for key in ("logits", "hidden_0", "hidden_last", "decode_logits"):
        assert torch.isfinite(expected[key]).all(), f"{name}: {key} not finite"


def check_decode(name, cfg_dict, expected):
    """Cached decode must equal the full forward, except for dynamic RoPE (different inv_freq per call)."""
    tail = expected["logits"][:, PREFILL_LEN:]
    diff = (expected["decode_logits"] - tail).abs().max().item()
    dynamic = DecoderConfig(cfg_dict).rope_type == "dynamic"
    if dynamic:
        assert diff > 10 * LOGITS_ATOL, f"{name}: dynamic decode unexpectedly equals full forward ({diff:.2e})"
    else:
        assert diff <= DECODE_SELF_ATOL, f"{name}: cached decode differs from full forward by {diff:.2e}"
    print(f"  decode vs full-forward max |diff| = {diff:.2e} ({'differs by design' if dynamic else 'equal'})")
    return not dynamic


def dynamic_decode_mutations(cfg_dict, weights, input_ids):
    """(label, decode_logits) for wrong cached-decode treatments of dynamic NTK RoPE."""
    model = DecoderReference(cfg_dict, weights)
    T = input_ids.shape[1]
    no_cache = torch.cat([model.forward(input_ids[:, :t + 1])["logits"][:, -1:] for t in range(PREFILL_LEN, T)], 1)
    return [
        ("dynamic: decode steps keep prefill inv_freq", model.decode_with_cache(input_ids, PREFILL_LEN, PREFILL_LEN)),
        ("dynamic: decode seq_len = new tokens (1)", model.decode_with_cache(input_ids, PREFILL_LEN, 1)),
        ("dynamic: cached keys re-rotated (no cache)", no_cache),
    ]


def check_mutations(name, cfg_dict, weights, expected):
    """Every plausible mistake must move the compared tensor by >= MIN_MUTATION_RATIO tolerances."""
    results = []
    for label, mcfg, mw in mutations(cfg_dict, weights):
        got = DecoderReference(mcfg, mw).forward(expected["input_ids"])["logits"]
        results.append((label, "logits", (got - expected["logits"]).abs().max().item()))
    if DecoderConfig(cfg_dict).rope_type == "dynamic":
        for label, got in dynamic_decode_mutations(cfg_dict, weights, expected["input_ids"]):
            results.append((label, "decode_logits", (got - expected["decode_logits"]).abs().max().item()))
    for label, key, diff in results:
        ratio = diff / LOGITS_ATOL
        print(f"  mutation {label:44s} max |d{key}| = {diff:.2e} ({ratio:7.1f} x tol)")
        assert ratio >= MIN_MUTATION_RATIO, f"{name}: tolerance too loose to catch '{label}'"
    return min(diff for _, _, diff in results) / LOGITS_ATOL


def write_case(out_dir, name, cfg_dict, seed):
    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)
    weights = make_weights(cfg_dict, seed)
    expected = run_reference(cfg_dict, weights, make_inputs(cfg_dict, seed))

    with open(os.path.join(case_dir, "config.json"), "w") as f:
        f.write(json.dumps(cfg_dict, indent=2, sort_keys=True) + "\n")  # as PretrainedConfig.to_json_string
    save_file(weights, os.path.join(case_dir, "model.safetensors"), {"format": "pt"})
    save_file(expected, os.path.join(case_dir, "expected.safetensors"),
              {"generator": "tools/golden/make_golden.py", "case": name})

    # Round trip: files are canonical and reload bit-exactly; the reloaded checkpoint reproduces the outputs.
    for fname, tensors in (("model.safetensors", weights), ("expected.safetensors", expected)):
        path = os.path.join(case_dir, fname)
        check_layout(path)
        back = load_file(path)
        assert sorted(back) == sorted(tensors), f"{path}: names differ after round trip"
        for k, v in tensors.items():
            assert back[k].dtype == v.dtype and torch.equal(back[k], v), f"{path}: '{k}' differs after round trip"
    with open(os.path.join(case_dir, "config.json")) as f:
        reloaded = run_reference(json.load(f), load_file(os.path.join(case_dir, "model.safetensors")),
                                 expected["input_ids"])
    for k in expected:
        assert torch.equal(reloaded[k], expected[k]), f"{name}: '{k}' not reproducible from the written files"

    print(f"{name}: logits {list(expected['logits'].shape)}, |logits| max {expected['logits'].abs().max():.3f}")
    check_case_features(name, cfg_dict, weights, expected)
    decode_equal = check_decode(name, cfg_dict, expected)
    worst = check_mutations(name, cfg_dict, weights, expected)
    return decode_equal, worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "golden"))
    args = ap.parse_args()
    torch.set_num_threads(1)  # deterministic reductions
    os.makedirs(args.out, exist_ok=True)
    index = {
        "generator": "tools/golden/make_golden.py",
        "reference": "tools/golden/reference.py (HF transformers semantics, fp32)",
        "seq_len": SEQ_LEN,
        "prefill_len": PREFILL_LEN,
        "tolerance": {"logits_atol": LOGITS_ATOL, "decode_logits_atol": LOGITS_ATOL,
                      "hidden_atol": HIDDEN_ATOL, "rtol": 0.0},
        "cases": [],
    }
    for name, (cfg_dict, seed, covers) in CASES.items():
        decode_equal, worst = write_case(args.out, name, cfg_dict, seed)
        index["cases"].append({"name": name, "model_type": cfg_dict["model_type"], "seed": seed,
                               "covers": covers, "decode_logits_equal_logits": decode_equal,
                               "weakest_mutation_x_tol": round(worst, 1)})
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        f.write(json.dumps(index, indent=2) + "\n")
    total = sum(os.path.getsize(os.path.join(d, fn)) for d, _, fns in os.walk(args.out) for fn in fns)
    print(f"wrote {len(CASES)} cases to {args.out} ({total / 1e6:.2f} MB)")
    print("ALL CHECKS PASSED")


if __name__ == "__main__":
    main()
