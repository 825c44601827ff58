using TuneSharp.Data.Batching;

namespace TuneSharp.Data.Encoding;

/// <summary>Which tokens of a conversation the model is trained to predict.</summary>
public enum TrainOn
{
    /// <summary>Every assistant turn: its content and end-of-turn token, not the role header (HF assistant_only_loss).</summary>
    Assistant,
    /// <summary>Every token (system, user, headers included), except assistant turns with weight 0.</summary>
    All,
    /// <summary>Only the final assistant turn.</summary>
    LastAssistant,
}

/// <summary>What to do with an example longer than <see cref="EncodingSettings.MaxSeqLen"/>.</summary>
public enum Truncation
{
    /// <summary>Keep the first MaxSeqLen tokens.</summary>
    Truncate,
    /// <summary>Skip the example.</summary>
    Drop,
}

/// <summary>Settings of <see cref="ExampleEncoder"/>. <paramref name="AddEosToText"/> appends EOS to completions and
/// single text examples (pretraining windows always separate documents with EOS).</summary>
public sealed record EncodingSettings(int MaxSeqLen, TrainOn TrainOn = TrainOn.Assistant, Truncation Truncation = Truncation.Truncate,
    bool AddEosToText = true)
{
    /// <summary>Stable text form, part of the cache key.</summary>
    public string Describe() => $"max_seq_len={MaxSeqLen};train_on={TrainOn};truncation={Truncation};add_eos_to_text={AddEosToText}";
}

/// <summary>Outcome of encoding one example.</summary>
public enum EncodeStatus
{
    Encoded,
    /// <summary>Longer than MaxSeqLen; the first MaxSeqLen tokens were kept.</summary>
    Truncated,
    /// <summary>Skipped by policy (too long with <see cref="Truncation.Drop"/>, or nothing left to train on).</summary>
    Dropped,
    /// <summary>The example could not be encoded (template error, assistant turn not found, unsupported kind).</summary>
    Problem,
}

/// <summary>
/// The result of <see cref="ExampleEncoder.Encode"/>: a sample (Encoded/Truncated) or a reason (Dropped/Problem).
/// <paramref name="FullLength"/> is the token count before truncation (0 when unknown).
/// </summary>
public sealed record EncodeResult(EncodeStatus Status, TokenizedSample? Sample, SourceLocation Source, string? Reason, int FullLength)
{
    public static EncodeResult Problem(SourceLocation source, string reason) => new(EncodeStatus.Problem, null, source, reason, 0);

    public override string ToString() => Reason == null ? $"{Source}: {Status}" : $"{Source}: {Status}: {Reason}";
}
