using System.Text;
using Parquet;
using Parquet.Schema;
using Xunit;

namespace TuneSharp.Data.Tests;

/// <summary>Hostile and broken inputs become DataProblems with file, line, code and field; never crashes or unbounded memory.</summary>
public sealed class BadInputTests
{
    static List<DataProblem> Problems(string path, DatasetSpec? spec = null)
    {
        var problems = new List<DataProblem>();
        _ = DatasetReader.Read((spec ?? new DatasetSpec(path)) with { Path = path }, problems).ToList();
        return problems;
    }

    const string Good = """{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""";

    [Fact]
    public void InvalidUtf8_IsReportedWithLine_AndOtherLinesStillRead()
    {
        using var tmp = new TempDir();
        var bytes = System.Text.Encoding.UTF8.GetBytes(Good + "\n").Concat(new byte[] { (byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}', (byte)'\n' })
            .Concat(System.Text.Encoding.UTF8.GetBytes(Good + "\n")).ToArray();
        string path = tmp.WriteBytes("x.jsonl", bytes);
        var problems = new List<DataProblem>();
        Assert.Equal(2, DatasetReader.Read(new DatasetSpec(path), problems).Count());
        var p = Assert.Single(problems);
        Assert.Equal((ProblemCodes.InvalidUtf8, 2L), (p.Code, p.Location.Line));
        Assert.Contains("byte 3", p.Message);
    }

    [Fact]
    public void TruncatedGzip_IsReported()
    {
        using var tmp = new TempDir();
        string full = tmp.Write("x.jsonl.gz", string.Concat(Enumerable.Repeat(Good + "\n", 2000)));
        var bytes = File.ReadAllBytes(full);
        string cut = tmp.WriteBytes("cut.jsonl", bytes[..(bytes.Length / 2)]);
        File.Move(cut, cut + ".gz");
        Assert.Empty(Problems(full));
        var p = Problems(cut + ".gz").Last();
        Assert.Equal(ProblemCodes.TruncatedGzip, p.Code);
    }

    [Fact]
    public void HundredMegabyteLine_IsSkippedWithBoundedMemory()
    {
        using var tmp = new TempDir();
        string path = System.IO.Path.Combine(tmp.Path, "long.jsonl");
        using (var f = File.Create(path))
        {
            f.Write(System.Text.Encoding.UTF8.GetBytes(Good + "\n{\"text\":\""));
            var chunk = new byte[1 << 20];
            chunk.AsSpan().Fill((byte)'a');
            for (int i = 0; i < 100; i++) f.Write(chunk);
            f.Write(System.Text.Encoding.UTF8.GetBytes("\"}\n" + Good + "\n"));
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var problems = new List<DataProblem>();
        int count = DatasetReader.Read(new DatasetSpec(path), problems).Count();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(2, count);
        var p = Assert.Single(problems);
        Assert.Equal((ProblemCodes.LineTooLong, 2L), (p.Code, p.Location.Line));
        // The buffer grows to the 64 MiB cap at most (~130 MB allocated in doublings); reading the line whole
        // as a string would take > 300 MB (100 MB of bytes + 200 MB of UTF-16).
        Assert.True(allocated < 200L << 20, $"allocated {allocated >> 20} MiB");
    }

    [Fact]
    public void NestingBomb_IsReportedNotThrown()
    {
        using var tmp = new TempDir();
        string bomb = new string('[', 100_000);
        string jsonl = tmp.Write("bomb.jsonl", Good + "\n{\"messages\":" + bomb + "\n" + Good + "\n");
        var problems = new List<DataProblem>();
        Assert.Equal(2, DatasetReader.Read(new DatasetSpec(jsonl), problems).Count());
        Assert.Equal((ProblemCodes.NestingTooDeep, 2L), (problems.Single().Code, problems.Single().Location.Line));
        string json = tmp.Write("bomb.json", "[" + Good + "," + bomb);
        var p = Problems(json);
        Assert.Equal(ProblemCodes.NestingTooDeep, p.Single().Code);
    }

    [Fact]
    public void RaggedCsv_RowsAreReportedByLine()
    {
        using var tmp = new TempDir();
        string path = tmp.Write("x.csv", "prompt,completion\nhello,world\nonly-one\na,b,c\n\"quoted, comma\",ok\n");
        var problems = new List<DataProblem>();
        var examples = DatasetReader.Read(new DatasetSpec(path), problems).Cast<CompletionExample>().ToList();
        Assert.Equal(["world", "ok"], examples.Select(e => e.Completion));
        Assert.Equal("quoted, comma", examples[1].Prompt);
        Assert.Equal([(ProblemCodes.RaggedRow, 3L), (ProblemCodes.RaggedRow, 4L)], problems.Select(p => (p.Code, p.Location.Line)));
    }

    [Fact]
    public async Task ParquetIntColumn_WhereStringExpected_NamesColumnAndType()
    {
        using var tmp = new TempDir();
        string path = System.IO.Path.Combine(tmp.Path, "x.parquet");
        var prompt = new DataField<string>("prompt");
        var completion = new DataField<int>("completion");
        await using (var file = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(prompt, completion), file, cancellationToken: TestContext.Current.CancellationToken))
        {
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync(prompt, new[] { "1+1", "2+2" });
            await rg.WriteAsync<int>(completion, new[] { 2, 4 }.AsMemory(), cancellationToken: TestContext.Current.CancellationToken);
        }
        var problems = Problems(path);
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.Equal((ProblemCodes.UnexpectedColumnType, "completion"), (p.Code, p.Field)));
        Assert.Contains("'completion' has type Int32", problems[0].Message);
        Assert.Equal([1L, 2L], problems.Select(p => p.Location.Line));
    }

    [Fact]
    public async Task ParquetStringColumns_AreRead()
    {
        using var tmp = new TempDir();
        string path = System.IO.Path.Combine(tmp.Path, "x.parquet");
        var text = new DataField<string>("text");
        var id = new DataField<long>("id");
        await using (var file = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, text), file, cancellationToken: TestContext.Current.CancellationToken))
        {
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync<long>(id, new long[] { 7, 8 }.AsMemory(), cancellationToken: TestContext.Current.CancellationToken);
            await rg.WriteAsync(text, new[] { "alpha", "beta" });
        }
        var examples = DatasetReader.Read(new DatasetSpec(path)).Cast<TextExample>().ToList();
        Assert.Equal(["alpha", "beta"], examples.Select(e => e.Text));
    }

    [Theory]
    [InlineData("empty.jsonl", "")]
    [InlineData("empty.json", "  \n")]
    [InlineData("empty2.json", "[]")]
    [InlineData("empty.csv", "")]
    [InlineData("empty.txt", "")]
    [InlineData("empty.jsonl.gz", "")]
    public void EmptyFile_IsReported(string name, string content)
    {
        using var tmp = new TempDir();
        var p = Assert.Single(Problems(tmp.Write(name, content)));
        Assert.Equal(ProblemCodes.EmptyFile, p.Code);
    }

    [Fact]
    public void WithoutProblemList_FirstProblemThrows_WithFileLineCodeAndHint()
    {
        using var tmp = new TempDir();
        string path = tmp.Write("x.jsonl", Good + "\n{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}\n");
        var e = Assert.Throws<DataFormatException>(() => DatasetReader.Read(new DatasetSpec(path)).ToList());
        Assert.Equal(ProblemCodes.MissingAssistantMessage, e.Problem.Code);
        Assert.StartsWith($"{path}:2: example_missing_assistant_message [messages]: example has no assistant message (detected OpenAI chat because the record has 'messages').", e.Message);
        Assert.EndsWith("add at least one assistant message (the training target)", e.Message);
    }

    [Fact]
    public void InvalidJson_ReportsPosition()
    {
        using var tmp = new TempDir();
        var p = Assert.Single(Problems(tmp.Write("x.jsonl", Good + "\n{\"messages\": [}\n")));
        Assert.Equal((ProblemCodes.InvalidJson, 2L), (p.Code, p.Location.Line));
        Assert.Contains("byte 15", p.Message);
    }

    [Fact]
    public void JsonArray_ProblemsCarryRecordIndexAndTextLine()
    {
        using var tmp = new TempDir();
        string path = tmp.Write("x.json", "[\n" + Good + ",\n{\n\"messages\": 5\n}\n]\n");
        var p = Assert.Single(Problems(path));
        Assert.Equal((ProblemCodes.WrongType, "messages", 2L, (long?)3), (p.Code, p.Field, p.Location.Line, p.TextLine));
        Assert.StartsWith($"{path}:3 (record 2): wrong_type [messages]", p.ToString());
    }
}
