using TuneSharp.Models;
using TuneSharp.Testing;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

/// <summary>Shared helpers: the tiny llama golden fixture as base, inputs, comparisons.</summary>
static class Tiny
{
    public static string BaseDir => Fixtures.Repo("golden/llama_tied");

    public static Tensor Ids(long seed = 3, int batch = 2, int t = 10)
    {
        using var g = new Generator().manual_seed(seed);
        return randint(0, 256, [batch, t], dtype: ScalarType.Int64, generator: g);
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.to(ScalarType.Float32) - b.to(ScalarType.Float32)).abs().max().item<float>();
    }

    /// <summary>Sets every adapter's B (and A) to seeded random values so the adapter changes the output.</summary>
    public static void Randomize(CausalLM model, long seed, double std = 0.1)
    {
        using var g = new Generator().manual_seed(seed);
        using var noGrad = no_grad();
        foreach (var (_, l) in model.Adapters())
        {
            l.LoraA.normal_(0, std, g);
            l.LoraB.normal_(0, std, g);
            l.Magnitude?.mul_(1 + 0.2 * randn(l.Magnitude.shape, generator: g));
        }
    }

    /// <summary>The golden llama_tied config (2 layers, hidden 64, vocab 256).</summary>
    public static DecoderArgs Args() => TuneSharp.Models.Families.ModelFamilies.FromConfigFile(Path.Combine(BaseDir, "config.json"));

    public static LoraSettings Lora(params string[] targets) => LoraSettings.Create(4, 8, targets);
}
