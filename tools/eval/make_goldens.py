#!/usr/bin/env python3
"""Independent reference for `tunesharp eval` (issue 13 item 8).

Reads the token ids that TuneSharp's EvalGoldenTests dumped (tools/eval/inputs.json: the log-likelihood requests of a
fixed subset of items of every multiple-choice task, perplexity windows, and greedy-generation prompts), runs
stories260K in plain PyTorch (safetensors parsed by hand, Llama forward written here from the HF equations, fp32), and
writes tests/fixtures/eval/goldens.json: per request the log-likelihood of the continuation (lm-evaluation-harness's
truncation: (context + continuation)[-(max_length + 1):][:-1]) and is_greedy; per prompt the greedy token ids.

Run: /usr/bin/python3 tools/eval/make_goldens.py   (python3-torch 1.13, no other package)
"""
import json
import os
import struct
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.environ.get("TUNESHARP_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
MODEL = os.path.join(FIX, "models", "stories260K-hf")


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", meta["dtype"]
        a, b = meta["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(meta["shape"])
    return out


class Llama:
    """HF LlamaForCausalLM forward (no cache): RMSNorm, rotary (rotate_half), grouped-query attention, SiLU MLP."""

    def __init__(self, folder):
        self.cfg = json.load(open(os.path.join(folder, "config.json")))
        self.w = load_safetensors(os.path.join(folder, "model.safetensors"))
        c = self.cfg
        self.h, self.hkv = c["num_attention_heads"], c["num_key_value_heads"]
        self.d = c.get("head_dim") or c["hidden_size"] // self.h
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, self.d, 2, dtype=torch.float32) / self.d))
        pos = torch.arange(c["max_position_embeddings"] * 2, dtype=torch.float32)
        freqs = torch.outer(pos, inv)
        emb = torch.cat([freqs, freqs], dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()

    def norm(self, x, w):
        var = x.pow(2).mean(-1, keepdim=True)
        return w * (x * torch.rsqrt(var + self.cfg["rms_norm_eps"]))

    @staticmethod
    def rot(x):
        a, b = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat([-b, a], dim=-1)

    def logits(self, ids):
        w, t = self.w, len(ids)
        x = w["model.embed_tokens.weight"][torch.tensor(ids)]  # [T, hidden]
        cos, sin = self.cos[:t], self.sin[:t]
        causal = torch.full((t, t), float("-inf")).triu(1)
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            hn = self.norm(x, w[p + "input_layernorm.weight"])
            q = (hn @ w[p + "self_attn.q_proj.weight"].T).view(t, self.h, self.d).transpose(0, 1)    # [H, T, D]
            k = (hn @ w[p + "self_attn.k_proj.weight"].T).view(t, self.hkv, self.d).transpose(0, 1)  # [Hkv, T, D]
            v = (hn @ w[p + "self_attn.v_proj.weight"].T).view(t, self.hkv, self.d).transpose(0, 1)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            g = self.h // self.hkv
            k, v = k.repeat_interleave(g, 0), v.repeat_interleave(g, 0)
            att = (q @ k.transpose(-1, -2)) / (self.d ** 0.5) + causal
            o = (att.softmax(-1) @ v).transpose(0, 1).reshape(t, self.h * self.d)
            x = x + o @ w[p + "self_attn.o_proj.weight"].T
            hn = self.norm(x, w[p + "post_attention_layernorm.weight"])
            mlp = torch.nn.functional.silu(hn @ w[p + "mlp.gate_proj.weight"].T) * (hn @ w[p + "mlp.up_proj.weight"].T)
            x = x + mlp @ w[p + "mlp.down_proj.weight"].T
        x = self.norm(x, w["model.norm.weight"])
        head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
        return x @ head.T  # [T, V]


def loglikelihood(model, context, continuation, max_length):
    whole = context + continuation
    inp = whole[-(max_length + 1):][:-1]
    n = len(continuation)
    logp = model.logits(inp).log_softmax(-1)[-n:]  # the positions predicting the continuation
    target = torch.tensor(whole[-n:])
    ll = logp.gather(1, target[:, None]).squeeze(1)
    return float(ll.double().sum()), bool((logp.argmax(-1) == target).all())


def greedy(model, prompt, steps, stop_ids):
    ids = list(prompt)
    out = []
    for _ in range(steps):
        nxt = int(model.logits(ids)[-1].argmax())
        if nxt in stop_ids:
            break
        out.append(nxt)
        ids.append(nxt)
    return out


def main():
    inputs_path = os.path.join(ROOT, "tools", "eval", "inputs.json")
    inputs = json.load(open(inputs_path))
    torch.set_grad_enabled(False)
    model = Llama(MODEL)
    max_length = inputs["max_length"]
    requests = []
    for r in inputs["requests"]:
        ll, is_greedy = loglikelihood(model, r["context"], r["continuation"], max_length)
        requests.append({**r, "loglikelihood": ll, "is_greedy": is_greedy})
    generations = []
    for g in inputs["generations"]:
        generations.append({**g, "greedy": greedy(model, g["prompt"], g["steps"], set(g["stop_ids"]))})
    out = {
        "about": "stories260K fp32 log-likelihoods and greedy ids from tools/eval/make_goldens.py (plain PyTorch "
                 + torch.__version__ + "); inputs dumped by EvalGoldenTests",
        "max_length": max_length,
        "requests": requests,
        "generations": generations,
    }
    dest = os.path.join(ROOT, "tests", "fixtures", "eval", "goldens.json")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {len(requests)} requests and {len(generations)} generations to {dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
