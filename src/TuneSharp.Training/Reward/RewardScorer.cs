using TuneSharp.Data;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Models;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Reward;

/// <summary>The score of one example: a pair's chosen and rejected scores, or one conversation's / text's score.</summary>
public sealed record ScoredExample(SourceLocation Source, double? Score, double? Chosen, double? Rejected)
{
    public bool IsPair => Chosen is not null;
}

/// <summary>Pairs scored and how many of them rank chosen above rejected, with the mean chosen - rejected margin.</summary>
public sealed record PairwiseSummary(int Pairs, int Correct, double MeanMargin)
{
    public double Accuracy => Pairs == 0 ? double.NaN : (double)Correct / Pairs;
}

/// <summary>
/// Scores a data file with a reward model, encoding it as training does (<see cref="PairEncoder"/> for preference pairs:
/// prompt + each answer with the chat template; conversations through the chat template; raw text as is). Each example
/// is one forward of its own rows, so no padding is involved.
/// </summary>
public sealed class RewardScorer(RewardModelBundle model, ChatTemplate template, int maxSeqLen)
{
    readonly ExampleEncoder _encoder = new(model.Tokenizer, template, new EncodingSettings(maxSeqLen, TrainOn.LastAssistant, Truncation.Truncate));

    /// <summary>Reads <paramref name="file"/> (every format the data layer reads); unreadable records and examples that
    /// cannot be scored (KTO, prompt/completion) are one error listing each file:line.</summary>
    public IEnumerable<ScoredExample> Score(string file, CancellationToken ct = default)
    {
        var problems = new List<DataProblem>();
        var examples = DatasetReader.Read(new DatasetSpec(file), problems).ToList();
        if (problems.Count > 0) throw DataSetup.Invalid(problems);
        if (examples.Count == 0) throw new DataValidationException($"{file}: no examples to score");
        var unsupported = examples.Where(e => e is not (PreferenceExample or ChatExample or TextExample)).ToList();
        if (unsupported.Count > 0)
            throw new DataValidationException($"{unsupported.Count} example(s) cannot be scored (a reward model scores preference pairs, conversations or text):\n  " +
                string.Join("\n  ", unsupported.Take(20).Select(e => $"{e.Source}: this is a {e.GetType().Name}")));
        var pairs = new PairEncoder(_encoder);
        foreach (var example in examples)
        {
            ct.ThrowIfCancellationRequested();
            if (example is PreferenceExample preference)
            {
                var r = pairs.Encode(preference);
                var p = r.Pair ?? throw new DataValidationException($"{r.Source}: {r.Reason}");
                var s = Scores(p.Chosen.InputIds, p.Rejected.InputIds);
                yield return new ScoredExample(example.Source, null, s[0], s[1]);
            }
            else
            {
                var r = _encoder.Encode(example);
                var sample = r.Sample ?? throw new DataValidationException($"{r.Source}: {r.Reason}");
                yield return new ScoredExample(example.Source, Scores(sample.InputIds)[0], null, null);
            }
        }
    }

    /// <summary>Accuracy and mean margin over the pairs among <paramref name="scored"/>.</summary>
    public static PairwiseSummary Summarize(IEnumerable<ScoredExample> scored)
    {
        var pairs = scored.Where(s => s.IsPair).ToList();
        return new PairwiseSummary(pairs.Count, pairs.Count(p => p.Chosen > p.Rejected),
            pairs.Count == 0 ? double.NaN : pairs.Average(p => p.Chosen!.Value - p.Rejected!.Value));
    }

    double[] Scores(params int[][] rows)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = model.Model.LmHeadWeight.device;
        var result = new double[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            var ids = tensor(rows[i].Select(x => (long)x).ToArray(), device: device).unsqueeze(0);   // [1, T]
            result[i] = model.Model.Scores(ids, model.PadId).item<float>();
        }
        return result;
    }
}
