using System.Text.Json;
using TuneSharp.Data;
using TuneSharp.Data.Encoding;
using TuneSharp.Testing;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Setup;
using TuneSharp.Training.Tests.Recipes;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Losses;

/// <summary>
/// The KTO objective on the real stories260K model with a LoRA adapter (B != 0) against an independent PyTorch
/// computation (tools/golden_pref/make_kto_golden.py: the decoder reference of tools/golden, PEFT's LoRA formula, the
/// KTO paper / TRL formulas, one sequence at a time without padding): the KL estimate from mismatched rows, the loss,
/// TRL's metrics and the gradients of four LoRA matrices, for the five examples in one micro-batch and split into
/// micro-batches of 2 + 2 + 1 that share the step's KL estimate. fp32 on both sides; tolerances: loss and rewards
/// 2e-6 absolute (measured 2e-7), log-probs (magnitude ~100) and z0 1e-5 relative, gradients 2e-5 of the largest entry of
/// each matrix (measured 1.3e-6 of it).
/// </summary>
[Collection("training")]
public sealed class KtoGoldenTests
{
    static readonly string FixtureDir = Fixtures.Repo("preference/kto_stories260k");
    static readonly JsonElement Golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDir, "golden.json"))).RootElement;

    static List<TokenizedCompletion> Examples() =>
    [
        .. Golden.GetProperty("examples").EnumerateArray().Select((e, i) => new TokenizedCompletion(
            [.. e.GetProperty("prompt").EnumerateArray().Select(x => x.GetInt32())],
            [.. e.GetProperty("completion").EnumerateArray().Select(x => x.GetInt32())],
            e.GetProperty("desirable").GetBoolean(), new SourceLocation("golden.json", i + 1))),
    ];

    [Theory]
    [InlineData(5, 1)]
    [InlineData(2, 3)]
    public void Loss_Metrics_AndGradients_EqualTheReference(int microBatch, int batchesPerStep)
    {
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("lora", KtoData.Write(h, 4)), "method.stage=kto", $"model.adapter={Path.Combine(FixtureDir, "adapter")}",
            $"method.kto.beta={Golden.GetProperty("beta").GetDouble()}", $"method.kto.undesirable_weight={Golden.GetProperty("undesirable_weight").GetDouble()}");
        using var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        model.Model.eval();
        var examples = Examples();
        var batches = KtoDataSetup.Batches(examples, microBatch, batchesPerStep, maxSeqLen: 128, padId: 0);
        Assert.Equal((examples.Count + microBatch - 1) / microBatch, batches.Count);
        var objective = new KtoObjective(cfg.Method.Kto);

        double kl = objective.Kl(model.Model, batches);
        double loss = 0;
        var metrics = new MetricSums();
        foreach (var b in batches)
        {
            using var scope = NewDisposeScope();
            var micro = objective.Loss(model.Model, b, kl);
            (micro.Sum / examples.Count).backward(); // the step driver's normalisation: the mean over the step's examples
            loss += micro.Sum.item<float>() / examples.Count;
            metrics.Add(micro.Metrics!);
        }
        var means = KtoObjective.WithMargins(metrics.Means());

        var g = Golden.GetProperty("metrics");
        Assert.True(Math.Abs(Golden.GetProperty("loss").GetDouble() - loss) <= 2e-6, $"loss {loss} vs {Golden.GetProperty("loss")}");
        foreach (var m in g.EnumerateObject())
        {
            double expected = m.Value.GetDouble(), actual = means[m.Name];
            double tol = m.Name.StartsWith("rewards/") ? 2e-6 : 1e-5 * Math.Abs(expected);
            Assert.True(Math.Abs(expected - actual) <= tol, $"{m.Name}: expected {expected:R}, got {actual:R}");
        }

        var parameters = model.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var grad in Golden.GetProperty("grads").EnumerateObject())
        {
            var expected = tensor(grad.Value.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(x => x.GetSingle())).ToArray());
            var actual = parameters[grad.Name].grad!.reshape(-1);
            double scale = expected.abs().max().item<float>();
            double diff = (actual - expected).abs().max().item<float>();
            Assert.True(scale > 0 && diff <= 2e-5 * scale, $"{grad.Name}: max |diff| {diff:E2} vs max |grad| {scale:E2}");
        }
    }
}
