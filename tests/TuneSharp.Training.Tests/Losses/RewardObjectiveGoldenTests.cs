using System.Text.Json;
using TuneSharp.Data;
using TuneSharp.Data.Encoding;
using TuneSharp.Models;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Setup;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Losses;

/// <summary>
/// The reward model's scores, loss and gradients on the real stories260K checkpoint against an independent torch
/// reference (tools/golden_pref/make_reward_golden.py: tools/golden/reference.py's decoder, HF's last-non-pad pooling,
/// TRL's loss with per-pair margins and center_rewards_coefficient). Both sides fp32; tolerance 2e-5 absolute plus 1e-4
/// relative (summation order differs between libtorch 2.10 and torch 1.13).
/// </summary>
public sealed class RewardObjectiveGoldenTests
{
    static readonly JsonElement Golden = JsonDocument.Parse(File.ReadAllText(Fixtures.Repo("preference/reward_stories260k.json"))).RootElement;

    static double[] Values(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetDouble())];

    static void Near(double[] expected, Tensor actual, string what)
    {
        var a = actual.detach().to(ScalarType.Float64).reshape(-1).data<double>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= 2e-5 + 1e-4 * Math.Abs(expected[i]), $"{what}[{i}]: expected {expected[i]:R}, got {a[i]:R}");
    }

    static CausalLM ModelWithGoldenHead()
    {
        var model = ModelLoader.Load(Fixtures.Get("models/stories260K-hf"));
        var head = SequenceScore.NewHead(model);
        using (no_grad()) head.Weight.copy_(tensor(Values(Golden.GetProperty("head")), dtype: ScalarType.Float32).reshape(1, -1));
        model.AttachScoreHead(head);
        return model;
    }

    static List<TokenizedPair> Pairs() =>
        [.. Golden.GetProperty("pairs").EnumerateArray().Select((p, i) => new TokenizedPair(
            [.. p.GetProperty("prompt").EnumerateArray().Select(x => x.GetInt32())],
            [.. p.GetProperty("chosen").EnumerateArray().Select(x => x.GetInt32())],
            [.. p.GetProperty("rejected").EnumerateArray().Select(x => x.GetInt32())],
            new SourceLocation("golden", i + 1)) { Margin = p.GetProperty("margin").GetDouble() })];

    [Fact]
    public void ScoresLossAndGradients_MatchTheReference()
    {
        using var model = ModelWithGoldenHead();
        using var scope = NewDisposeScope();
        var pairs = Pairs();
        long pad = Golden.GetProperty("pad_id").GetInt64();
        var batch = PairDataSetup.Collate(pairs, (int)pad);
        var objective = new RewardObjective(new RewardSection { CenterRewardsCoefficient = Golden.GetProperty("center_rewards_coefficient").GetDouble() }, pad);

        var micro = objective.Loss(model, batch);
        (micro.Sum / pairs.Count).backward(); // the step driver's normalisation for a one-batch step
        Near([Golden.GetProperty("loss").GetDouble()], micro.Sum / pairs.Count, "loss");
        var metrics = micro.Metrics!.Means();
        Assert.Equal(Golden.GetProperty("accuracy").GetDouble(), metrics["rewards/accuracies"], 6);

        var ids = tensor(batch.InputIds, [batch.Rows, batch.Length]);
        Assert.Equal(Values(Golden.GetProperty("last_index")).Select(v => (long)v), SequenceScore.LastNonPadIndex(ids, pad).data<long>().ToArray());
        using (no_grad()) Near(Values(Golden.GetProperty("scores")), model.Scores(ids, pad), "scores");

        var grads = Golden.GetProperty("grads");
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Near(Values(grads.GetProperty("score.weight")), named["score.weight"].grad!, "d/d score.weight");
        Near(Values(grads.GetProperty("model.norm.weight")), named["model.norm.weight"].grad!, "d/d model.norm.weight");
        Near(Values(grads.GetProperty("model.layers.0.self_attn.q_proj.weight[0]")), named["model.layers.0.self_attn.q_proj.weight"].grad![0], "d/d q_proj row 0");
    }

    [Fact]
    public void LastNonPadIndex_FindsTheLastRealToken_WithLeftAndRightPadding()
    {
        using var scope = NewDisposeScope();
        const long pad = 0;
        var ids = tensor(new long[,]
        {
            { 5, 6, 7, 0, 0 },  // right padding
            { 0, 0, 5, 6, 7 },  // left padding
            { 5, 6, 7, 8, 9 },  // none
            { 0, 0, 0, 0, 0 },  // only padding: position 0, as HF
        });
        Assert.Equal([2L, 4L, 4L, 0L], SequenceScore.LastNonPadIndex(ids, pad).data<long>().ToArray());
    }

    [Fact]
    public void Score_OfARow_IsTheSameAlone_RightPadded_AndLeftPadded()
    {
        using var model = ModelWithGoldenHead();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        const long pad = 2;
        long[] row = [1, 403, 261, 378, 300, 289];
        var alone = model.Scores(tensor(row, dtype: ScalarType.Int64).unsqueeze(0), pad);
        // Right padding: causal attention keeps the padding after the last real token invisible to it.
        var right = model.Scores(tensor(row.Concat([pad, pad, pad]).ToArray()).unsqueeze(0), pad);
        // Left padding: positions count from the first real token and the padding keys are masked.
        var left = model.Scores(tensor(new[] { pad, pad, pad }.Concat(row).ToArray()).unsqueeze(0), pad,
            positionIds: tensor(new long[] { 0, 0, 0, 0, 1, 2, 3, 4, 5 }).unsqueeze(0),
            keyPadding: tensor(new long[] { 0, 0, 0, 1, 1, 1, 1, 1, 1 }).unsqueeze(0));
        Assert.True(Math.Abs(alone.item<float>() - right.item<float>()) <= 1e-6, $"{alone.item<float>()} vs right-padded {right.item<float>()}");
        Assert.True(Math.Abs(alone.item<float>() - left.item<float>()) <= 1e-5, $"{alone.item<float>()} vs left-padded {left.item<float>()}");
        // Pooling a different token gives a different score (the check above can fail).
        var shorter = model.Scores(tensor(row.Take(row.Length - 1).ToArray()).unsqueeze(0), pad);
        Assert.NotEqual(alone.item<float>(), shorter.item<float>());
    }

    [Fact]
    public void Margins_FromTheData_ReachThePairBatch()
    {
        var dir = Directory.CreateTempSubdirectory("tunesharp-margin").FullName;
        try
        {
            string file = Path.Combine(dir, "pairs.jsonl");
            File.WriteAllLines(file,
            [
                """{"prompt": "Hi", "chosen": "Hello there.", "rejected": "Go away.", "margin": 1.5}""",
                """{"prompt": "Hey", "chosen": "Hello friend.", "rejected": "No."}""",
            ]);
            var cfg = ConfigLoader.Parse($"""
                model:
                  path: {Fixtures.Get("models/stories260K-hf")}
                method:
                  type: full
                  stage: reward
                data:
                  datasets:
                    - path: {file}
                  template: chatml
                  shuffle: false
                train:
                  max_steps: 1
                """, Path.Combine(dir, "c.yaml"));
            var tokenizer = Inference.ModelBundle.LoadTokenizer(Fixtures.Get("models/stories260K-hf"), null);
            var data = PairDataSetup.Prepare(cfg, tokenizer, Fixtures.Get("models/stories260K-hf"), TuneSharp.Data.Encoding.PromptTruncation.KeepEnd, TestContext.Current.CancellationToken);
            var withMargin = data.Train.Single(p => p.Margin is not null);
            var without = data.Train.Single(p => p.Margin is null);
            Assert.Equal([1.5, 0.0], PairDataSetup.Collate([withMargin, without], 2).PairMargins!);
            Assert.Null(PairDataSetup.Collate([without], 2).PairMargins);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
