namespace TuneSharp.Inference;

/// <summary>How the next token is chosen. Temperature 0 means greedy (argmax).</summary>
public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 128;
    public double Temperature { get; init; } = 1.0;
    /// <summary>Keep the K most likely tokens (0 = off).</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus sampling: the smallest set whose probability reaches P (1 = off).</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Drop tokens whose probability is below MinP times the top token's (0 = off).</summary>
    public double MinP { get; init; }
    /// <summary>CTRL-style penalty on tokens already in the sequence, prompt included (1 = off).</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    public long? Seed { get; init; }
    /// <summary>Token ids that end a sequence (EOS and friends); the stop token itself is not emitted.</summary>
    public IReadOnlyCollection<int> StopTokenIds { get; init; } = [];
    /// <summary>Strings that end generation; the text is cut before the stop string.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    public bool Greedy => Temperature <= 0;

    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "must be >= 0");
        if (Temperature < 0) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be >= 0");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "must be >= 0");
        if (TopP is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "must be in (0, 1]");
        if (MinP is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "must be in [0, 1]");
        if (RepetitionPenalty <= 0) throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "must be > 0");
    }
}
