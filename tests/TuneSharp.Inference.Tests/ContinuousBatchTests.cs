using TuneSharp.Inference;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Inference.Tests;

/// <summary>
/// Continuous batching on stories260K: every sequence of a batch (joining at different steps, with its own prompt length,
/// settings and stop rules) produces exactly what <see cref="TextGenerator"/> produces for it alone.
/// </summary>
public sealed class ContinuousBatchTests : IDisposable
{
    readonly ModelBundle _bundle = ModelBundle.Load(Fixtures.Get("models/stories260K-hf"));

    public void Dispose() => _bundle.Dispose();

    sealed class Sink : ISequenceSink
    {
        public readonly System.Text.StringBuilder Text = new();
        public string? FinishReason;
        public int Tokens;
        public bool Cancelled { get; set; }
        void ISequenceSink.Text(string piece) => Text.Append(piece);
        void ISequenceSink.Finished(string finishReason, int completionTokens) => (FinishReason, Tokens) = (finishReason, completionTokens);
    }

    (string Text, string Finish, int Tokens) Alone(string prompt, SamplingOptions options)
    {
        var generator = new TextGenerator(_bundle.Model, _bundle.Tokenizer);
        string text = string.Concat(generator.Stream(Ids(prompt), options));
        return (text, generator.FinishReason, generator.LastStats.GeneratedTokens);
    }

    int[] Ids(string prompt) => _bundle.Tokenizer.Encode(prompt, addSpecialTokens: true);

    SamplingOptions Greedy(int max, params string[] stops) =>
        new() { Temperature = 0, MaxNewTokens = max, StopTokenIds = [.. _bundle.StopTokenIds], StopStrings = stops };

    /// <summary>Adds the requests one per step (so they join a running batch), then steps until all have finished.</summary>
    List<Sink> RunStaggered(ContinuousBatch batch, IReadOnlyList<(string Prompt, SamplingOptions Options)> requests, Action<int, List<Sink>>? afterStep = null)
    {
        var sinks = new List<Sink>();
        for (int step = 0; sinks.Count < requests.Count || batch.Count > 0; step++)
        {
            if (sinks.Count < requests.Count && batch.HasRoom)
            {
                var (prompt, options) = requests[sinks.Count];
                var sink = new Sink();
                sinks.Add(sink);
                batch.Add(Ids(prompt), options, sink);
            }
            batch.DropCancelled();
            batch.Step();
            afterStep?.Invoke(step, sinks);
        }
        return sinks;
    }

    [Fact]
    public void Greedy_EachSequenceOfAStaggeredBatch_EqualsItsOutputAlone()
    {
        (string, SamplingOptions)[] requests =
        [
            ("Once upon a time", Greedy(60)),
            ("Lily", Greedy(25)),
            ("The little dog wanted to play with the ball in the park", Greedy(50)),
            ("Tom had a red", Greedy(40, "ball", ".")),
            ("One day", Greedy(1)),
            ("The sun", Greedy(45)),
        ];
        using var batch = new ContinuousBatch(_bundle.Model, _bundle.Tokenizer, slots: 4, maxLength: 512);
        var sinks = RunStaggered(batch, requests);
        for (int i = 0; i < requests.Length; i++)
        {
            var (text, finish, tokens) = Alone(requests[i].Item1, requests[i].Item2);
            Assert.Equal(text, sinks[i].Text.ToString());
            Assert.Equal(finish, sinks[i].FinishReason);
            Assert.Equal(tokens, sinks[i].Tokens);
        }
        Assert.Equal("stop", sinks[3].FinishReason); // the stop strings did cut one sequence
    }

    [Fact]
    public void Sampled_WithSeeds_EachSequenceEqualsItsOutputAlone()
    {
        SamplingOptions Sampled(long seed, double temperature, double topP) => Greedy(40) with
        {
            Temperature = temperature, TopP = topP, TopK = 50, RepetitionPenalty = 1.1, Seed = seed,
        };
        (string, SamplingOptions)[] requests =
        [
            ("Once upon a time", Sampled(1, 1.0, 0.9)),
            ("Once upon a time", Sampled(2, 0.7, 1.0)),
            ("Lily went", Sampled(3, 1.3, 0.95)),
        ];
        using var batch = new ContinuousBatch(_bundle.Model, _bundle.Tokenizer, slots: 3, maxLength: 512);
        var sinks = RunStaggered(batch, requests);
        for (int i = 0; i < requests.Length; i++) Assert.Equal(Alone(requests[i].Item1, requests[i].Item2).Text, sinks[i].Text.ToString());
        Assert.NotEqual(sinks[0].Text.ToString(), sinks[1].Text.ToString()); // same prompt, other seed and settings
    }

    [Fact]
    public void CancelledSequence_LeavesTheBatch_AndTheOthersAreUndisturbed()
    {
        (string, SamplingOptions)[] requests = [("Once upon a time", Greedy(50)), ("Lily", Greedy(50)), ("The cat", Greedy(50))];
        using var batch = new ContinuousBatch(_bundle.Model, _bundle.Tokenizer, slots: 3, maxLength: 512);
        var sinks = RunStaggered(batch, requests, (step, s) =>
        {
            if (step == 5) s[0].Cancelled = true; // the first slot leaves: the last one moves into it
        });
        Assert.Null(sinks[0].FinishReason);
        for (int i = 1; i < requests.Length; i++) Assert.Equal(Alone(requests[i].Item1, requests[i].Item2).Text, sinks[i].Text.ToString());
    }

    [Fact]
    public void ManySequences_LeaveNoLiveTensors()
    {
        using var batch = new ContinuousBatch(_bundle.Model, _bundle.Tokenizer, slots: 3, maxLength: 512);
        (string, SamplingOptions)[] requests = [("Once", Greedy(20)), ("Lily", Greedy(30)), ("The cat", Greedy(10)), ("Tom", Greedy(25))];
        long growth = LiveTensors.GrowthOver(3, () => RunStaggered(batch, requests, (step, s) =>
        {
            if (step == 3) s[1].Cancelled = true;
        }));
        Assert.Equal(0, growth);
    }
}
