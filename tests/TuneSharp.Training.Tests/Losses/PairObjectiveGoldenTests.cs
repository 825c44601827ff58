using System.Text.Json;
using TuneSharp.Data;
using TuneSharp.Data.Encoding;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Setup;
using TuneSharp.Training.Tests.Recipes;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Losses;

/// <summary>
/// The pair objectives (DPO and its variants, ORPO, SimPO) on the real stories260K model against an independent
/// reference: tools/golden_pref/make_pref_model.py (plain torch decoder from tools/golden/reference.py, each loss from its
/// paper / TRL formula, log-probs per unpadded sequence) -> tests/fixtures/preference/model_objectives.json. Per case the
/// micro-batch loss (summed over the 3 pairs), every metric and the gradients of named parameters. DPO runs on a LoRA
/// policy (A, B set by the script's formula) against the model with its adapters disabled; ORPO and SimPO on the full
/// model. Both sides fp32: loss and metrics agree to 1e-5 relative to max(1, |value|) (measured: <= 1.1e-6, the DPO
/// rewards being differences of sums near -22), gradients to 1e-4 of the largest component (measured: < 1e-5).
/// </summary>
[Collection("training")]
public sealed class PairObjectiveGoldenTests
{
    const double ValueTol = 1e-5, GradTol = 1e-4;
    static readonly JsonElement Golden = JsonDocument.Parse(File.ReadAllText(Fixtures.Repo("preference/model_objectives.json"))).RootElement;

    public static TheoryData<string> Cases() => [.. Golden.GetProperty("cases").EnumerateObject().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Objective_MatchesTheReference_LossMetricsAndGradients(string name)
    {
        var c = Golden.GetProperty("cases").GetProperty(name);
        var s = c.GetProperty("settings");
        double Setting(string key, double fallback = 0) => s.TryGetProperty(key, out var v) ? v.GetDouble() : fallback;
        IPairObjective objective = name.Split('_')[0] switch
        {
            "dpo" => new DpoObjective(new DpoSection
            {
                Beta = Setting("beta"), LabelSmoothing = Setting("ls"), LossType = Enum.Parse<DpoLossType>(s.GetProperty("kind").GetString()!, ignoreCase: true),
                RpoAlpha = s.TryGetProperty("rpo_alpha", out var a) ? a.GetDouble() : null,
                LengthNormalize = s.TryGetProperty("length_normalize", out var ln) && ln.GetBoolean(),
            }),
            "orpo" => new OrpoObjective(new OrpoSection { Beta = Setting("beta") }),
            "simpo" => new SimPoObjective(new SimpoSection { Beta = Setting("beta"), Gamma = Setting("gamma"), LabelSmoothing = Setting("ls") }),
            var other => throw new InvalidDataException($"model_objectives.json: unknown case family '{other}'"),
        };

        using var h = new TrainHarness();
        using var model = Build(h, c.GetProperty("policy").GetString()!);
        using var scope = NewDisposeScope();
        var micro = objective.Loss(model.Model, Batch());
        micro.Sum.backward();

        Near(c.GetProperty("loss_sum").GetDouble(), micro.Sum.item<float>(), $"{name} loss");
        var metrics = micro.Metrics!.Means();
        var expected = c.GetProperty("metrics").EnumerateObject().ToDictionary(m => m.Name, m => m.Value.GetDouble());
        Assert.Equal(expected.Keys.Order(), metrics.Keys.Order());
        foreach (var (metric, value) in expected) Near(value, metrics[metric], $"{name} {metric}");

        var parameters = model.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var g in c.GetProperty("grads").EnumerateObject())
        {
            var want = g.Value.EnumerateArray().Select(x => x.GetDouble()).ToArray();
            var grad = parameters[g.Name].grad ?? throw new InvalidOperationException($"{g.Name} has no gradient");
            var got = grad.reshape(-1)[..want.Length].data<float>().ToArray();
            double scale = want.Max(Math.Abs);
            Assert.True(scale > 0, $"{name} d/d{g.Name}: the reference gradient is 0, the test would prove nothing");
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(want[i] - got[i]) <= GradTol * scale, $"{name} d/d{g.Name}[{i}]: expected {want[i]:R}, got {got[i]:R} (scale {scale:G4})");
        }
    }

    /// <summary>The golden pairs as one micro-batch (chosen rows, then rejected rows, right-padded).</summary>
    static Data.Batching.TrainBatch Batch()
    {
        static int[] Ids(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetInt32())];
        var pairs = Golden.GetProperty("pairs").EnumerateArray()
            .Select((p, i) => new TokenizedPair(Ids(p.GetProperty("prompt")), Ids(p.GetProperty("chosen")), Ids(p.GetProperty("rejected")),
                new SourceLocation("model_objectives.json", i + 1)))
            .ToList();
        return PairDataSetup.Collate(pairs, padId: 0);
    }

    /// <summary>stories260K in fp32: the full model, or LoRA (r 4, alpha 8) on q_proj and v_proj with the script's factors
    /// 0.05 sin(0.37 k + seed) (A) and 0.05 cos(0.37 k + seed) (B), seed = 2 layer + (0 q_proj, 1 v_proj).</summary>
    static TrainableModel Build(TrainHarness h, string policy)
    {
        string data = h.WritePreferenceData(2);
        var cfg = policy == "full"
            ? h.Config(h.Yaml("full", data))
            : h.Config(h.Yaml("lora", data), "method.lora.r=4", "method.lora.alpha=8", "method.lora.targets=[q_proj, v_proj]");
        var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        model.Model.eval();
        using (no_grad())
            foreach (var (name, p) in model.Model.named_parameters())
            {
                if (!name.Contains(".lora_")) continue;
                int layer = int.Parse(name.Split('.').SkipWhile(x => x != "layers").ElementAt(1));
                double seed = 2 * layer + (name.Contains("v_proj") ? 1 : 0);
                Func<double, double> f = name.Contains("lora_A") ? Math.Sin : Math.Cos;
                var values = Enumerable.Range(0, (int)p.numel()).Select(k => (float)(0.05 * f(0.37 * k + seed))).ToArray();
                p.copy_(tensor(values).reshape(p.shape));
            }
        return model;
    }

    static void Near(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= ValueTol * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");
}
