"""Golden values for the reward model on the real stories260K checkpoint
(tests/TuneSharp.Training.Tests/Losses/RewardObjectiveGoldenTests.cs; fixture tests/fixtures/preference/reward_stories260k.json).

Independent of the C# code: the decoder is tools/golden/reference.py (run with gradients), the head and pooling are
written here from Hugging Face's LlamaForSequenceClassification (score = Linear(hidden, 1, bias=False) on the final
normed hidden state; pooled at the rightmost token != pad_token_id, argmax(arange(T) * (ids != pad))), the loss from
TRL's RewardTrainer: mean over pairs of -logsigmoid(r_chosen - r_rejected - margin)
+ center_rewards_coefficient * mean((r_chosen + r_rejected)^2).

Rows are prompt + completion, the P chosen rows then the P rejected rows, right-padded with the pad id to the longest
row (as PairDataSetup.Collate). The head weight is drawn here (N(0, 0.02), fp32) and stored in the fixture.

Run: /usr/bin/python3 tools/golden_pref/make_reward_golden.py [--fixtures /work/shared/fixtures] > tests/fixtures/preference/reward_stories260k.json
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from reference import DecoderReference  # noqa: E402
from safetensors_io import load_file  # noqa: E402

PAD = 2  # stories260K has no pad token: the EOS id, as TRL and TuneSharp fall back to
CENTER = 0.01
# (prompt, chosen completion, rejected completion): token ids < 512, no pad id inside a row, ragged lengths.
PAIRS = [
    ([1, 403, 261, 378], [300, 289, 46], [333, 270, 271, 272, 40]),
    ([1, 89, 90, 91, 92, 93], [120, 121], [122]),
    ([1, 500], [17, 18, 19, 20, 21, 22], [23, 24, 25]),
]
MARGINS = [0.5, 0.0, 1.25]
# Gradients checked besides the head's: the final norm and one attention row of the first layer.
CHECKED = ["model.norm.weight", "model.layers.0.self_attn.q_proj.weight"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default="/work/shared/fixtures")
    args = ap.parse_args()
    d = os.path.join(args.fixtures, "models", "stories260K-hf")
    with open(os.path.join(d, "config.json")) as f:
        config = json.load(f)
    ref = DecoderReference(config, load_file(os.path.join(d, "model.safetensors")))
    for name in CHECKED:
        ref.w[name] = ref.w[name].clone().requires_grad_(True)

    torch.manual_seed(1234)
    head = (torch.randn(1, config["hidden_size"]) * config["initializer_range"]).requires_grad_(True)  # score.weight [1, C]

    rows = [p + c for p, c, _ in PAIRS] + [p + r for p, _, r in PAIRS]
    T = max(len(r) for r in rows)
    ids = torch.tensor([r + [PAD] * (T - len(r)) for r in rows])  # [2P, T]

    # The reference forward is decorated with no_grad; run its undecorated body to get gradients.
    out = DecoderReference.forward.__wrapped__(ref, ids)
    hidden = out["hidden_last"]  # [2P, T, C]
    non_pad = (ids != PAD).long()
    last = (torch.arange(T) * non_pad).argmax(-1)  # [2P]
    pooled = hidden[torch.arange(ids.shape[0]), last]  # [2P, C]
    scores = F.linear(pooled, head).squeeze(-1)  # [2P]
    P = len(PAIRS)
    rc, rr = scores[:P], scores[P:]
    margin = torch.tensor(MARGINS)
    losses = -F.logsigmoid(rc - rr - margin)
    loss = losses.mean() + CENTER * ((rc + rr) ** 2).mean()
    loss.backward()

    result = {
        "pad_id": PAD,
        "center_rewards_coefficient": CENTER,
        "pairs": [{"prompt": p, "chosen": c, "rejected": r, "margin": m} for (p, c, r), m in zip(PAIRS, MARGINS)],
        "head": head.detach().reshape(-1).tolist(),
        "last_index": last.tolist(),
        "scores": scores.detach().tolist(),
        "pair_losses": losses.detach().tolist(),
        "loss": loss.item(),
        "accuracy": (rc > rr).float().mean().item(),
        "grads": {"score.weight": head.grad.reshape(-1).tolist(),
                  "model.norm.weight": ref.w["model.norm.weight"].grad.reshape(-1).tolist(),
                  "model.layers.0.self_attn.q_proj.weight[0]": ref.w["model.layers.0.self_attn.q_proj.weight"].grad[0].tolist()},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
