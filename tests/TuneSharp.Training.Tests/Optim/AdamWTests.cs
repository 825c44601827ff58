using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Testing;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Optim;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Optim;

public sealed class AdamWTests
{
    static ParameterGroup Group(string name, double lr, double wd, params (string, Parameter)[] ps) =>
        new(name, ps.Select(p => new NamedParameter(p.Item1, p.Item2)).ToList(), lr, wd);

    [Fact]
    public void MasterWeights_KeepUpdatesSmallerThanBf16Resolution()
    {
        // 1.0 in bf16 has a spacing of 2^-7; an lr of 1e-4 moves the weight by ~1e-4 per step.
        using var plain = new Parameter(torch.ones(4, dtype: ScalarType.BFloat16));
        using var master = new Parameter(torch.ones(4, dtype: ScalarType.BFloat16));
        using var optPlain = AdamW.Create([Group("a", 1e-4, 0, ("w", plain))]);
        using var optMaster = AdamW.Create([Group("a", 1e-4, 0, ("w", master))], masterWeights: true);
        for (int k = 0; k < 100; k++)
        {
            plain.grad = torch.ones(4, dtype: ScalarType.BFloat16);
            master.grad = torch.ones(4, dtype: ScalarType.BFloat16);
            optPlain.Step();
            optMaster.Step();
        }
        Assert.Equal(1.0f, plain[0].to(ScalarType.Float32).item<float>());                 // every update rounded away
        float m = optMaster.StateTensors()["w.master"][0].item<float>();
        Assert.InRange(m, 0.989f, 0.991f);                                                  // 100 steps of ~1e-4
        Assert.True(master[0].to(ScalarType.Float32).item<float>() < 1.0f);
    }

    [Fact]
    public void SaveAndLoadState_ResumesIdentically()
    {
        torch.manual_seed(3);
        var grads = Enumerable.Range(0, 5).Select(_ => (torch.randn(3, 4), torch.randn(4))).ToList();
        using var w0 = torch.randn(3, 4);
        using var b0 = torch.randn(4);

        // Uninterrupted run of 5 steps.
        using var w = new Parameter(w0.clone());
        using var b = new Parameter(b0.clone());
        using var opt = AdamW.Create(ParamGroups.Build([new("layer.weight", w), new("layer.bias", b)], 1e-2, 0.05));
        for (int k = 0; k < 5; k++) { w.grad = grads[k].Item1; b.grad = grads[k].Item2; opt.Step(); }

        // 3 steps, save, new optimizer + parameters copied, load, 2 more steps.
        using var w1 = new Parameter(w0.clone());
        using var b1 = new Parameter(b0.clone());
        var saved = new Dictionary<string, Tensor>();
        OptimizerScalarState scalars;
        using (var first = AdamW.Create(ParamGroups.Build([new("layer.weight", w1), new("layer.bias", b1)], 1e-2, 0.05)))
        {
            for (int k = 0; k < 3; k++) { w1.grad = grads[k].Item1; b1.grad = grads[k].Item2; first.Step(); }
            foreach (var (key, t) in first.StateTensors()) saved[key] = t.clone();
            scalars = first.ScalarState();
        }
        using var second = AdamW.Create(ParamGroups.Build([new("layer.weight", w1), new("layer.bias", b1)], 1e-2, 0.05));
        second.LoadState(saved, scalars);
        for (int k = 3; k < 5; k++) { w1.grad = grads[k].Item1; b1.grad = grads[k].Item2; second.Step(); }

        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(w, w1));
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(b, b1));
        Assert.Equal(5, second.StepCount);
        Assert.Equal(["layer.bias.exp_avg", "layer.bias.exp_avg_sq", "layer.weight.exp_avg", "layer.weight.exp_avg_sq"],
            saved.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LoadState_WrongShapeOrMissingTensor_NamesTheKey()
    {
        using var w = new Parameter(torch.zeros(2, 3));
        using var opt = AdamW.Create([Group("a", 1e-3, 0, ("w", w))]);
        var scalars = new OptimizerScalarState(1, 1, new Dictionary<string, long> { ["w"] = 1 });
        using var good = torch.zeros(2, 3);
        using var bad = torch.zeros(3, 2);

        var e1 = Assert.Throws<InvalidDataException>(() =>
            opt.LoadState(new Dictionary<string, Tensor> { ["w.exp_avg"] = bad, ["w.exp_avg_sq"] = good }, scalars, "ckpt/optimizer.safetensors"));
        Assert.Contains("ckpt/optimizer.safetensors", e1.Message);
        Assert.Contains("'w.exp_avg'", e1.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => opt.LoadState(new Dictionary<string, Tensor> { ["w.exp_avg"] = good }, scalars));
        Assert.Contains("'w.exp_avg_sq'", e2.Message);
        var e3 = Assert.Throws<InvalidDataException>(() => opt.LoadState(new Dictionary<string, Tensor>(),
            new OptimizerScalarState(1, 1, new Dictionary<string, long> { ["other"] = 1 })));
        Assert.Contains("'other'", e3.Message);
    }

    [Fact]
    public void ParameterWithoutGrad_IsNotTouched_NotEvenDecayed()
    {
        using var w = new Parameter(torch.ones(3));
        using var opt = AdamW.Create([Group("a", 0.1, 0.5, ("w", w))]);
        opt.Step();
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(torch.ones(3), w));
        Assert.Empty(opt.StateTensors());
    }

    [Fact]
    public void FiftySteps_OnTinyModel_LiveTensorCountDoesNotGrow()
    {
        torch.manual_seed(11);
        const int V = 32, H = 16;
        using var emb = new Parameter(torch.randn(V, H) * 0.1);
        using var proj = new Parameter(torch.randn(H, H) * 0.1);
        using var bias = new Parameter(torch.zeros(H));
        using var head = new Parameter(torch.randn(V, H) * 0.1);
        var named = new NamedParameter[] { new("embed_tokens.weight", emb), new("proj.weight", proj), new("proj.bias", bias), new("lm_head.weight", head) };
        using var opt = AdamW.Create(ParamGroups.Build(named, 1e-2, 0.1), masterWeights: true);
        using var ids = torch.randint(0, V, [2, 9], dtype: ScalarType.Int64);
        var schedule = new LrSchedule(LrScheduleKind.Cosine, WarmupSteps: 5);
        long step = 0;
        float firstLoss = float.NaN, lastLoss = float.NaN;

        void TrainStep()
        {
            using var scope = torch.NewDisposeScope();
            var x = emb.index_select(0, ids.reshape(-1)).reshape(2, 9, H);                   // [B, T, H]
            var hdn = nn.functional.linear(x, proj, bias).tanh();                             // [B, T, H]
            var labels = CausalLmLoss.ShiftLabels(ids);
            var (sum, count) = CausalLmLoss.Compute(hdn, head, labels, chunkRows: 5);
            var loss = sum / count;
            loss.backward();
            GradClip.ClipGlobalNorm(named.Select(n => n.Parameter), 1.0);
            opt.Step(schedule.Factor(step++, 60));
            opt.ZeroGrad();
            lastLoss = loss.item<float>();
            if (float.IsNaN(firstLoss)) firstLoss = lastLoss;
        }

        long growth = LiveTensors.GrowthOver(50, TrainStep);
        Assert.Equal(0, growth);
        Assert.True(lastLoss < firstLoss, $"loss did not decrease: {firstLoss} -> {lastLoss}");
    }
}
