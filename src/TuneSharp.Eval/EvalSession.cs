using TuneSharp.Eval.Scoring;
using TuneSharp.Models;
using TuneSharp.Tokenizers;

namespace TuneSharp.Eval;

/// <summary>What a task runs with: the model, its tokenizer, the scorer, stop tokens and the run's options.</summary>
public sealed class EvalSession
{
    public EvalSession(CausalLM model, HfTokenizer tokenizer, IReadOnlyCollection<int> stopTokenIds, EvalOptions options)
    {
        options.Validate();
        Model = model;
        Tokenizer = tokenizer;
        StopTokenIds = stopTokenIds;
        Options = options;
        MaxLength = options.MaxLength ?? model.Args.MaxPositionEmbeddings;
        Encoder = new RequestEncoder(tokenizer, options.AddBos);
        Scorer = new LoglikelihoodScorer(model, MaxLength, options.BatchSize);
    }

    public CausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    public IReadOnlyCollection<int> StopTokenIds { get; }
    public EvalOptions Options { get; }
    /// <summary>The longest input a forward sees (the model's max_position_embeddings unless set).</summary>
    public int MaxLength { get; }
    public RequestEncoder Encoder { get; }
    public LoglikelihoodScorer Scorer { get; }

    /// <summary>The first <see cref="EvalOptions.Limit"/> items (all without a limit).</summary>
    public IReadOnlyList<T> Limit<T>(IReadOnlyList<T> items) =>
        Options.Limit is { } n && n < items.Count ? items.Take(n).ToList() : items;
}
