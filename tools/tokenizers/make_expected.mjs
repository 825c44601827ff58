// Generates the tokenizer reference fixtures with an independent implementation: npm @huggingface/tokenizers
// (tokenizers.js, a pure-JS port of HF tokenizers). Writes tests/fixtures/tokenizers/corpus.json and
// tests/fixtures/tokenizers/<name>.expected.json (ids with/without special tokens, decodes with/without skipping).
//
// How to run (CI never runs this; the outputs are committed):
//   mkdir -p /tmp/tok-ref && cd /tmp/tok-ref && npm init -y && npm install @huggingface/tokenizers@0.2.0
//   cd <repo> && NODE_PATH=/tmp/tok-ref/node_modules node tools/tokenizers/make_expected.mjs [fixturesDir]
// fixturesDir defaults to ../shared/fixtures.
//
// Where tokenizers.js would differ from Python transformers (the semantics TuneSharp follows), this script sets it up
// as transformers does:
//  - gpt2 ships vocab.json + merges.txt only: the tokenizer.json is built here as transformers' GPT2 converter does
//    (byte-level BPE, GPT-2 regex, no prefix space, <|endoftext|> special) and clean_up_tokenization_spaces is false
//    (transformers' default since 4.45 when tokenizer_config.json is absent; tokenizers.js would default to true).
//  - Llama-2 / stories260K: BOS comes from the TemplateProcessing post-processor, which agrees with add_bos_token=true.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? "/tmp/tok-ref/node_modules", "x.js"));
const { Tokenizer } = require("@huggingface/tokenizers");

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const fixtures = path.resolve(process.argv[2] ?? path.join(repo, "../shared/fixtures"));
const outDir = path.join(repo, "tests/fixtures/tokenizers");

const gsm8k = fs.readFileSync(path.join(fixtures, "datasets/gsm8k/train.jsonl"), "utf8").split("\n").filter(Boolean).map(JSON.parse);
const corpus = [
  "",
  "Hello world",
  "Hello, world! How are you today?",
  "The quick brown fox jumps over the lazy dog.",
  "Once upon a time",
  " leading space",
  "trailing space ",
  "  two leading spaces and two trailing  ",
  "a   b",
  "\n\n\t",
  "line one\nline two\r\nline three\n",
  "tabs\tand\t\tmore\ttabs",
  " ",
  "12345 3.14",
  "1234567890 -42 +7 1e-5 0x1F 3,000,000",
  "I'm sure you're right, they've said it's OK. DON'T SHOUT, I'LL listen.",
  "isn't won't can't it ' s a ' test , and . or ? !",
  "def add(a, b):\n    return a + b\n",
  "for (int i = 0; i < n; ++i) { sum += x[i] * 2; }",
  "const x = {\"key\": [1, 2, 3], 'y': null}; // comment",
  "<html><body><p class=\"x\">Hi &amp; bye</p></body></html>",
  "https://example.com/path?query=1&b=2#frag",
  "café naïve résumé façade Zürich Ångström",
  "e\u0301 A\u030A o\u0308 decomposed accents",
  "\uF900 \u212B \u2126 compatibility and singleton characters",
  "Ελληνικά, русский язык, עברית",
  "😀 👍🏽 🎉🎉",
  "👨‍👩‍👧‍👦 family and 🏳️‍🌈 flag",
  "日本語のテキストです。",
  "中文：你好，世界！",
  "한국어 문장입니다",
  "\u1112\u1161\u11AB decomposed Hangul",
  "العربية: مرحبا بالعالم",
  "हिन्दी पाठ",
  "𝐀𝐁𝐂 𝟏𝟐𝟑 𠀀𠀁 supplementary letters and digits",
  "mixed: abc123def 4x4 x86_64 α+β=γ",
  "!!!??? ... --- *** ___ ===",
  "\u00A0non-breaking\u2003em space\u3000ideographic space",
  "zero\u200Bwidth\u200Djoiner",
  "<|im_start|>user\nhi<|im_end|>",
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nOK<|im_end|>",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
  "<|begin_of_text|>",
  "<s>",
  "</s>",
  "<s>[INST] Hello [/INST] Hi</s>",
  "text<s>inside</s>text",
  "<|endoftext|>",
  "before<|endoftext|>after",
  "<unk> and <0x41> and <pad>",
  "<|im_start",
  "Ġ▁ markers Ċ literal",
  "\u0000\u0001\u001f control chars",
  "\uFFFD replacement char",
  "A".repeat(300),
  "ab ".repeat(120),
  gsm8k[0].question,
  gsm8k[0].answer,
  gsm8k[1].answer,
  gsm8k[2].question + "\n" + gsm8k[2].answer,
  gsm8k[3].question + " " + gsm8k[3].answer,
];

function gpt2TokenizerJson(dir) {
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, "vocab.json"), "utf8"));
  const merges = fs.readFileSync(path.join(dir, "merges.txt"), "utf8").split("\n").filter((l, i) => l && !(i === 0 && l.startsWith("#version")));
  return {
    version: "1.0",
    added_tokens: [{ id: vocab["<|endoftext|>"], content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

const tokenizers = {
  llama2: "tokenizers/llama2",
  llama3: "tokenizers/llama3",
  qwen3: "tokenizers/qwen3",
  gpt2: "tokenizers/gpt2",
  stories260K: "models/stories260K-hf",
};

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, "corpus.json"), JSON.stringify(corpus, null, 1) + "\n");
for (const [name, rel] of Object.entries(tokenizers)) {
  const dir = path.join(fixtures, rel);
  const readJson = (f) => (fs.existsSync(path.join(dir, f)) ? JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) : null);
  const tokJson = readJson("tokenizer.json") ?? gpt2TokenizerJson(dir);
  const config = readJson("tokenizer_config.json") ?? { clean_up_tokenization_spaces: false };
  const tok = new Tokenizer(tokJson, config);
  const decode = (ids, skip) => (ids.length === 0 ? "" : tok.decode(ids, { skip_special_tokens: skip }));
  const cases = corpus.map((text) => {
    const ids = tok.encode(text, { add_special_tokens: true }).ids;
    const idsNoSpecial = tok.encode(text, { add_special_tokens: false }).ids;
    return { text, ids, ids_no_special: idsNoSpecial, decoded: decode(ids, false), decoded_skip_special: decode(ids, true) };
  });
  const out = { tokenizer: rel, reference: "@huggingface/tokenizers 0.2.0", cases };
  fs.writeFileSync(path.join(outDir, `${name}.expected.json`), JSON.stringify(out) + "\n");
  console.log(name, cases.reduce((n, c) => n + c.ids.length, 0), "ids");
}
