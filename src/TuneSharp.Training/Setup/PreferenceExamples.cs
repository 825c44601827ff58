using TuneSharp.Data;
using TuneSharp.Training.Config;
using DataSpec = TuneSharp.Data.DatasetSpec;

namespace TuneSharp.Training.Setup;

/// <summary>The examples of a preference run before encoding: training (after <c>data.max_samples</c>) and validation.</summary>
public sealed record PreferenceExamples(IReadOnlyList<Example> Train, IReadOnlyList<Example> Validation, int TrainBeforeCap, int DuplicatesRemoved)
{
    /// <summary>
    /// Reads and validates every dataset of <c>data:</c> (every problem reported at once with its file:line), mixes them
    /// and splits off validation examples (<c>data.val_size</c> / <c>data.val_path</c>), as every preference data setup does.
    /// </summary>
    public static PreferenceExamples Read(TrainConfig cfg, CancellationToken ct)
    {
        var data = cfg.Data;
        if (data.Datasets.Count == 0) throw new ArgumentException("data.datasets is empty: give at least one dataset");
        var problems = new List<DataProblem>();
        var mixed = DatasetMixer.Mix([.. data.Datasets.Select(d => DataSetup.ToDataSpec(d, TextSplit.File))], new MixOptions
        {
            Seed = (ulong)cfg.Train.Seed,
            ValSize = data.ValSize,
            ValidationSpecs = data.ValPath is { } vp ? new List<DataSpec> { new(vp) } : null,
            RemoveDuplicates = data.Dedup,
        }, problems);
        if (problems.Count > 0) throw DataSetup.Invalid(problems);
        ct.ThrowIfCancellationRequested();
        var train = data.MaxSamples is { } max ? mixed.Train.Take(max).ToList() : mixed.Train;
        if (train.Count == 0) throw new ArgumentException("the training datasets contain no examples");
        return new PreferenceExamples(train, mixed.Validation, mixed.Train.Count, mixed.DuplicatesRemoved);
    }
}
