// Loads TuneSharp-exported GGUF files with a real llama.cpp build (npm node-llama-cpp, prebuilt linux-x64 CPU
// binaries), greedy-generates from BOS and tokenizes probe strings; prints one JSON document (the committed fixture
// tests/fixtures/gguf/llama-cpp-stories260K.json). Usage: see tools/gguf/README.md.
import { getLlama } from "node-llama-cpp";

const maxTokens = Number(process.env.MAX_TOKENS ?? 200);
const texts = [
    "Once upon a time, there was a little girl.",
    "Hello world",
    " leading space",
    "two  spaces and\nnew lines\n\n",
    "don't stop, it's 42!",
    "café ☃ 日本 🙂",
];
const llama = await getLlama({ gpu: false, build: "never" });
const result = { llamaCppBuild: llama.buildType + " " + (llama.llamaCppRelease?.release ?? ""), maxTokens, greedy: {}, tokenize: [] };
for (const [type, modelPath] of process.argv.slice(2).map(a => a.split("="))) {
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    const sequence = context.getSequence();
    // Greedy decode from BOS alone (temperature 0 = argmax); no early stop on EOS, like llama2.c's run.c.
    const ids = [];
    for await (const id of sequence.evaluate([model.tokens.bos], { temperature: 0 })) {
        ids.push(id);
        if (process.env.VERBOSE) console.error(type, ids.length, id);
        if (ids.length >= maxTokens) break;
    }
    result.greedy[type] = ids;
    if (result.tokenize.length === 0)
        for (const text of texts) result.tokenize.push({ text, ids: Array.from(model.tokenize(text)) });
}
console.log(JSON.stringify(result, null, 1));
process.exit(0); // node-llama-cpp keeps native handles alive otherwise
