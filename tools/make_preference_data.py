#!/usr/bin/env python3
"""Writes examples/data/preference_sample.jsonl, the preference pairs examples/dpo.yaml trains on.

200 pairs in the OpenAI DPO JSONL format ({input: {messages}, preferred_output, non_preferred_output}): small
arithmetic and word questions. The preferred answer is correct and polite ("The answer is 12."), the rejected one is
wrong by a small amount or a wrong word, in the same words, so the pair differs in the one thing DPO should learn.
About a quarter of the prompts start with a system message.

Deterministic (fixed seed, standard library only): `/usr/bin/python3 tools/make_preference_data.py` rewrites the file
byte for byte. The text is generated here, so it carries no third-party licence.
"""
import json
import random
from pathlib import Path

SEED = 2718
COUNT = 200
OUT = Path(__file__).resolve().parent.parent / "examples" / "data" / "preference_sample.jsonl"
WORDS = ["apple", "river", "garden", "window", "pencil", "rocket", "button", "candle", "basket", "forest", "planet", "ladder"]
SYSTEM = "You answer short questions with one correct sentence."


def question(rng):
    kind = rng.choice(["add", "mul", "reverse", "count"])
    if kind == "add":
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        wrong = a + b + rng.choice([-2, -1, 1, 2, 10])
        return f"What is {a} plus {b}?", str(a + b), str(wrong)
    if kind == "mul":
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        return f"Multiply {a} by {b}.", str(a * b), str(a * b + rng.choice([-a, a, 1, -1]))
    word = rng.choice(WORDS)
    if kind == "reverse":
        other = rng.choice([w for w in WORDS if w != word])
        return f"Write the word '{word}' backwards.", word[::-1], other[::-1]
    return f"How many letters does the word '{word}' have?", str(len(word)), str(len(word) + rng.choice([-1, 1, 2]))


def main():
    rng = random.Random(SEED)
    lines, seen = [], set()
    while len(lines) < COUNT:
        q, good, bad = question(rng)
        if q in seen:
            continue
        seen.add(q)
        messages = ([{"role": "system", "content": SYSTEM}] if rng.random() < 0.25 else []) + [{"role": "user", "content": q}]
        lines.append(json.dumps({
            "input": {"messages": messages},
            "preferred_output": [{"role": "assistant", "content": f"The answer is {good}."}],
            "non_preferred_output": [{"role": "assistant", "content": f"The answer is {bad}."}],
        }, ensure_ascii=False))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
