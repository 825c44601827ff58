using Xunit;

namespace TuneSharp.Data.Tests;

public sealed class ValidatorTests
{
    static readonly string[] BadLines =
    [
        """{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}""",
        """{"messages":[{"role":"robot","content":"q"},{"role":"assistant","content":"a"}]}""",
        """{"messages":[{"role":"user"},{"role":"assistant","content":"a","weight":2}]}""",
        """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]},{"role":"assistant","content":"a"}]}""",
        """{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{bad"}}]}]}""",
        """{"prompt":"p","completion":""}""",
        """{"foo":1}""",
        """{"messages":"nope"}""",
        """{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":"c","weight":0}]}""",
        """{"conversations":[{"from":"human","value":"q"},{"from":"bot","value":"a"}]}""",
        """{"prompt":"p","chosen":"x","rejected":"y"}""",
        """{"prompt":"p","completion":"c","label":"maybe"}""",
        "not json",
    ];

    [Fact]
    public void Validate_ListsEveryProblem_WithCodesFieldsAndCounts()
    {
        using var tmp = new TempDir();
        string path = tmp.Write("x.jsonl", string.Join("\n", BadLines) + "\n");
        var report = DataValidator.Validate(new DatasetSpec(path));
        var got = report.Problems.Select(p => (p.Location.Line, p.Code, p.Field)).ToList();
        (long, string, string?)[] expected =
        [
            (2, ProblemCodes.UnrecognizedRole, "messages[0].role"),
            (3, ProblemCodes.MissingContent, "messages[0].content"),
            (3, ProblemCodes.InvalidWeight, "messages[1].weight"),
            (4, ProblemCodes.UnsupportedContentPart, "messages[0].content[0]"),
            (5, ProblemCodes.InvalidToolCall, "messages[1].tool_calls[0].arguments"),
            (6, ProblemCodes.EmptyCompletion, "completion"),
            (7, ProblemCodes.UnknownFormat, null),
            (8, ProblemCodes.WrongType, "messages"),
            (10, ProblemCodes.UnrecognizedRole, "conversations[1].from"),
            (12, ProblemCodes.InvalidLabel, "label"),
            (13, ProblemCodes.InvalidJson, null),
        ];
        Assert.Equal(expected, got);
        Assert.Equal(3, report.ExampleCount);   // lines 1, 9, 11
        Assert.Equal(11, report.TotalProblems);
        Assert.Equal(2, report.ProblemCounts[ProblemCodes.UnrecognizedRole]);
        Assert.Equal(2, report.Formats[DataFormat.Chat]);
        Assert.Equal(1, report.Formats[DataFormat.Preference]);
        Assert.Contains("unknown_format", report.ToText());
        Assert.Contains("none of: 'messages' (chat)", report.Problems.Single(p => p.Code == ProblemCodes.UnknownFormat).Message);
    }

    [Fact]
    public void Validate_CapsListedProblems_ButCountsAll()
    {
        using var tmp = new TempDir();
        string path = tmp.Write("x.jsonl", string.Concat(Enumerable.Repeat("{\"foo\":1}\n", 120)));
        var report = DataValidator.Validate(new DatasetSpec(path), new ValidationOptions { MaxProblems = 10 });
        Assert.Equal(10, report.Problems.Count);
        Assert.Equal(120, report.TotalProblems);
        Assert.Contains("... and 110 more", report.ToText());
    }

    [Fact]
    public void TokenCounterHook_DrivesHistogramAndTooLong()
    {
        using var tmp = new TempDir();
        string path = tmp.Write("x.jsonl", "{\"text\":\"a b c\"}\n{\"text\":\"a b c d e f g h i j\"}\n{\"text\":\"x\"}\n");
        int Words(Example e) => ((TextExample)e).Text.Split(' ').Length;
        var report = DataValidator.Validate(new DatasetSpec(path), new ValidationOptions { TokenCounter = Words, MaxSeqLen = 8 });
        Assert.Equal("tokens", report.LengthUnit);
        Assert.Equal((1L, 10L), (report.MinLength, report.MaxLength));
        Assert.Equal([(1L, 1L), (2, 0), (4, 1), (8, 0), (16, 1)], report.Histogram.Select(b => (b.UpperBound, b.Count)));
        var p = Assert.Single(report.Problems);
        Assert.Equal((ProblemCodes.TooLong, 2L), (p.Code, p.Location.Line));
        Assert.Equal(5 + 19 + 1, report.Characters);
    }
}
