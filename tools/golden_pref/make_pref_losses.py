"""Golden values for the preference losses (tests/TuneSharp.Training.Tests/Losses/PreferenceLossGoldenTests.cs; fixture tests/fixtures/preference/losses.json).

Each loss is written here from its paper / TRL's documented formula in plain torch (independently of the C# code):
per-pair losses, rewards and the gradient of sum(losses) with respect to every log-prob input, on fixed inputs.
Run: /usr/bin/python3 tools/golden_pref/make_pref_losses.py > tests/fixtures/preference/losses.json
"""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)
P = 6
# Sequence log-probs: sums are large negatives, per-token means in (-4, -0.05).
sums = {k: (-40 * torch.rand(P, dtype=torch.float64) - 2) for k in ["pc", "pr", "rc", "rr"]}
means = {k: (-4 * torch.rand(P, dtype=torch.float64) - 0.05) for k in ["c", "r"]}
desirable = torch.tensor([True, False, True, True, False, False])
kl_pairs = {k: (-40 * torch.rand(P, dtype=torch.float64) - 2) for k in ["p", "r"]}
scores = {k: torch.randn(P, dtype=torch.float64) for k in ["c", "r"]}
margin = torch.rand(P, dtype=torch.float64)


def run(fn, inputs):
    xs = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    losses, chosen, rejected = fn(**xs)
    losses.sum().backward()
    return {"losses": losses.tolist(), "chosen_rewards": chosen.detach().reshape(-1).tolist(),
            "rejected_rewards": rejected.detach().reshape(-1).tolist(),
            "grads": {k: (v.grad if v.grad is not None else torch.zeros_like(v)).tolist() for k, v in xs.items()}}


def dpo(kind, beta, ls):
    def f(pc, pr, rc, rr):
        h = (pc - rc) - (pr - rr)
        if kind == "sigmoid":
            l = -F.logsigmoid(beta * h) * (1 - ls) - F.logsigmoid(-beta * h) * ls
        elif kind == "robust":
            l = (-F.logsigmoid(beta * h) * (1 - ls) + F.logsigmoid(-beta * h) * ls) / (1 - 2 * ls)
        elif kind == "hinge":
            l = torch.relu(1 - beta * h)
        else:  # ipo
            l = (h - 1 / (2 * beta)) ** 2
        return l, beta * (pc - rc), beta * (pr - rr)
    return f


def simpo(beta, gamma, ls):
    def f(c, r):
        z = beta * (c - r) - gamma
        return -F.logsigmoid(z) * (1 - ls) - F.logsigmoid(-z) * ls, beta * c, beta * r
    return f


def orpo(beta):
    def f(c, r):
        log_odds = (c - r) - (torch.log1p(-torch.exp(c)) - torch.log1p(-torch.exp(r)))
        return -beta * F.logsigmoid(log_odds), beta * c, beta * r
    return f


def kto(beta, wd, wu):
    def f(p, r, kp, kr):
        kl = (kp - kr).mean().clamp(min=0).detach()
        lr = p - r
        good = wd * (1 - torch.sigmoid(beta * (lr - kl)))
        bad = wu * (1 - torch.sigmoid(beta * (kl - lr)))
        return torch.where(desirable, good, bad), beta * lr, kl.reshape(1)
    return f


def reward(with_margin):
    def f(c, r):
        d = c - r - (margin if with_margin else 0)
        return -F.logsigmoid(d), c, r
    return f


pairs = {"pc": sums["pc"], "pr": sums["pr"], "rc": sums["rc"], "rr": sums["rr"]}
# KTO: make the KL estimate positive so the clamp is not the whole story.
kto_in = {"p": sums["pc"], "r": sums["rc"], "kp": kl_pairs["p"] + 3, "kr": kl_pairs["r"]}
out = {
    "inputs": {**{k: v.tolist() for k, v in sums.items()}, "mc": means["c"].tolist(), "mr": means["r"].tolist(),
               "desirable": desirable.tolist(), "kp": kto_in["kp"].tolist(), "kr": kto_in["kr"].tolist(),
               "sc": scores["c"].tolist(), "sr": scores["r"].tolist(), "margin": margin.tolist()},
    "dpo_sigmoid": run(dpo("sigmoid", 0.1, 0.0), pairs),
    "dpo_sigmoid_smoothed": run(dpo("sigmoid", 0.1, 0.2), pairs),
    "dpo_robust": run(dpo("robust", 0.1, 0.2), pairs),
    "dpo_hinge": run(dpo("hinge", 0.1, 0.0), pairs),
    "dpo_ipo": run(dpo("ipo", 0.1, 0.0), {"pc": means["c"], "pr": means["r"], "rc": means["r"] * 0.9, "rr": means["c"] * 1.1}),
    "simpo": run(simpo(2.0, 0.5, 0.0), {"c": means["c"], "r": means["r"]}),
    "orpo": run(orpo(0.1), {"c": means["c"], "r": means["r"]}),
    "kto": run(kto(0.1, 1.0, 1.33), kto_in),
    "reward": run(reward(False), {"c": scores["c"], "r": scores["r"]}),
    "reward_margin": run(reward(True), {"c": scores["c"], "r": scores["r"]}),
}
print(json.dumps(out, indent=1))
