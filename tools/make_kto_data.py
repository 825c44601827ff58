#!/usr/bin/env python3
"""Writes examples/data/kto_sample.jsonl, the labelled completions examples/kto.yaml trains on.

240 examples in TRL's unpaired KTO format ({prompt: [messages], completion: [messages], label}): the small arithmetic
and word questions of tools/make_preference_data.py, each with ONE answer, correct and polite (label true) or wrong by a
small amount / a wrong word (label false). Every prompt appears once (unpaired data, as KTO allows); about 45% of the
examples are desirable, so examples/kto.yaml raises desirable_weight to balance the labels as the KTO authors advise.

Deterministic (fixed seed, standard library only): `/usr/bin/python3 tools/make_kto_data.py` rewrites the file byte for
byte. The text is generated here, so it carries no third-party licence.
"""
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_preference_data import SYSTEM, question  # noqa: E402

SEED = 3141
COUNT = 240
DESIRABLE = 0.45
OUT = Path(__file__).resolve().parent.parent / "examples" / "data" / "kto_sample.jsonl"


def main():
    rng = random.Random(SEED)
    lines, seen = [], set()
    while len(lines) < COUNT:
        q, good, bad = question(rng)
        if q in seen:
            continue
        seen.add(q)
        prompt = ([{"role": "system", "content": SYSTEM}] if rng.random() < 0.25 else []) + [{"role": "user", "content": q}]
        label = rng.random() < DESIRABLE
        answer = good if label else bad
        lines.append(json.dumps({
            "prompt": prompt,
            "completion": [{"role": "assistant", "content": f"The answer is {answer}."}],
            "label": label,
        }, ensure_ascii=False))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
