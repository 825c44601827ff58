using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Models.Tests;

/// <summary>
/// Logits of tiny random-weight models against an independent PyTorch reference of HF's modeling code
/// (tools/golden/make_golden.py, fixtures in tests/fixtures/golden). Tolerance: 1e-4 absolute at fp32, as cases.json states.
/// </summary>
public class GoldenLogitsTests
{
    const double Atol = 1e-4;

    public static TheoryData<string> Cases() => new(
        "llama_tied", "llama_untied_bias", "llama3_rope", "llama_linear_rope", "llama_dynamic_rope",
        "mistral", "qwen2", "qwen3", "llama_gqa1");

    [Theory]
    [MemberData(nameof(Cases))]
    public void FullForward_MatchesReference(string name)
    {
        var (model, expected) = Load(name);
        using var _m = model;
        using var _e = expected;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = expected.Load("input_ids");
        var logits = model.Forward(ids);
        AssertClose(expected.Load("logits"), logits, $"{name} logits");
        AssertClose(expected.Load("hidden_last"), model.Hidden(ids), $"{name} final hidden");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CachedDecode_MatchesReference(string name)
    {
        var (model, expected) = Load(name);
        using var _m = model;
        using var _e = expected;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = expected.Load("input_ids");
        int prefill = (int)expected.Load("prefill_len").item<long>();
        long t = ids.shape[1];
        using var cache = model.NewCache((int)ids.shape[0], (int)t);
        model.Forward(ids[.., ..prefill], cache: cache);
        var steps = new List<Tensor>();
        for (int i = prefill; i < t; i++) steps.Add(model.Forward(ids[.., i..(i + 1)], cache: cache));
        AssertClose(expected.Load("decode_logits"), cat(steps, 1), $"{name} decode logits");
    }

    /// <summary>The case's model and the reference outputs made offline by tools/golden/make_golden.py.</summary>
    static (CausalLM Model, SafeTensorsCheckpoint Expected) Load(string name)
    {
        string dir = Fixtures.Repo($"golden/{name}");
        return (ModelLoader.Load(dir), SafeTensorsCheckpoint.Open(Path.Combine(dir, "expected.safetensors")));
    }

    static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double err = (expected - actual).abs().max().item<float>();
        Assert.True(err <= Atol, $"{what}: max abs error {err:E3} > {Atol:E0}");
    }
}
