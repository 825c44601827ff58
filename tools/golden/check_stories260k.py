"""Sanity anchor for the reference: greedy-decode stories260K-hf and compare with llama2.c's output.

    /usr/bin/python3 tools/golden/check_stories260k.py [--fixtures /work/shared/fixtures]

Loads config.json + model.safetensors with our own reader, greedy-decodes from BOS (id 1) through
position 255 (256 positions, like llama2.c `run -t 0 -n 256`) with the KV cache, stops early on BOS,
decodes pieces from tokenizer.json ('▁' -> ' ', '<0xNN>' -> byte) and compares the text with
stories260K/expected_greedy_t0.txt. Also checks that the cached greedy logits equal a full no-cache
forward over the generated sequence. Prints PASS/FAIL; exit code 0 on PASS.
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import DecoderReference, KvCache  # noqa: E402
from safetensors_io import load_file  # noqa: E402

BOS = 1
STEPS = 256


def decode_pieces(ids, vocab):
    """Token ids -> text: '▁' is a space, '<0xNN>' is a raw byte; the first piece's leading space is dropped."""
    piece_of = {i: p for p, i in vocab.items()}
    out = bytearray()
    for n, i in enumerate(ids):
        piece = piece_of[i]
        m = re.fullmatch(r"<0x([0-9A-Fa-f]{2})>", piece)
        if m:
            out.append(int(m.group(1), 16))
            continue
        text = piece.replace("\u2581", " ")
        if n == 0 and text.startswith(" "):
            text = text[1:]
        out.extend(text.encode("utf-8"))
    return out.decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default="/work/shared/fixtures")
    args = ap.parse_args()
    hf_dir = os.path.join(args.fixtures, "models", "stories260K-hf")
    with open(os.path.join(hf_dir, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(hf_dir, "tokenizer.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    with open(os.path.join(args.fixtures, "models", "stories260K", "expected_greedy_t0.txt"), encoding="utf-8") as f:
        expected = f.read()

    model = DecoderReference(config, load_file(os.path.join(hf_dir, "model.safetensors")))
    cache = KvCache(model.cfg.num_layers)
    tokens = [BOS]
    step_logits = []
    token = BOS
    for _ in range(STEPS):  # feed positions 0..255; each step emits one token (llama2.c run.c loop)
        logits = model.forward(torch.tensor([[token]]), cache)["logits"][0, -1]
        step_logits.append(logits)
        token = int(torch.argmax(logits))
        if token == BOS:  # llama2.c treats BOS as the sequence delimiter
            break
        tokens.append(token)

    # The cached decode must agree with one full causal forward over the same tokens.
    fed = len(step_logits)  # step_logits[j] came from feeding tokens[j]
    full = model.forward(torch.tensor([tokens[:fed]]))["logits"][0]
    cache_err = (full - torch.stack(step_logits)).abs().max().item()

    text = decode_pieces(tokens[1:], vocab)
    ok_text = text.strip() == expected.strip()
    ok_cache = cache_err < 1e-4
    print(text)
    print(f"generated {len(tokens) - 1} tokens; cached-vs-full max |diff| = {cache_err:.2e}")
    if not ok_text:
        for n, (a, b) in enumerate(zip(text, expected)):
            if a != b:
                print(f"first difference at char {n}: got {text[n:n + 40]!r} expected {expected[n:n + 40]!r}")
                break
        else:
            print(f"length differs: got {len(text)} chars, expected {len(expected)}")
    print("PASS" if ok_text and ok_cache else "FAIL")
    return 0 if ok_text and ok_cache else 1


if __name__ == "__main__":
    sys.exit(main())
