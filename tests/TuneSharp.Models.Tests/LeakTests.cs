using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Models.Tests;

public class LeakTests
{
    [Fact]
    public void ForwardBackward_Repeated_LeavesNoLiveTensors()
    {
        using var model = TinyModels.Create(TinyModels.Llama(tied: false) with { QkNorm = true, QkvBias = true });
        using var ids = tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }, [2, 4]);
        long growth = LiveTensors.GrowthOver(5, () =>
        {
            using var scope = NewDisposeScope();
            var logits = model.Forward(ids);
            var loss = nn.functional.cross_entropy(logits.view(-1, 256), ids.view(-1));
            loss.backward();
            model.zero_grad();
        });
        Assert.Equal(0, growth);
    }

    [Fact]
    public void CachedDecode_Repeated_LeavesNoLiveTensors()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        using var cache = model.NewCache(1, 64);
        long growth = LiveTensors.GrowthOver(20, () =>
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            if (cache.Length >= 60) cache.Reset();
            model.Forward(tensor(new long[] { 7 }, [1, 1]), cache: cache);
        });
        Assert.Equal(0, growth);
    }

    [Fact]
    public void CreatingAndDisposingAModel_LeavesNoLiveTensors()
    {
        // The RoPE table once leaked one tensor per model (a copy made by .to(device) outlived the original's owner).
        long growth = LiveTensors.GrowthOver(3, () => TinyModels.Create(TinyModels.Llama()).Dispose());
        Assert.Equal(0, growth);
    }
}
