using System.CommandLine;
using TuneSharp.Inference;

namespace TuneSharp.Cli;

/// <summary>The sampling options shared by `generate` and `chat`; unset options fall back to generation_config.json.</summary>
public sealed class SamplingArguments
{
    readonly Option<int?> _maxNew = new("--max-new-tokens", "-n") { Description = "Tokens to generate at most (default: generation_config or 128)." };
    readonly Option<double?> _temperature = new("--temperature", "-t") { Description = "0 = greedy (default: generation_config)." };
    readonly Option<double?> _topP = new("--top-p") { Description = "Nucleus sampling threshold." };
    readonly Option<int?> _topK = new("--top-k") { Description = "Keep only the K most likely tokens." };
    readonly Option<double?> _minP = new("--min-p") { Description = "Drop tokens below min-p times the top probability." };
    readonly Option<double?> _repetition = new("--repetition-penalty") { Description = "Penalty > 1 discourages repeats." };
    readonly Option<long?> _seed = new("--seed") { Description = "Random seed for sampling." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _maxNew, _temperature, _topP, _topK, _minP, _repetition, _seed })
            command.Options.Add(option);
    }

    /// <summary>generation_config's choices, overridden by what was given on the command line.</summary>
    public SamplingOptions Resolve(ParseResult parse, GenerationConfig generation, IReadOnlyCollection<int> stopTokenIds)
    {
        var defaults = generation.ToSamplingOptions();
        var options = defaults with
        {
            MaxNewTokens = parse.GetValue(_maxNew) ?? defaults.MaxNewTokens,
            Temperature = parse.GetValue(_temperature) ?? defaults.Temperature,
            TopP = parse.GetValue(_topP) ?? defaults.TopP,
            TopK = parse.GetValue(_topK) ?? defaults.TopK,
            MinP = parse.GetValue(_minP) ?? defaults.MinP,
            RepetitionPenalty = parse.GetValue(_repetition) ?? defaults.RepetitionPenalty,
            Seed = parse.GetValue(_seed),
            StopTokenIds = stopTokenIds,
        };
        options.Validate();
        return options;
    }
}
