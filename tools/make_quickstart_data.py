#!/usr/bin/env python3
"""Writes examples/data/quickstart.jsonl (400 examples) and quickstart_val.jsonl (40, disjoint prompts).

The skill: answer every request with one compact JSON object {"answer": <value>, "unit": <string or null>}.
Four task families whose answers can be checked exactly (see examples/data/README.md):
  convert  "Convert 3 km to m"                          -> {"answer": 3000, "unit": "m"}   (powers of ten: copy digits, add zeros)
  count    "How many apples: Lily has 3 apples."         -> {"answer": 3, "unit": "apples"}
  color    "What color is the ball? Tom has a red ball." -> {"answer": "red", "unit": null}
  mood     "Classify the sentiment: I loved the park."   -> {"answer": "positive", "unit": null}
Deterministic (fixed seed, no dependencies): `python3 tools/make_quickstart_data.py` rewrites both files byte for byte.
"""
import json
import random
from pathlib import Path

SEED = 1234
TRAIN_PER_FAMILY, VAL_PER_FAMILY = 100, 10
OUT = Path(__file__).resolve().parent.parent / "examples" / "data"

SYSTEMS = [
    "Answer with a JSON object with the keys answer and unit.",
    "Reply only with JSON: {\"answer\": ..., \"unit\": ...}.",
    "You are a helpful assistant. Use the JSON answer format.",
]
NAMES = ["Tom", "Lily", "Sam", "Mia", "Ben", "Anna", "Max", "Sue", "Tim", "Lucy"]


def convert(rng):
    src, dst, factor = rng.choice([("km", "m", 1000), ("m", "cm", 100), ("cm", "mm", 10), ("kg", "g", 1000), ("L", "mL", 1000)])
    n = rng.randint(1, 99)
    prompt = rng.choice(["Convert {n} {s} to {d}", "How many {d} is {n} {s}?", "{n} {s} in {d}?"]).format(n=n, s=src, d=dst)
    return prompt, {"answer": n * factor, "unit": dst}


def count(rng):
    thing = rng.choice(["apples", "cats", "dogs", "balls", "books", "cookies", "birds", "toys", "cars", "flowers"])
    n = rng.randint(2, 12)
    name = rng.choice(NAMES)
    story = rng.choice(["{name} has {n} {t}.", "{name} saw {n} {t} in the park.", "There were {n} {t} on the table."])
    prompt = rng.choice(["How many {t}: ", "Count the {t}: "]).format(t=thing) + story.format(name=name, n=n, t=thing)
    return prompt, {"answer": n, "unit": thing}


def color(rng):
    c = rng.choice(["red", "blue", "green", "yellow", "pink", "black", "white", "brown"])
    thing = rng.choice(["ball", "hat", "car", "box", "cup", "kite", "dress", "bike"])
    name = rng.choice(NAMES)
    story = rng.choice(["{name} has a {c} {t}.", "{name} found a {c} {t} under the tree.", "The {t} was {c} and small."])
    prompt = f"What color is the {thing}? " + story.format(name=name, c=c, t=thing)
    return prompt, {"answer": c, "unit": None}


def mood(rng):
    positive = rng.random() < 0.5
    name = rng.choice(NAMES)
    thing = rng.choice(["the park", "the cake", "the game", "the trip", "the new toy", "the story", "the song", "the school"])
    if positive:
        sentence = rng.choice(["I loved {t}.", "{name} was so happy with {t}.", "{t} was fun and nice.", "We liked {t} a lot."])
    else:
        sentence = rng.choice(["I hated {t}.", "{name} was sad about {t}.", "{t} was bad and boring.", "We did not like {t}."])
    sentence = sentence.format(name=name, t=thing)
    sentence = sentence[0].upper() + sentence[1:]
    prompt = rng.choice(["Classify the sentiment: ", "Is this positive or negative? "]) + sentence
    return prompt, {"answer": "positive" if positive else "negative", "unit": None}


def unique_prompts(rng, family, n):
    """n distinct (prompt, answer) pairs of one family."""
    seen, out = set(), []
    while len(out) < n:
        prompt, answer = family(rng)
        if prompt not in seen:
            seen.add(prompt)
            out.append((prompt, answer))
    return out


def example(rng, prompt, answer):
    messages = [{"role": "system", "content": rng.choice(SYSTEMS)}] if rng.random() < 0.25 else []
    messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": json.dumps(answer)}]
    return {"messages": messages}


def main():
    rng = random.Random(SEED)
    train, val = [], []
    for family in (convert, count, color, mood):
        pairs = unique_prompts(rng, family, TRAIN_PER_FAMILY + VAL_PER_FAMILY)
        val += pairs[:VAL_PER_FAMILY]
        train += pairs[VAL_PER_FAMILY:]
    rng.shuffle(train)
    rng.shuffle(val)
    for name, pairs in (("quickstart.jsonl", train), ("quickstart_val.jsonl", val)):
        with open(OUT / name, "w", encoding="utf-8", newline="\n") as f:
            for prompt, answer in pairs:
                f.write(json.dumps(example(rng, prompt, answer), ensure_ascii=False) + "\n")
        print(f"{OUT / name}: {len(pairs)} examples")


if __name__ == "__main__":
    main()
