"""Independent, readable PyTorch reference for HF Llama-family decoders.

Covers HF model_types llama (rope_scaling default/linear/dynamic/llama3, attention_bias, mlp_bias),
mistral, qwen2 (q/k/v bias) and qwen3 (per-head q_norm/k_norm, explicit head_dim), tied or untied
embeddings, GQA/MQA. Written from HF transformers' modeling semantics; fp32 throughout.

Shape letters: B batch, T new tokens, S total (cached + new) tokens, H query heads, Hkv kv heads,
D head_dim, C hidden_size, V vocab.
"""
import math

import torch
import torch.nn.functional as F

SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")


class DecoderConfig:
    """The subset of an HF config.json dict the reference needs, with HF's defaults."""

    def __init__(self, cfg):
        mt = cfg["model_type"]
        if mt not in SUPPORTED_MODEL_TYPES:
            raise NotImplementedError(f"config.json: model_type '{mt}' not supported")
        self.model_type = mt
        self.vocab_size = cfg["vocab_size"]
        self.hidden_size = cfg["hidden_size"]
        self.intermediate_size = cfg["intermediate_size"]
        self.num_layers = cfg["num_hidden_layers"]
        self.num_heads = cfg["num_attention_heads"]
        self.num_kv_heads = cfg.get("num_key_value_heads") or self.num_heads
        # head_dim may be absent or null: HF falls back to hidden_size // num_attention_heads
        self.head_dim = cfg.get("head_dim") or self.hidden_size // self.num_heads
        self.rms_norm_eps = cfg["rms_norm_eps"]
        self.rope_theta = float(cfg.get("rope_theta", 10000.0))
        self.max_position_embeddings = cfg["max_position_embeddings"]
        self.tie_word_embeddings = cfg.get("tie_word_embeddings", False)
        if cfg.get("hidden_act", "silu") != "silu":
            raise NotImplementedError(f"config.json: hidden_act '{cfg['hidden_act']}' not supported")

        # Projection biases per family (HF hard-codes them for mistral/qwen2).
        if mt == "qwen2":
            self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
        elif mt == "mistral":
            self.qkv_bias, self.o_bias, self.mlp_bias = False, False, False
        else:  # llama, qwen3: attention_bias covers q,k,v,o; mlp_bias (llama only) covers gate/up/down
            ab = bool(cfg.get("attention_bias", False))
            self.qkv_bias, self.o_bias = ab, ab
            self.mlp_bias = bool(cfg.get("mlp_bias", False)) if mt == "llama" else False
        self.qk_norm = mt == "qwen3"

        # rope_scaling: the old key "type" is accepted as an alias of "rope_type".
        rs = cfg.get("rope_scaling")
        self.rope_scaling = dict(rs) if rs else None
        self.rope_type = "default"
        if self.rope_scaling is not None:
            self.rope_type = self.rope_scaling.get("rope_type", self.rope_scaling.get("type", "default"))
        if self.rope_type not in ("default", "linear", "dynamic", "llama3"):
            raise NotImplementedError(f"config.json: rope_scaling type '{self.rope_type}' not supported")

        # Sliding window is not implemented: refuse configs where it could matter.
        sw = cfg.get("sliding_window")
        use_sw = cfg.get("use_sliding_window", mt == "mistral")
        self.sliding_window = sw if (use_sw and sw is not None) else None


# ---------------------------------------------------------------- RoPE

def rope_inv_freq(cfg, seq_len):
    """inv_freq [D/2] (float32) for the current forward call; seq_len only matters for 'dynamic'."""
    dim = cfg.head_dim
    exponents = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim  # [D/2]
    base = cfg.rope_theta
    if cfg.rope_type == "dynamic":
        # Dynamic NTK: grow the base once the sequence exceeds max_position_embeddings.
        # HF computes this with a 0-dim int64 seq_len tensor, so the arithmetic is float32.
        factor = cfg.rope_scaling["factor"]
        mpe = cfg.max_position_embeddings
        s = torch.tensor(max(seq_len, mpe), dtype=torch.int64)
        base = base * ((factor * s / mpe) - (factor - 1)) ** (dim / (dim - 2))  # float32 0-dim
    inv_freq = 1.0 / (base ** exponents)
    if cfg.rope_type == "linear":
        # Linear (position interpolation): positions / factor == inv_freq / factor.
        inv_freq = inv_freq / cfg.rope_scaling["factor"]
    elif cfg.rope_type == "llama3":
        inv_freq = _llama3_adjust(inv_freq, cfg.rope_scaling)
    return inv_freq


def _llama3_adjust(inv_freq, rs):
    """Llama 3.1 frequency-band scaling: keep high freqs, divide low freqs by factor, blend between."""
    factor = rs["factor"]
    lo, hi = rs["low_freq_factor"], rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_ctx / lo    # longer wavelengths than this: fully scaled
    high_freq_wavelen = old_ctx / hi   # shorter wavelengths than this: untouched
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    # In the band between, interpolate with smooth in [0, 1] (0 at low_freq_wavelen, 1 at high_freq_wavelen).
    smooth = (old_ctx / wavelen - lo) / (hi - lo)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    in_band = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
    return torch.where(in_band, blended, scaled)


def rope_cos_sin(inv_freq, positions):
    """cos, sin [T, D] for integer positions [T]; both halves share the same frequencies."""
    angles = positions.float()[:, None] * inv_freq[None, :]  # [T, D/2]
    emb = torch.cat([angles, angles], dim=-1)                 # [T, D]
    return emb.cos(), emb.sin()


def rotate_half(x):
    """(x1, x2) -> (-x2, x1) on the last dim split into two halves (non-interleaved)."""
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x, cos, sin):
    """x [B, heads, T, D]; cos/sin [T, D]."""
    return x * cos + rotate_half(x) * sin


# ---------------------------------------------------------------- blocks

def rms_norm(x, weight, eps):
    """x * rsqrt(mean(x^2) + eps) * weight, computed in float32."""
    x32 = x.float()
    x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * x32.to(x.dtype)


def linear(x, w, prefix, name, bias):
    """y = x W^T (+ b when the config says this projection has a bias) for HF module prefix.name."""
    b = w[f"{prefix}.{name}.bias"] if bias else None
    return F.linear(x, w[f"{prefix}.{name}.weight"], b)


class KvCache:
    """Per-layer keys (after RoPE) and values, [B, Hkv, S, D], grown by concatenation."""

    def __init__(self, num_layers):
        self.k = [None] * num_layers
        self.v = [None] * num_layers
        self.length = 0

    def append(self, layer, k, v):
        if self.k[layer] is None:
            self.k[layer], self.v[layer] = k, v
        else:
            self.k[layer] = torch.cat([self.k[layer], k], dim=2)
            self.v[layer] = torch.cat([self.v[layer], v], dim=2)
        return self.k[layer], self.v[layer]


class DecoderReference:
    """Functional decoder over a dict of HF-named weights."""

    def __init__(self, config_dict, weights):
        self.cfg = DecoderConfig(config_dict)
        self.w = {k: v.float() for k, v in weights.items()}
        self._check_weights()

    def _check_weights(self):
        c = self.cfg
        for i in range(c.num_layers):
            p = f"model.layers.{i}"
            shapes = {
                f"{p}.self_attn.q_proj.weight": [c.num_heads * c.head_dim, c.hidden_size],
                f"{p}.self_attn.k_proj.weight": [c.num_kv_heads * c.head_dim, c.hidden_size],
                f"{p}.self_attn.v_proj.weight": [c.num_kv_heads * c.head_dim, c.hidden_size],
                f"{p}.self_attn.o_proj.weight": [c.hidden_size, c.num_heads * c.head_dim],
                f"{p}.mlp.gate_proj.weight": [c.intermediate_size, c.hidden_size],
                f"{p}.mlp.up_proj.weight": [c.intermediate_size, c.hidden_size],
                f"{p}.mlp.down_proj.weight": [c.hidden_size, c.intermediate_size],
                f"{p}.input_layernorm.weight": [c.hidden_size],
                f"{p}.post_attention_layernorm.weight": [c.hidden_size],
            }
            if c.qkv_bias:
                shapes[f"{p}.self_attn.q_proj.bias"] = [c.num_heads * c.head_dim]
                shapes[f"{p}.self_attn.k_proj.bias"] = [c.num_kv_heads * c.head_dim]
                shapes[f"{p}.self_attn.v_proj.bias"] = [c.num_kv_heads * c.head_dim]
            if c.o_bias:
                shapes[f"{p}.self_attn.o_proj.bias"] = [c.hidden_size]
            if c.mlp_bias:
                shapes[f"{p}.mlp.gate_proj.bias"] = [c.intermediate_size]
                shapes[f"{p}.mlp.up_proj.bias"] = [c.intermediate_size]
                shapes[f"{p}.mlp.down_proj.bias"] = [c.hidden_size]
            if c.qk_norm:
                shapes[f"{p}.self_attn.q_norm.weight"] = [c.head_dim]
                shapes[f"{p}.self_attn.k_norm.weight"] = [c.head_dim]
            for name, shape in shapes.items():
                if name not in self.w:
                    raise KeyError(f"model.safetensors: missing tensor '{name}'")
                if list(self.w[name].shape) != shape:
                    raise ValueError(f"model.safetensors: tensor '{name}' has shape {list(self.w[name].shape)}, expected {shape}")

    def lm_head_weight(self):
        if self.cfg.tie_word_embeddings:  # HF ignores any stored lm_head.weight when tied
            return self.w["model.embed_tokens.weight"]
        if "lm_head.weight" not in self.w:
            raise KeyError("model.safetensors: missing tensor 'lm_head.weight' (tie_word_embeddings is false)")
        return self.w["lm_head.weight"]

    @torch.no_grad()
    def forward(self, input_ids, cache=None, rope_seq_len=None):
        """input_ids [B, T] continuing `cache` (or from position 0). Returns dict with
        logits [B, T, V], hidden_0 [B, T, C] (embedding output), hidden_last [B, T, C] (final norm output).
        rope_seq_len overrides the dynamic-RoPE seq_len (only used to model wrong implementations)."""
        c = self.cfg
        B, T = input_ids.shape
        start = cache.length if cache is not None else 0
        positions = torch.arange(start, start + T)
        if c.sliding_window is not None and start + T > c.sliding_window:
            raise NotImplementedError("sliding window attention is not implemented in the reference")

        # RoPE tables for this call. For 'dynamic', HF uses seq_len = max(position_ids) + 1 of the call.
        inv_freq = rope_inv_freq(c, seq_len=start + T if rope_seq_len is None else rope_seq_len)
        cos, sin = rope_cos_sin(inv_freq, positions)  # [T, D]

        # Causal mask over all S = start + T keys: query at absolute position p sees keys 0..p.
        key_pos = torch.arange(start + T)
        mask = torch.zeros(T, start + T)
        mask.masked_fill_(key_pos[None, :] > positions[:, None], float("-inf"))  # [T, S]

        h = self.w["model.embed_tokens.weight"][input_ids]  # [B, T, C]
        hidden_0 = h.clone()
        for i in range(c.num_layers):
            p = f"model.layers.{i}"
            # Pre-norm residual blocks: h = h + attn(norm(h)); h = h + mlp(norm(h))
            a = rms_norm(h, self.w[f"{p}.input_layernorm.weight"], c.rms_norm_eps)
            h = h + self._attention(i, a, cos, sin, mask, cache)
            m = rms_norm(h, self.w[f"{p}.post_attention_layernorm.weight"], c.rms_norm_eps)
            h = h + self._mlp(p, m)
        hidden_last = rms_norm(h, self.w["model.norm.weight"], c.rms_norm_eps)
        logits = F.linear(hidden_last, self.lm_head_weight())  # [B, T, V]
        if cache is not None:
            cache.length += T
        return {"logits": logits, "hidden_0": hidden_0, "hidden_last": hidden_last}

    def _attention(self, layer, x, cos, sin, mask, cache):
        c = self.cfg
        B, T, _ = x.shape
        p = f"model.layers.{layer}.self_attn"
        w = self.w
        q = linear(x, w, p, "q_proj", c.qkv_bias)
        k = linear(x, w, p, "k_proj", c.qkv_bias)
        v = linear(x, w, p, "v_proj", c.qkv_bias)
        q = q.view(B, T, c.num_heads, c.head_dim)     # [B, T, H, D]
        k = k.view(B, T, c.num_kv_heads, c.head_dim)  # [B, T, Hkv, D]
        v = v.view(B, T, c.num_kv_heads, c.head_dim)
        if c.qk_norm:
            # Qwen3: RMSNorm over each head's D features, before RoPE.
            q = rms_norm(q, w[f"{p}.q_norm.weight"], c.rms_norm_eps)
            k = rms_norm(k, w[f"{p}.k_norm.weight"], c.rms_norm_eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, T, D]
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.append(layer, k, v)  # [B, Hkv, S, D]
        # GQA: each kv head serves H / Hkv consecutive query heads.
        groups = c.num_heads // c.num_kv_heads
        k = k.repeat_interleave(groups, dim=1)  # [B, H, S, D]
        v = v.repeat_interleave(groups, dim=1)
        scores = (q @ k.transpose(2, 3)) / math.sqrt(c.head_dim) + mask  # [B, H, T, S]
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        out = (probs @ v).transpose(1, 2).reshape(B, T, c.num_heads * c.head_dim)  # [B, T, H*D]
        return linear(out, w, p, "o_proj", c.o_bias)

    def _mlp(self, prefix, x):
        # SwiGLU: down(silu(gate(x)) * up(x))
        p, b = f"{prefix}.mlp", self.cfg.mlp_bias
        gate = linear(x, self.w, p, "gate_proj", b)
        up = linear(x, self.w, p, "up_proj", b)
        return linear(F.silu(gate) * up, self.w, p, "down_proj", b)

    def decode_with_cache(self, input_ids, prefill_len, step_rope_seq_len=None):
        """Prefill the first prefill_len tokens, then feed the rest one token at a time.
        Returns logits [B, T - prefill_len, V] for the fed-one-at-a-time tokens.
        Dynamic RoPE: every call uses seq_len = (cached + new tokens); keys already in the cache
        keep the rotation they were stored with (as HF's DynamicCache does).
        step_rope_seq_len overrides the decode steps' seq_len (only used to model wrong implementations)."""
        cache = KvCache(self.cfg.num_layers)
        self.forward(input_ids[:, :prefill_len], cache)
        steps = []
        for t in range(prefill_len, input_ids.shape[1]):
            steps.append(self.forward(input_ids[:, t:t + 1], cache, rope_seq_len=step_rope_seq_len)["logits"])
        return torch.cat(steps, dim=1)
