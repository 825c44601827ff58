using TuneSharp.Models.Common;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

public sealed class MergeTests
{
    public static TheoryData<bool, int> Variants => new() { { false, 0 }, { true, 0 }, { false, 4 }, { true, 4 }, { false, 8 } };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Merged_EqualsUnmerged(bool dora, int bits)
    {
        var settings = Tiny.Lora(LoraSettings.AllLinear) with
        {
            UseDora = dora,
            Exclude = ["k_proj"],
            Quant = bits == 0 ? null : new QuantSettings(bits),
        };
        using var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir, seed: 3);
        Tiny.Randomize(model, 4);
        using var merged = AdapterMerge.Merge(model);
        Assert.Empty(merged.Adapters());
        Assert.All(merged.named_modules().Where(m => m.name.EndsWith("_proj")), m => Assert.IsType<DenseLinear>(m.module));
        using var ids = Tiny.Ids();
        using var expected = model.forward(ids);
        using var actual = merged.forward(ids);
        Assert.True(Tiny.MaxAbsDiff(expected, actual) < 1e-5, $"max diff {Tiny.MaxAbsDiff(expected, actual)}");
    }
}
