using System.Text.Json;
using TuneSharp.Models;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Export.Tests.Gguf;

/// <summary>
/// Against a real llama.cpp: tests/fixtures/gguf/llama-cpp-stories260K.json was produced offline by
/// tools/gguf/llama-cpp-check.mjs (node-llama-cpp's prebuilt llama.cpp) from GGUF files that `tunesharp export gguf`
/// wrote for stories260K: greedy ids from BOS per type, and llama.cpp's tokenization of probe strings.
/// </summary>
public sealed class LlamaCppParityTests
{
    static JsonElement Reference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Repo("gguf/llama-cpp-stories260K.json")));
        return doc.RootElement.Clone();
    }

    [Fact]
    public void Tokenizer_EncodesLikeLlamaCppOnTheExportedVocabulary()
    {
        var tok = HfTokenizer.Load(Fixtures.Get("models/stories260K-hf"));
        foreach (var probe in Reference().GetProperty("tokenize").EnumerateArray())
        {
            string text = probe.GetProperty("text").GetString()!;
            int[] expected = [.. probe.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())];
            Assert.True(expected.SequenceEqual(tok.Encode(text, addSpecialTokens: false)), $"'{text}': llama.cpp [{string.Join(",", expected)}], TuneSharp [{string.Join(",", tok.Encode(text, addSpecialTokens: false))}]");
        }
    }

    [Fact]
    public void GreedyFromBos_SourceModel_EqualsLlamaCppOnTheF32AndF16Export()
    {
        var reference = Reference().GetProperty("greedy");
        int[] f32 = [.. reference.GetProperty("f32").EnumerateArray().Select(x => x.GetInt32())];
        using var model = ModelLoader.Load(Fixtures.Get("models/stories260K-hf"));
        // Plain argmax over the full prefix each step (no KV cache): independent of TuneSharp's generator.
        var ids = new List<long> { 1 };
        using var noGrad = no_grad();
        for (int step = 0; step < f32.Length; step++)
        {
            using var scope = NewDisposeScope();
            var logits = model.Forward(tensor(ids.ToArray(), [1, ids.Count]));
            ids.Add(logits[0, -1].argmax().item<long>());
        }
        Assert.Equal(f32, ids.Skip(1).Select(x => (int)x).ToArray());
        // fp16 rounding of these weights does not change a single argmax in 200 steps (recorded by llama.cpp).
        Assert.Equal(f32, reference.GetProperty("f16").EnumerateArray().Select(x => x.GetInt32()).ToArray());
    }
}
