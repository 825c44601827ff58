using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Optim;
using TuneSharp.Training.Setup;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Optim;

/// <summary>What every optimizer must do, built through the config factory (<see cref="OptimizerSetup.Create"/>).</summary>
public sealed class OptimizerTests
{
    public static TheoryData<OptimizerName> Names => [.. Enum.GetValues<OptimizerName>()];

    /// <summary>The config section of each optimizer in these tests (sgd with momentum, so it has state).</summary>
    static OptimizerSection Section(OptimizerName name, double lr = 1e-2) =>
        new() { Name = name, Lr = lr, Momentum = name == OptimizerName.Sgd ? 0.9 : 0 };

    static IOptimizer Create(OptimizerName name, IReadOnlyList<ParameterGroup> groups, bool masterWeights = false) =>
        OptimizerSetup.Create(Section(name), groups, masterWeights);

    static IReadOnlyList<ParameterGroup> Groups(params (string Name, Parameter P)[] ps) =>
        ParamGroups.Build(ps.Select(p => new NamedParameter(p.Name, p.P)), 1e-2, 0.05);

    [Theory]
    [MemberData(nameof(Names))]
    public void Factory_BuildsTheNamedOptimizer(OptimizerName name)
    {
        using var w = new Parameter(torch.zeros(2, 2));
        using var opt = Create(name, Groups(("w", w)));
        Assert.Equal(ConfigNames.Of(name), opt.Name);
        Assert.Equal(ConfigNames.Of(name), opt.ScalarState().Optimizer);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SaveAndLoadState_ResumesIdentically(OptimizerName name)
    {
        torch.manual_seed(3);
        var grads = Enumerable.Range(0, 5).Select(_ => (torch.randn(3, 4), torch.randn(4))).ToList();
        using var w0 = torch.randn(3, 4);
        using var b0 = torch.randn(4);

        using var w = new Parameter(w0.clone());
        using var b = new Parameter(b0.clone());
        using var opt = Create(name, Groups(("layer.weight", w), ("layer.bias", b)));
        for (int k = 0; k < 5; k++) { w.grad = grads[k].Item1; b.grad = grads[k].Item2; opt.Step(1 - 0.1 * k); }

        // 3 steps, save (copies), a new optimizer, load, 2 more steps.
        using var w1 = new Parameter(w0.clone());
        using var b1 = new Parameter(b0.clone());
        var saved = new Dictionary<string, Tensor>();
        OptimizerScalarState scalars;
        using (var first = Create(name, Groups(("layer.weight", w1), ("layer.bias", b1))))
        {
            for (int k = 0; k < 3; k++) { w1.grad = grads[k].Item1; b1.grad = grads[k].Item2; first.Step(1 - 0.1 * k); }
            foreach (var (key, t) in first.StateTensors()) saved[key] = t.clone();
            scalars = first.ScalarState();
        }
        using var second = Create(name, Groups(("layer.weight", w1), ("layer.bias", b1)));
        second.LoadState(saved, scalars, "ckpt/optimizer.safetensors");
        for (int k = 3; k < 5; k++) { w1.grad = grads[k].Item1; b1.grad = grads[k].Item2; second.Step(1 - 0.1 * k); }

        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(w, w1));
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(b, b1));
        Assert.Equal(5, second.StepCount);
        Assert.NotEmpty(saved);
        foreach (var t in saved.Values) t.Dispose();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void LoadState_WrittenByAnotherOptimizer_IsRefusedByName(OptimizerName name)
    {
        using var w = new Parameter(torch.zeros(2, 3));
        using var opt = Create(name, Groups(("w", w)));
        var other = name == OptimizerName.AdamW ? OptimizerName.Sgd : OptimizerName.AdamW;
        var scalars = new OptimizerScalarState(1, 0, new Dictionary<string, long>(), ConfigNames.Of(other));
        var e = Assert.Throws<InvalidDataException>(() => opt.LoadState(new Dictionary<string, Tensor>(), scalars, "ckpt/optimizer.safetensors"));
        Assert.Contains("ckpt/optimizer.safetensors", e.Message);
        Assert.Contains($"'{ConfigNames.Of(other)}'", e.Message);
        Assert.Contains($"'{ConfigNames.Of(name)}'", e.Message);
    }

    [Fact]
    public void ScalarState_WrittenBeforeTheOptimizerField_IsAdamW()
    {
        // optimizer.json as checkpoints wrote it when AdamW was the only optimizer.
        var old = System.Text.Json.JsonSerializer.Deserialize<OptimizerScalarState>("{\"FormatVersion\": 1, \"StepCount\": 0, \"Steps\": {}}")!;
        Assert.Null(old.Optimizer);
        using var w = new Parameter(torch.zeros(2));
        using var adamw = Create(OptimizerName.AdamW, Groups(("w", w)));
        adamw.LoadState(new Dictionary<string, Tensor>(), old);
        using var sgd = Create(OptimizerName.Sgd, Groups(("w", w)));
        var e = Assert.Throws<InvalidDataException>(() => sgd.LoadState(new Dictionary<string, Tensor>(), old, "ckpt/optimizer.safetensors"));
        Assert.Contains("'adamw'", e.Message);
        // The field round-trips; the derived WrittenBy is not written.
        string json = System.Text.Json.JsonSerializer.Serialize(sgd.ScalarState());
        Assert.Contains("\"Optimizer\":\"sgd\"", json);
        Assert.DoesNotContain("WrittenBy", json);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void LoadState_MissingOrMisshapenTensor_NamesFileAndTensor(OptimizerName name)
    {
        using var w = new Parameter(torch.randn(4, 6));
        using var opt = Create(name, Groups(("w", w)));
        w.grad = torch.randn(4, 6);
        opt.Step();
        // Copies: LoadState releases the optimizer's own tensors first.
        var state = opt.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        string first = state.Keys.Order(StringComparer.Ordinal).First();
        var scalars = opt.ScalarState();

        var missing = state.Where(kv => kv.Key != first).ToDictionary();
        var e1 = Assert.Throws<InvalidDataException>(() => opt.LoadState(missing, scalars, "ckpt/optimizer.safetensors"));
        Assert.Contains("ckpt/optimizer.safetensors", e1.Message);
        Assert.Contains($"'{first}'", e1.Message);

        using var wrong = torch.zeros(7);
        var misshapen = new Dictionary<string, Tensor>(state) { [first] = wrong };
        var e2 = Assert.Throws<InvalidDataException>(() => opt.LoadState(misshapen, scalars, "ckpt/optimizer.safetensors"));
        Assert.Contains($"'{first}'", e2.Message);
        Assert.Contains("[7]", e2.Message);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ParameterWithoutGrad_IsNotTouched_AndHasNoState(OptimizerName name)
    {
        using var w = new Parameter(torch.ones(3, 2));
        using var opt = Create(name, Groups(("w", w)));
        opt.Step();
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(torch.ones(3, 2), w));
        Assert.Empty(opt.StateTensors());
        Assert.Empty(opt.ScalarState().Steps);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MasterWeights_Bf16Parameter_FollowsFp32Trajectory(OptimizerName name)
    {
        torch.manual_seed(7);
        using var init = torch.randn(6, 5).to(ScalarType.BFloat16);
        using var p32 = new Parameter(init.to(ScalarType.Float32));
        using var p16 = new Parameter(init.clone());
        using var opt32 = Create(name, Groups(("w", p32)));
        using var opt16 = Create(name, Groups(("w", p16)), masterWeights: true);
        for (int k = 0; k < 6; k++)
        {
            using var scope = torch.NewDisposeScope();
            var g = torch.randn(6, 5).to(ScalarType.BFloat16);
            p16.grad = g;
            p32.grad = g.to(ScalarType.Float32);
            opt32.Step(1.0 - 0.1 * k);
            opt16.Step(1.0 - 0.1 * k);
            Assert.Equal(0.0, TensorAssert.MaxAbsDiff(p32, opt16.StateTensors()["w.master"]));
            Assert.Equal(0.0, TensorAssert.MaxAbsDiff(p32.to(ScalarType.BFloat16), p16));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void TrainingSteps_LiveTensorCountReturnsToBaseline_AndLossFalls(OptimizerName name)
    {
        torch.manual_seed(11);
        const int V = 32, H = 16;
        using var emb = new Parameter(torch.randn(V, H) * 0.1);
        using var proj = new Parameter((torch.randn(H, H) * 0.1).to(ScalarType.BFloat16)); // exercises the master copy
        using var bias = new Parameter(torch.zeros(H));
        using var head = new Parameter(torch.randn(V, H) * 0.1);
        var named = new NamedParameter[] { new("embed_tokens.weight", emb), new("proj.weight", proj), new("proj.bias", bias), new("lm_head.weight", head) };
        long baseline = LiveTensors.Count;
        using (var opt = OptimizerSetup.Create(Section(name, lr: name == OptimizerName.Sgd ? 0.5 : 1e-2) with { WeightDecay = 0.1 },
                   ParamGroups.Build(named, name == OptimizerName.Sgd ? 0.5 : 1e-2, 0.1), masterWeights: true))
        using (var ids = torch.randint(0, V, [2, 9], dtype: ScalarType.Int64))
        {
            float firstLoss = float.NaN, lastLoss = float.NaN;
            void TrainStep()
            {
                using var scope = torch.NewDisposeScope();
                var x = emb.index_select(0, ids.reshape(-1)).reshape(2, 9, H);                           // [B, T, H]
                var hdn = nn.functional.linear(x, proj.to(ScalarType.Float32), bias).tanh();              // [B, T, H]
                var (sum, count) = CausalLmLoss.Compute(hdn, head, CausalLmLoss.ShiftLabels(ids), chunkRows: 5);
                var loss = sum / count;
                loss.backward();
                opt.Step();
                opt.ZeroGrad();
                lastLoss = loss.item<float>();
                if (float.IsNaN(firstLoss)) firstLoss = lastLoss;
            }
            Assert.Equal(0, LiveTensors.GrowthOver(20, TrainStep));
            Assert.True(lastLoss < firstLoss, $"{name}: loss did not decrease: {firstLoss} -> {lastLoss}");
        }
        // Disposing the optimizer releases its state (and the 8-bit code maps).
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(baseline, LiveTensors.Count);
    }
}
