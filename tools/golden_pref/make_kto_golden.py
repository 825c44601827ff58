"""Golden values of the KTO objective on the real stories260K model (tests/TuneSharp.Training.Tests/Losses/KtoGoldenTests.cs;
fixtures tests/fixtures/preference/kto_stories260k/).

Written from the KTO paper (Ethayarajh et al. 2024) and TRL's KTOTrainer (kto_loss, _get_kl_dataset), independently of
the C# code, on the decoder reference of tools/golden/reference.py with PEFT's LoRA formula (tools/golden_peft):
  policy = stories260K + LoRA (random A, B != 0, written as a PEFT adapter), reference = stories260K (adapters off);
  log pi(y|x) = sum over the completion tokens of log softmax(logits)[token];
  KL rows: completion i after the prompt of example (i + 1) mod n (TRL's +1 offset within the batch);
  z0 = max(0, mean_i(log pi(y'_i|x'_i) - log pi_ref(y'_i|x'_i))), detached (policy KL pass without gradients);
  desirable: w_d (1 - sigmoid(beta (r - z0))), undesirable: w_u (1 - sigmoid(beta (z0 - r))), r = log pi - log pi_ref;
  loss = mean over the examples; rewards beta r; metrics as TRL logs them (means per label, margins = difference of means).
Also the gradients of the loss w.r.t. a few LoRA matrices. Everything fp32, single thread, one sequence at a time (no padding).

Run: /usr/bin/python3 tools/golden_pref/make_kto_golden.py [--fixtures /work/shared/fixtures]   (deterministic)
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "golden"))
sys.path.insert(0, os.path.join(REPO, "tools", "golden_peft"))
import reference  # noqa: E402
import safetensors_io  # noqa: E402
import make_peft_fixture as peft  # noqa: E402

OUT = os.path.join(REPO, "tests", "fixtures", "preference", "kto_stories260k")
BETA, DESIRABLE_WEIGHT, UNDESIRABLE_WEIGHT = 0.1, 1.0, 1.5
GRADS = ["model.layers.0.self_attn.q_proj.lora_A", "model.layers.0.self_attn.q_proj.lora_B",
         "model.layers.4.self_attn.v_proj.lora_A", "model.layers.4.self_attn.v_proj.lora_B"]


def examples(gen):
    """Five fixed examples: BOS + random prompt tokens, random completion tokens, labels with both values."""
    out = []
    for i, desirable in enumerate([True, False, True, False, False]):
        prompt = [1] + torch.randint(3, 512, (4 + i,), generator=gen).tolist()
        completion = torch.randint(3, 512, (6 - i % 3,), generator=gen).tolist()
        out.append({"prompt": prompt, "completion": completion, "desirable": desirable})
    return out


def seq_logp(model, prompt, completion, grad):
    """log pi(completion | prompt): sum over the completion tokens of the log-softmax of the logits before each."""
    ids = torch.tensor([prompt + completion])
    forward = reference.DecoderReference.forward.__wrapped__ if grad else reference.DecoderReference.forward
    logits = forward(model, ids)["logits"][0]                                   # [T, V]
    logp = torch.log_softmax(logits.float(), dim=-1)
    start = len(prompt)
    targets = torch.tensor(completion)
    return logp[start - 1:-1].gather(-1, targets[:, None]).sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default="/work/shared/fixtures")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model_dir = os.path.join(args.fixtures, "models", "stories260K-hf")
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    weights = safetensors_io.load_file(os.path.join(model_dir, "model.safetensors"))

    gen = torch.Generator().manual_seed(2024)
    cfg = peft.peft_config(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                           base_model_name_or_path="stories260K-hf")
    adapters = peft.make_adapters(cfg, weights, gen)
    for ad in adapters.values():
        ad["A"].requires_grad_(True)
        ad["B"].requires_grad_(True)
    data = examples(gen)
    n = len(data)

    base = reference.DecoderReference(config, weights)
    original = reference.linear
    policy_linear = peft.patched_linear(adapters)

    def logps(rows, use_policy, grad):
        reference.linear = policy_linear if use_policy else original
        try:
            with torch.set_grad_enabled(grad):
                return torch.stack([seq_logp(base, p, c, grad) for p, c in rows])
        finally:
            reference.linear = original

    rows = [(e["prompt"], e["completion"]) for e in data]
    kl_rows = [(data[(i + 1) % n]["prompt"], data[i]["completion"]) for i in range(n)]
    policy = logps(rows, True, True)                                            # [n] with gradients
    ref = logps(rows, False, False)
    kl = (logps(kl_rows, True, False) - logps(kl_rows, False, False)).mean().clamp(min=0).detach()
    desirable = torch.tensor([e["desirable"] for e in data])
    r = policy - ref
    good = DESIRABLE_WEIGHT * (1 - torch.sigmoid(BETA * (r - kl)))
    bad = UNDESIRABLE_WEIGHT * (1 - torch.sigmoid(BETA * (kl - r)))
    losses = torch.where(desirable, good, bad)
    loss = losses.mean()
    loss.backward()
    assert kl.item() > 0, "the adapters should give a positive KL estimate (the clamp would hide the KL rows)"

    rewards = (BETA * r).detach()
    chosen, rejected = rewards[desirable].mean().item(), rewards[~desirable].mean().item()
    metrics = {
        "rewards/chosen": chosen, "rewards/rejected": rejected, "rewards/margins": chosen - rejected,
        "logps/chosen": policy.detach()[desirable].mean().item(), "logps/rejected": policy.detach()[~desirable].mean().item(),
        "kl": kl.item(),
    }
    grads = {}
    for name in GRADS:
        key, part = name.rsplit(".", 1)
        grads[name + ".weight"] = adapters[key]["A" if part == "lora_A" else "B"].grad.tolist()

    os.makedirs(os.path.join(OUT, "adapter"), exist_ok=True)
    tensors = {}
    for key, ad in adapters.items():
        tensors[f"{peft.PREFIX}{key}.lora_A.weight"] = ad["A"].detach()
        tensors[f"{peft.PREFIX}{key}.lora_B.weight"] = ad["B"].detach()
    safetensors_io.save_file(tensors, os.path.join(OUT, "adapter", "adapter_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(OUT, "adapter", "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    golden = {
        "source": "tools/golden_pref/make_kto_golden.py",
        "beta": BETA, "desirable_weight": DESIRABLE_WEIGHT, "undesirable_weight": UNDESIRABLE_WEIGHT,
        "examples": data, "loss": loss.item(), "losses": losses.tolist(), "metrics": metrics, "grads": grads,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(json.dumps({"loss": loss.item(), **metrics}, indent=1))


if __name__ == "__main__":
    main()
