#!/usr/bin/python3
"""Golden values for TuneSharp.Graders' text_similarity metrics (CI never runs this; it reads the JSON).

Run: /usr/bin/python3 tools/graders/similarity_goldens.py > tests/TuneSharp.Graders.Tests/Fixtures/similarity-goldens.json

References:
- bleu: nltk.translate.bleu_score.sentence_bleu, weights (1/4,)*4, SmoothingFunction().method3 (Debian python3-nltk 3.8)
- gleu: nltk.translate.gleu_score.sentence_gleu (min_len 1, max_len 4)
- fuzzy_match: rapidfuzz.fuzz.ratio / 100 = normalized Indel similarity = 2*LCS/(len(a)+len(b)) over code points,
  written out here (rapidfuzz is not packaged for Debian 12)
- rouge_1..5, rouge_l: rouge_score's RougeScorer(use_stemmer=False) F-measure, written out here following
  rouge_score/tokenize.py and rouge_scorer.py (_score_ngrams, _score_lcs) since rouge_score is not packaged
Tokens for BLEU/GLEU: re.findall(r"\\w+|[^\\w\\s]", text) (the same regex as TextTokens.Words).
"""
import collections
import json
import re
import sys

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from nltk.translate.gleu_score import sentence_gleu


def words(text):
    return re.findall(r"\w+|[^\w\s]", text)


def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[len(b)]


def fuzzy_ratio(a, b):
    total = len(a) + len(b)
    return 1.0 if total == 0 else 2.0 * lcs(a, b) / total


def rouge_tokens(text):
    # rouge_score.tokenize.tokenize without a stemmer.
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return [t for t in re.split(r"\s+", text) if re.match(r"^[a-z0-9]+$", t)]


def ngrams(tokens, n):
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def fmeasure(p, r):
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def rouge_n(prediction, target, n):
    pred, targ = ngrams(rouge_tokens(prediction), n), ngrams(rouge_tokens(target), n)
    overlap = sum(min(c, targ[g]) for g, c in pred.items())
    return fmeasure(overlap / max(sum(pred.values()), 1), overlap / max(sum(targ.values()), 1))


def rouge_l(prediction, target):
    pred, targ = rouge_tokens(prediction), rouge_tokens(target)
    if not pred or not targ:
        return 0.0
    k = lcs(pred, targ)
    return fmeasure(k / len(pred), k / len(targ))


CASES = [
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("The cat sat on the mat.", "The cat is on the mat."),
    ("the quick brown fox jumps over the lazy dog", "The quick brown dog jumps over the lazy fox"),
    ("Paris", "The capital of France is Paris."),
    ("It is a guide to action which ensures that the military always obeys the commands of the party.",
     "It is a guide to action that ensures that the military will forever heed Party commands."),
    ("completely unrelated words here", "nothing in common at all"),
    ("", "reference text"),
    ("hypothesis text", ""),
    ("", ""),
    ("a a a a a a a", "a a b"),
    ("42", "42"),
    ("The answer is 42, because 6 * 7 = 42!", "6 times 7 is 42"),
    ("kitten", "sitting"),
    ("Café au lait, s'il vous plaît.", "Un café au lait s'il vous plait"),
    ("one two three four five six", "one two three four five six seven"),
    ("Hello, World", "hello world"),
    ("yes", "yes"),
]


def main():
    smooth = SmoothingFunction().method3
    out = []
    for hyp, ref in CASES:
        h, r = words(hyp), words(ref)
        row = {
            "input": hyp,
            "reference": ref,
            "fuzzy_match": fuzzy_ratio(hyp, ref),
            "bleu": float(sentence_bleu([r], h, weights=(0.25, 0.25, 0.25, 0.25), smoothing_function=smooth)),
            "gleu": float(sentence_gleu([r], h, min_len=1, max_len=4)),
            "rouge_l": rouge_l(hyp, ref),
        }
        for n in range(1, 6):
            row[f"rouge_{n}"] = rouge_n(hyp, ref, n)
        out.append(row)
    json.dump({"generator": "tools/graders/similarity_goldens.py", "cases": out}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
