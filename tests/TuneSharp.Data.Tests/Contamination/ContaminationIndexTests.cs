using System.Text.Json;
using TuneSharp.Data.Contamination;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Data.Tests.Contamination;

/// <summary>The 13-gram contamination check (GPT-3 appendix C): crafted overlaps at the boundary (13 shared words flagged,
/// 12 not), normalisation, short items, and real benchmark items planted into real training data.</summary>
public sealed class ContaminationIndexTests
{
    static readonly SourceLocation At = new("train.jsonl", 7);

    const string Item = "Which piece of safety equipment is used to keep mold spores from entering the respiratory system of a lab worker?";

    [Fact]
    public void Words_IgnoreCaseAndPunctuation_AndSplitOnWhitespace()
    {
        Assert.Equal(["hello", "world", "its", "35", "cafè"], NGrams.Words("  Hello,\tWORLD! It's 3.5 Cafè\n"));
        Assert.Equal(NGrams.Hash(NGrams.Words("a b c"), 0, 3), NGrams.Hash(NGrams.Words("A, b; C."), 0, 3));
        Assert.NotEqual(NGrams.Hash(["ab", "c"], 0, 2), NGrams.Hash(["a", "bc"], 0, 2)); // word boundaries count
    }

    [Theory]
    [InlineData(13, true)]
    [InlineData(12, false)]
    public void AnItemIsContaminated_ExactlyWhenThirteenConsecutiveWordsRecur(int shared, bool flagged)
    {
        var words = Item.Split(' ');
        var index = new ContaminationIndex([new BenchmarkItem("arc_easy", "17", Item)]);
        // The shared words in other case and punctuation, inside unrelated text.
        string text = "Notes from class. " + string.Join(' ', words.Skip(2).Take(shared)).ToUpperInvariant().Replace(" ", ", ") + " -- end of notes.";
        index.Observe(text, At);
        var report = index.Report();
        Assert.Equal(flagged, !report.Clean);
        Assert.Equal(flagged ? 1 : 0, report.Tasks.Single().Contaminated);
        if (flagged)
        {
            var hit = report.Hits.Single();
            Assert.Equal(("arc_easy", "17"), (hit.Item.Task, hit.Item.Id));
            Assert.Equal([At], hit.Sources);
            Assert.Equal(13, hit.SharedText.Split(' ').Length);
        }
    }

    [Fact]
    public void ShortItems_AreMatchedWhole_AndVeryShortOnesSkipped()
    {
        var index = new ContaminationIndex([
            new BenchmarkItem("boolq", "1", "is the sky blue on a clear summer day"), // 9 words: matched as a whole
            new BenchmarkItem("boolq", "2", "is water wet"),                          // 3 words: too generic, skipped
        ]);
        index.Observe("Q: Is the sky blue on a clear summer day? A: yes. Is water wet? yes", At);
        var report = index.Report();
        Assert.Equal("1", report.Hits.Single().Item.Id);
        Assert.Equal(new TaskContamination("boolq", 2, 1, 1), report.Tasks.Single());
        var partial = new ContaminationIndex([new BenchmarkItem("boolq", "1", "is the sky blue on a clear summer day")]);
        partial.Observe("is the sky blue on a clear summer", At); // 8 of its 9 words
        Assert.True(partial.Report().Clean);
    }

    [Fact]
    public void AShortItem_IsFoundInsideALongerText_AmongLongItems()
    {
        var index = new ContaminationIndex([
            new BenchmarkItem("arc_easy", "3", "Question: Which characteristic describes the texture of a kitten's fur?"),
            new BenchmarkItem("arc_easy", "7", Item),
        ]);
        index.Observe("Question: Which characteristic describes the texture of a kitten's fur?\nsoft", At);
        Assert.Equal("3", index.Report().Hits.Single().Item.Id);
    }

    [Fact]
    public void Sources_AreListedOncePerLocation_UpToFive()
    {
        var index = new ContaminationIndex([new BenchmarkItem("t", "0", Item)]);
        for (int line = 1; line <= 8; line++)
        {
            index.Observe(Item, new SourceLocation("a.jsonl", line));
            index.Observe(Item, new SourceLocation("a.jsonl", line)); // the same example seen twice
        }
        Assert.Equal(Enumerable.Range(1, 5).Select(l => new SourceLocation("a.jsonl", l)), index.Report().Hits.Single().Sources);
    }

    [Fact]
    public void RealArcItems_PlantedInRealToolCallingData_AreFoundAndNothingElse()
    {
        // ARC-Easy (2376 real items) against the clean glaive tool-calling demo with two ARC questions planted into user turns.
        string arc = Fixtures.Get("datasets/eval/arc-easy/arc_easy.jsonl");
        var items = File.ReadLines(arc).Select((line, i) =>
        {
            var e = JsonDocument.Parse(line).RootElement;
            string choices = string.Join(' ', e.GetProperty("choices").EnumerateArray().Select(c => c.GetString()));
            return new BenchmarkItem("arc_easy", i.ToString(), e.GetProperty("query").GetString() + " " + choices);
        }).ToList();
        var index = new ContaminationIndex(items);

        string glaive = Fixtures.Get("datasets/llamafactory-demo/glaive_toolcall_en_demo.json");
        var examples = DatasetReader.Read(new DatasetSpec(glaive)).ToList();
        Assert.True(examples.Count > 100);
        foreach (var example in examples) index.Observe(example);
        Assert.True(index.Report().Clean, string.Join("; ", index.Report().Hits.Select(h => $"{h.Item.Id}: {h.SharedText}")));

        string Question(int i) => JsonDocument.Parse(File.ReadLines(arc).ElementAt(i)).RootElement.GetProperty("query").GetString()!["Question: ".Length..];
        var planted = new[] { (Line: 3L, Item: 5), (Line: 40L, Item: 1234) };
        foreach (var (line, item) in planted)
            index.Observe(new ChatExample(new SourceLocation(glaive, line), [new ChatMessage("user", "Quick quiz: " + Question(item)), new ChatMessage("assistant", "Let me think.")]));
        var report = index.Report();
        Assert.Equal(planted.Select(p => p.Item.ToString()), report.Hits.Select(h => h.Item.Id));
        Assert.Equal(planted.Select(p => new SourceLocation(glaive, p.Line)), report.Hits.Select(h => h.Sources.Single()));
        var task = report.Tasks.Single();
        Assert.Equal(2376, task.Items);
        Assert.Equal(2, task.Contaminated);
    }
}
