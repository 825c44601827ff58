using System.Globalization;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using TuneSharp.Training.Optim;
using Xunit;

namespace TuneSharp.Training.Tests.Optim;

/// <summary>Parity with torch.nn.utils.clip_grad_norm_ (torch 1.13), fixture from tools/golden_optim/make_clip.py.</summary>
public sealed class GradClipTests
{
    [Theory]
    [InlineData("clipped")]
    [InlineData("unclipped")]
    public void ClipGlobalNorm_MatchesTorch(string @case)
    {
        using var file = SafeTensorsFile.Open(Fixtures.Repo("optim/clip.safetensors"));
        double maxNorm = double.Parse(file.Metadata[$"max_norm.{@case}"], CultureInfo.InvariantCulture);
        var names = new[] { "a", "b", "c" };
        var ps = names.Select(n => { var g = file.Load($"{@case}.grad.{n}"); var p = new Parameter(torch.zeros_like(g)); p.grad = g; return p; }).ToList();
        using var frozen = new Parameter(torch.zeros(4));      // no grad: ignored, as in torch
        ps.Add(frozen);

        double total = GradClip.ClipGlobalNorm(ps, maxNorm);

        float expectedTotal = file.Load($"{@case}.total_norm")[0].item<float>();
        Assert.Equal(expectedTotal, total, expectedTotal * 1e-6);
        for (int i = 0; i < names.Length; i++)
            TensorAssert.Close(file.Load($"{@case}.clipped.{names[i]}"), ps[i].grad!, 1e-7, 1e-6, $"{@case} grad '{names[i]}'");
        Assert.Null(frozen.grad);
        if (@case == "unclipped")   // coefficient clamped to 1: gradients unchanged bit for bit
            Assert.Equal(0.0, TensorAssert.MaxAbsDiff(file.Load("unclipped.grad.a"), ps[0].grad!));
    }

    [Fact]
    public void ClipGlobalNorm_NoGradients_ReturnsZero()
    {
        using var p = new Parameter(torch.ones(3));
        Assert.Equal(0.0, GradClip.ClipGlobalNorm([p], 1.0));
    }
}
