#!/usr/bin/env python3
"""Writes the example datasets the configs in examples/ name besides the quickstart data:

  examples/data/alpaca_sample.json  240 Alpaca-style records with renamed columns {question, answer} (lora.yaml maps
                                    them with `columns: {instruction: question, output: answer}`): small arithmetic and
                                    word tasks whose answers can be checked exactly.
  examples/data/corpus.txt          ~60 KB of plain English prose in paragraphs (pretrain.yaml): short notes about
                                    measuring things, written from templates.

Deterministic (fixed seed, standard library only): `/usr/bin/python3 tools/make_example_data.py` rewrites both files
byte for byte. The text is generated here, so it carries no third-party licence.
"""
import json
import random
from pathlib import Path

SEED = 4321
OUT = Path(__file__).resolve().parent.parent / "examples" / "data"
WORDS = ["apple", "river", "garden", "window", "pencil", "rocket", "button", "candle", "basket", "forest", "planet", "ladder"]
NAMES = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gus", "Hana", "Ivo", "Jill"]


def alpaca(rng):
    kind = rng.choice(["add", "mul", "reverse", "count", "upper"])
    if kind == "add":
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        return f"What is {a} plus {b}?", str(a + b)
    if kind == "mul":
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        return f"Multiply {a} by {b}.", str(a * b)
    word = rng.choice(WORDS)
    if kind == "reverse":
        return f"Write the word '{word}' backwards.", word[::-1]
    if kind == "count":
        return f"How many letters does the word '{word}' have?", str(len(word))
    return f"Write '{word}' in capital letters.", word.upper()


def paragraph(rng):
    name, other = rng.sample(NAMES, 2)
    n, m = rng.randint(2, 40), rng.randint(2, 9)
    thing = rng.choice(WORDS)
    unit = rng.choice([("metres", "centimetres", 100), ("kilograms", "grams", 1000), ("litres", "millilitres", 1000)])
    sentences = [
        f"{name} measured the {thing} in the morning and wrote down {n} {unit[0]}.",
        f"That is {n * unit[2]} {unit[1]}, because one of the first is {unit[2]} of the second.",
        f"{other} checked the number twice and agreed with it.",
        f"Later they found {m} more, so the notebook said {n + m} {unit[0]} in all.",
        f"Careful notes make small mistakes easy to find, {name} said, and {other} nodded.",
        f"The {thing} stayed on the table until the evening, when the light turned orange.",
    ]
    tail = sentences[2:]
    rng.shuffle(tail)
    return " ".join((sentences[:2] + tail)[: rng.randint(4, 6)])


def main():
    rng = random.Random(SEED)
    records = []
    seen = set()
    while len(records) < 240:
        q, a = alpaca(rng)
        if q in seen:
            continue
        seen.add(q)
        records.append({"question": q, "input": "", "answer": a})
    (OUT / "alpaca_sample.json").write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    paragraphs = []
    while sum(len(p) + 2 for p in paragraphs) < 60_000:
        paragraphs.append(paragraph(rng))
    (OUT / "corpus.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
