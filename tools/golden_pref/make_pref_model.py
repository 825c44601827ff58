"""Golden values for the pair objectives on the real stories260K model (tests/TuneSharp.Training.Tests/Losses/
PairObjectiveGoldenTests.cs; fixture tests/fixtures/preference/model_objectives.json).

Independent of the C# code: the model is tools/golden/reference.py (plain torch, fp32), each loss is written from its
paper / TRL's documented formula, and the log-probs are computed per sequence without padding. For fixed token pairs
(prompt, chosen answer, rejected answer) it records, per case, the loss summed over the pairs (what a C# objective
returns for one micro-batch), every metric (mean over the pairs, TRL names) and the gradient of that sum with respect
to a few named parameters.

- DPO (sigmoid, ipo, hinge, robust, sigmoid + RPO): the policy is the model with LoRA (r 4, alpha 8) on q_proj and
  v_proj of every layer, A and B set by a formula (below) so policy != reference; the reference is the model without
  adapters. Gradients: lora_B of layer 0 q_proj, lora_A row 0 of layer 2 v_proj.
- ORPO and SimPO: the full model, no reference. Gradients: rows 0-1 of layer 1 q_proj and the final norm.

LoRA factors: value(k) = 0.05 * sin(0.37 k + seed) for A (cos for B), k the row-major flat index, seed = 2 layer + t
(t = 0 for q_proj, 1 for v_proj), computed in float64 and rounded to float32. W_eff = W + (alpha / r) B A.

Run: /usr/bin/python3 tools/golden_pref/make_pref_model.py [--fixtures /work/shared/fixtures]
       > tests/fixtures/preference/model_objectives.json
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from reference import DecoderReference  # noqa: E402
from safetensors_io import load_file  # noqa: E402

R, ALPHA, TARGETS = 4, 8.0, ("q_proj", "v_proj")

def make_pairs(model):
    """Fixed pairs of token ids (vocab 512; 1 = <s>): answers the model finds likely (its greedy story from BOS, mean
    log-prob near -1) and unlikely (random ids, near -18), so log(1 - p) in ORPO's odds matters; one pair prefers the
    unlikely answer."""
    gen = torch.Generator().manual_seed(12)
    rand = lambda n: torch.randint(3, 512, (n,), generator=gen).tolist()  # noqa: E731
    g = [1]
    with torch.no_grad():
        for _ in range(24):
            g.append(int(model.forward(torch.tensor([g]))["logits"][0, -1].argmax()))
    return [(g[:5], g[5:11], rand(4)), (g[:8], rand(3), g[8:15]), ([1] + rand(3), g[4:12], g[12:17])]


def lora_factor(shape, seed, fn):
    k = torch.arange(shape[0] * shape[1], dtype=torch.float64).reshape(shape)
    return (0.05 * fn(0.37 * k + seed)).float()


def forward_logits(model, input_ids):
    # reference.py's forward is wrapped in no_grad; its undecorated body keeps the graph.
    return DecoderReference.forward.__wrapped__(model, torch.tensor([input_ids]))["logits"][0]  # [T, V]


def answer_logp(model, prompt, answer):
    """(sum, tokens) of log p(answer | prompt): each answer token scored by the position before it."""
    row = prompt + answer
    logp = torch.log_softmax(forward_logits(model, row).float(), dim=-1)  # [T, V]
    start = len(prompt)
    targets = torch.tensor(row[start:])
    picked = logp[start - 1:len(row) - 1].gather(1, targets[:, None])[:, 0]
    return picked.sum(), len(answer)


def scores(model):
    """Per-pair (chosen sum, rejected sum, chosen tokens, rejected tokens) tensors [P]."""
    c = [answer_logp(model, p, a) for p, a, _ in PAIRS]
    r = [answer_logp(model, p, b) for p, _, b in PAIRS]
    return (torch.stack([x[0] for x in c]), torch.stack([x[0] for x in r]),
            torch.tensor([x[1] for x in c], dtype=torch.float32), torch.tensor([x[1] for x in r], dtype=torch.float32))


def common(chosen_rewards, rejected_rewards, chosen_logp, rejected_logp):
    return {
        "rewards/chosen": chosen_rewards.mean().item(),
        "rewards/rejected": rejected_rewards.mean().item(),
        "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
        "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
        "logps/chosen": chosen_logp.mean().item(),
        "logps/rejected": rejected_logp.mean().item(),
    }


def dpo_case(policy, reference, kind, beta, ls=0.0, rpo_alpha=None, length_normalize=False):
    pcs, prs, ct, rt = scores(policy)
    with torch.no_grad():
        rcs, rrs, _, _ = scores(reference)
    # IPO on per-token means (TRL), the others on sums unless length-normalised (log-ratios of per-token means)
    mean = kind == "ipo" or length_normalize
    pc, pr = (pcs / ct, prs / rt) if mean else (pcs, prs)
    rc, rr = (rcs / ct, rrs / rt) if mean else (rcs, rrs)
    h = (pc - rc) - (pr - rr)
    if kind == "sigmoid":
        losses = -(1 - ls) * F.logsigmoid(beta * h) - ls * F.logsigmoid(-beta * h)
    elif kind == "robust":  # Chowdhury et al. 2024
        losses = (-(1 - ls) * F.logsigmoid(beta * h) + ls * F.logsigmoid(-beta * h)) / (1 - 2 * ls)
    elif kind == "hinge":  # SLiC
        losses = torch.relu(1 - beta * h)
    else:  # ipo, Azar et al. eq. 17
        losses = (h - 1 / (2 * beta)) ** 2
    total = losses.sum()
    metrics = common(beta * (pc - rc).detach(), beta * (pr - rr).detach(), pc.detach(), pr.detach())
    if rpo_alpha is not None:
        # TRL's RPO: alpha x NLL over all chosen tokens of the batch, added once per pair in a summed loss.
        nll = -pcs.sum() / ct.sum()
        total = total + rpo_alpha * len(PAIRS) * nll
        metrics["nll_loss"] = nll.item()
    return total, metrics


def orpo_case(policy, beta):
    cs, rs, ct, rt = scores(policy)
    c, r = cs / ct, rs / rt  # per-token mean log-probs (paper eq. 2-4)
    log_odds = (c - r) - (torch.log(1 - torch.exp(c)) - torch.log(1 - torch.exp(r)))
    nll = -c  # SFT term per pair: the chosen answer's mean NLL
    total = (nll - beta * F.logsigmoid(log_odds)).sum()
    metrics = common(beta * c.detach(), beta * r.detach(), c.detach(), r.detach())
    metrics["nll_loss"] = nll.mean().item()
    metrics["log_odds_ratio"] = F.logsigmoid(log_odds).mean().item()
    metrics["log_odds_chosen"] = log_odds.mean().item()
    return total, metrics


def simpo_case(policy, beta, gamma, ls):
    cs, rs, ct, rt = scores(policy)
    c, r = cs / ct, rs / rt
    z = beta * (c - r) - gamma  # TRL: beta * ((c - r) - gamma / beta)
    total = (-(1 - ls) * F.logsigmoid(z) - ls * F.logsigmoid(-z)).sum()
    metrics = common(beta * c.detach(), beta * r.detach(), c.detach(), r.detach())
    metrics["nll_loss"] = (-c).mean().item()
    return total, metrics


def grads(leaves, total):
    """The first n values (row-major) of d total / d leaf, per name; leaves: name -> (tensor, n)."""
    for t, _ in leaves.values():
        t.grad = None
    total.backward()
    return {name: t.grad.reshape(-1)[:n].tolist() for name, (t, n) in leaves.items()}


def with_weights(cfg, w):
    """A reference model over the weight dict w as given (no copy, no float cast: keeps the autograd graph)."""
    m = object.__new__(DecoderReference)
    m.cfg, m.w = cfg, w
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default="/work/shared/fixtures")
    args = ap.parse_args()
    torch.set_num_threads(1)
    hf = os.path.join(args.fixtures, "models", "stories260K-hf")
    with open(os.path.join(hf, "config.json")) as f:
        config = json.load(f)
    base = load_file(os.path.join(hf, "model.safetensors"))
    reference = DecoderReference(config, base)
    layers = reference.cfg.num_layers
    global PAIRS
    PAIRS = make_pairs(reference)

    # ---- DPO family: LoRA policy vs the model without adapters
    factors = {}
    for l in range(layers):
        for t, target in enumerate(TARGETS):
            w = base[f"model.layers.{l}.self_attn.{target}.weight"]
            a = lora_factor((R, w.shape[1]), 2 * l + t, torch.sin).requires_grad_(True)
            b = lora_factor((w.shape[0], R), 2 * l + t, torch.cos).requires_grad_(True)
            factors[(l, target)] = (a, b)

    def lora_policy():
        w = dict(base)
        for (l, target), (a, b) in factors.items():
            key = f"model.layers.{l}.self_attn.{target}.weight"
            w[key] = base[key] + (ALPHA / R) * (b @ a)
        return with_weights(reference.cfg, w)

    dpo_leaves = {"model.layers.0.self_attn.q_proj.lora_B.weight": (factors[(0, "q_proj")][1], 256),
                  "model.layers.2.self_attn.v_proj.lora_A.weight": (factors[(2, "v_proj")][0], 64)}
    cases = {}
    for name, kw in [("dpo_sigmoid", dict(kind="sigmoid", beta=0.1)),
                     ("dpo_ipo", dict(kind="ipo", beta=0.1)),
                     ("dpo_hinge", dict(kind="hinge", beta=0.1)),
                     ("dpo_robust", dict(kind="robust", beta=0.1, ls=0.1)),
                     ("dpo_rpo", dict(kind="sigmoid", beta=0.1, rpo_alpha=0.5)),
                     ("dpo_length_normalized", dict(kind="sigmoid", beta=0.5, length_normalize=True))]:
        total, metrics = dpo_case(lora_policy(), reference, **kw)
        cases[name] = {"settings": {k: v for k, v in kw.items()}, "policy": "lora", "loss_sum": total.item(),
                       "metrics": metrics, "grads": grads(dpo_leaves, total)}

    # ---- reference-free: the full model
    full_leaves = {"model.layers.1.self_attn.q_proj.weight": 128, "model.norm.weight": 64}
    for name, fn, kw in [("orpo", orpo_case, dict(beta=0.1)),
                         ("orpo_beta_0.5", orpo_case, dict(beta=0.5)),
                         ("simpo", simpo_case, dict(beta=2.0, gamma=0.5, ls=0.0)),
                         ("simpo_smoothed", simpo_case, dict(beta=2.0, gamma=1.0, ls=0.1))]:
        w = {k: v.clone().requires_grad_(k in full_leaves) for k, v in base.items()}
        leaves = {k: (w[k], n) for k, n in full_leaves.items()}
        total, metrics = fn(with_weights(reference.cfg, w), **kw)
        cases[name] = {"settings": kw, "policy": "full", "loss_sum": total.item(), "metrics": metrics, "grads": grads(leaves, total)}

    out = {"model": "stories260K-hf", "lora": {"r": R, "alpha": ALPHA, "targets": list(TARGETS), "formula": "0.05*sin(0.37k+seed) A, 0.05*cos B, seed=2*layer+t"},
           "pairs": [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in PAIRS], "cases": cases}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
