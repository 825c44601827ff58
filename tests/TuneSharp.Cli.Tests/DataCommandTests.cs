using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>`tunesharp data validate` and `tunesharp data preview`, driven in process through <see cref="CliApp.RunAsync"/>.</summary>
public sealed class DataCommandTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tunesharp-data-cli").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    const string Good =
        """
        {"messages": [{"role": "user", "content": "What is the capital of France?"}, {"role": "assistant", "content": "Paris."}]}
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}

        """;

    // The same two conversations written out in ChatML by hand (the reference for token counts).
    const string GoodChatml1 = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n";
    const string GoodChatml2 = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n";

    const string Bad =
        """
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
        {"messages": [{"role": "user", "content": "hi"}]}
        not json
        {"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"}]}

        """;

    string Write(string name, string text)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = await CliApp.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    static async Task<JsonObject> RunJson(params string[] args)
    {
        var (exit, output, err) = await Run([.. args, "--json"]);
        Assert.True(exit is 0 or 1, err);
        return JsonNode.Parse(output)!.AsObject();
    }

    static string Qwen3 => Fixtures.Get("tokenizers/qwen3");
    static string Stories => Fixtures.Get("models/stories260K-hf");

    [Fact]
    public async Task Validate_BadFile_ListsEveryProblemWithFileLineFieldAndCode_Exit1()
    {
        string path = Write("bad.jsonl", Bad);
        var (exit, output, _) = await Run("data", "validate", path);
        Assert.Equal(1, exit);
        Assert.Matches(@"bad\.jsonl:2\s+example_missing_assistant_message\s+messages\s+example has no assistant message", output);
        Assert.Matches(@"bad\.jsonl:3\s+invalid_json\s+-\s+", output);
        Assert.Matches(@"bad\.jsonl:4\s+unrecognized_role\s+messages\[0\]\.role\s+unrecognized role 'wizard'.*use one of", output);
        Assert.Matches(@"problems\s+3\b", output);
        Assert.DoesNotContain("bad.jsonl:1", output);
        // Problem columns are aligned: the code column starts at the same offset on every problem line.
        var starts = output.Split('\n').Where(l => l.Contains("bad.jsonl:", StringComparison.Ordinal) && !l.Contains("dataset", StringComparison.Ordinal))
            .Select(l => Regex.Match(l, @"\s(example_missing|invalid_json|unrecognized_role)").Index).Distinct().ToList();
        Assert.Single(starts);
    }

    [Fact]
    public async Task Validate_MaxProblems_ListsTheFirstAndCountsTheRest()
    {
        string path = Write("bad.jsonl", Bad);
        var (exit, output, _) = await Run("data", "validate", path, "--max-problems", "1");
        Assert.Equal(1, exit);
        Assert.Contains("bad.jsonl:2", output);
        Assert.DoesNotContain("bad.jsonl:4", output);
        Assert.Contains("... and 2 more", output);

        var json = await RunJson("data", "validate", path, "--max-problems", "1");
        Assert.False(json["valid"]!.GetValue<bool>());
        Assert.Equal(3, json["problems_total"]!.GetValue<long>());
        var listed = json["problems"]!.AsArray();
        Assert.Single(listed);
        Assert.Equal(2, listed[0]!["line"]!.GetValue<long>());
        Assert.Equal("example_missing_assistant_message", listed[0]!["code"]!.GetValue<string>());
        Assert.Equal(1, json["problem_counts"]!["invalid_json"]!.GetValue<long>());
    }

    [Fact]
    public async Task Validate_GoodFile_WithoutModel_CountsCharactersAndTurns_Exit0()
    {
        string path = Write("good.jsonl", Good);
        var (exit, output, _) = await Run("data", "validate", path);
        Assert.Equal(0, exit);
        Assert.Contains("pass --model", output);
        var json = await RunJson("data", "validate", path);
        Assert.True(json["valid"]!.GetValue<bool>());
        Assert.Equal(2, json["examples"]!.GetValue<long>());
        Assert.Equal(5, json["turns"]!.GetValue<long>());
        long chars = "What is the capital of France?".Length + "Paris.".Length + "Be brief.".Length + "2+2?".Length + "4".Length;
        Assert.Equal(chars, json["characters"]!.GetValue<long>());
        Assert.Equal("characters", json["length"]!["unit"]!.GetValue<string>());
        Assert.Null(json["tokens"]);
    }

    [Fact]
    public async Task Validate_WithTokenizer_CountsPromptAndTrainedTokens_AndPaddingEfficiency()
    {
        string path = Write("good.jsonl", Good);
        var tok = HfTokenizer.Load(Qwen3);
        int l1 = tok.Encode(GoodChatml1, addSpecialTokens: false).Length, l2 = tok.Encode(GoodChatml2, addSpecialTokens: false).Length;
        // Trained: the assistant text and <|im_end|>, not the newline after it.
        int trained = tok.Encode("Paris.<|im_end|>", false).Length + tok.Encode("4<|im_end|>", false).Length;

        var json = await RunJson("data", "validate", path, "--model", Qwen3, "--template", "chatml");
        Assert.True(json["valid"]!.GetValue<bool>());
        var t = json["tokens"]!;
        Assert.Equal("chatml (built-in)", t["template"]!.GetValue<string>());
        Assert.Equal(trained, t["trained_tokens"]!.GetValue<long>());
        Assert.Equal(l1 + l2 - trained, t["prompt_tokens"]!.GetValue<long>());
        Assert.Equal(l1 + l2, t["epoch_tokens"]!.GetValue<long>());
        Assert.Equal(Math.Min(l1, l2), t["length"]!["min"]!.GetValue<long>());
        Assert.Equal(Math.Max(l1, l2), t["length"]!["max"]!.GetValue<long>());
        Assert.Equal(0, t["truncated"]!.GetValue<long>());
        // Micro batch 4: both samples in one padded batch of 2 x max; packed into one row of l1 + l2.
        Assert.Equal(1, t["padded"]!["batches"]!.GetValue<long>());
        Assert.Equal(2 * Math.Max(l1, l2), t["padded"]!["cells"]!.GetValue<long>());
        Assert.Equal((double)(l1 + l2) / (2 * Math.Max(l1, l2)), t["padded"]!["efficiency"]!.GetValue<double>(), 1e-6);
        Assert.Equal(1.0, t["packed"]!["efficiency"]!.GetValue<double>(), 1e-9);

        var (exit, text, _) = await Run("data", "validate", path, "--model", Qwen3, "--template", "chatml");
        Assert.Equal(0, exit);
        Assert.Matches($@"trained\s+{trained}\s", text);
        Assert.Matches($@"per epoch\s+{l1 + l2}\s", text);
        Assert.Contains("padded", text);
        Assert.Contains("packed", text);
    }

    [Fact]
    public async Task Validate_MaxSeqLen_CountsTruncatedAndDroppedExamples()
    {
        string path = Write("good.jsonl", Good);
        var tok = HfTokenizer.Load(Qwen3);
        int l1 = tok.Encode(GoodChatml1, false).Length, l2 = tok.Encode(GoodChatml2, false).Length;
        Assert.True(l2 > l1 + 1, $"{l1} {l2}");
        // One token short of the second example: only its trailing "\n" (untrained) is cut.
        int max = l2 - 1;
        var t = (await RunJson("data", "validate", path, "-m", Qwen3, "--template", "chatml", "--max-seq-len", max.ToString()))["tokens"]!;
        Assert.Equal(1, t["truncated"]!.GetValue<long>());
        Assert.Equal(0, t["dropped"]!.GetValue<long>());
        Assert.Equal(l1 + max, t["epoch_tokens"]!.GetValue<long>());
        Assert.Equal(l2, t["length"]!["max"]!.GetValue<long>());  // lengths are before truncation

        // Cut before its assistant turn, the second example has nothing to train on and is dropped.
        var (exit, text, _) = await Run("data", "validate", path, "-m", Qwen3, "--template", "chatml", "--max-seq-len", l1.ToString());
        Assert.Equal(0, exit);
        Assert.Matches(@"dropped\s+1\s", text);
        Assert.Contains("good.jsonl:2: Dropped: no trained token within the first", text);
    }

    [Fact]
    public async Task Validate_PaddedEfficiency_MatchesTheLengths_AndPackingDoesBetter()
    {
        // 8 conversations of very different lengths, micro batch 4: two padded batches.
        var users = Enumerable.Range(0, 8).Select(i => string.Concat(Enumerable.Repeat("word ", 1 + 6 * i)).TrimEnd()).ToList();
        var lines = users.Select(u => $$"""{"messages": [{"role": "user", "content": "{{u}}"}, {"role": "assistant", "content": "ok"}]}""");
        string path = Write("mixed.jsonl", string.Join('\n', lines) + "\n");
        var tok = HfTokenizer.Load(Qwen3);
        var lengths = users.Select(u => tok.Encode($"<|im_start|>user\n{u}<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n", false).Length).ToList();
        double expected = (double)lengths.Sum() / lengths.Chunk(4).Sum(c => 4L * c.Max());

        var t = (await RunJson("data", "validate", path, "-m", Qwen3, "--template", "chatml", "--max-seq-len", lengths.Max().ToString()))["tokens"]!;
        double padded = t["padded"]!["efficiency"]!.GetValue<double>(), packed = t["packed"]!["efficiency"]!.GetValue<double>();
        Assert.Equal(2, t["padded"]!["batches"]!.GetValue<long>());
        Assert.Equal(expected, padded, 1e-6);
        Assert.True(packed > padded, $"packed {packed} vs padded {padded}");
        Assert.Equal(lengths.Sum(), t["epoch_tokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task Validate_UsageErrors_Exit2()
    {
        string path = Write("good.jsonl", Good);
        var missing = await Run("data", "validate", Path.Combine(dir, "nope.jsonl"));
        Assert.Equal(2, missing.Exit);
        Assert.Contains("dataset not found", missing.Err);

        var template = await Run("data", "validate", path, "--model", Qwen3, "--template", "nosuch");
        Assert.Equal(2, template.Exit);
        Assert.Contains("unknown chat template 'nosuch'", template.Err);

        var format = await Run("data", "validate", path, "--format", "yaml");
        Assert.Equal(2, format.Exit);
        Assert.Contains("unknown dataset format", format.Err);

        var option = await Run("data", "validate", path, "--bogus");
        Assert.Equal(2, option.Exit);

        var model = await Run("data", "validate", path, "--model", Path.Combine(dir, "no-model"));
        Assert.Equal(2, model.Exit);
        Assert.Contains("--model", model.Err);

        // stories260K has a tokenizer but no chat template: chat data needs --template.
        var noTemplate = await Run("data", "validate", path, "--model", Stories);
        Assert.Equal(2, noTemplate.Exit);
        Assert.Contains("no chat_template", noTemplate.Err);
        Assert.Equal(0, (await Run("data", "validate", path, "--model", Stories, "--template", "chatml")).Exit);
    }

    [Fact]
    public async Task Validate_TemplateThatCannotRenderAConversation_IsAnEncodingProblem()
    {
        // A template that refuses system messages: the second example cannot be encoded.
        string template = Write("strict.jinja",
            "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}" +
            "{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}");
        string path = Write("good.jsonl", Good);
        var (exit, output, _) = await Run("data", "validate", path, "-m", Qwen3, "--template", template);
        Assert.Equal(1, exit);
        Assert.Matches(@"good\.jsonl:2\s+encoding_failed\s+-\s+chat template: .*no system role", output);
        Assert.Contains("check the roles and order the template expects", output); // a structural refusal
        Assert.DoesNotContain("good.jsonl:1", output);
    }

    [Fact]
    public async Task Validate_MessageTooLargeForTheTemplate_IsReportedWithItsSize_NotAsARolesProblem()
    {
        // 17 Mi characters: more than the template engine builds into one string (16 Mi), so chatml cannot render it.
        string huge = new('a', 17 * 1024 * 1024);
        string path = Write("huge.jsonl",
            $$"""{"messages": [{"role": "user", "content": "{{huge}}"}, {"role": "assistant", "content": "ok"}]}""" + "\n" + Good);
        var (exit, output, _) = await Run("data", "validate", path, "-m", Qwen3, "--template", "chatml", "--color", "never");
        Assert.Equal(1, exit);
        Assert.Matches(@"huge\.jsonl:1\s+encoding_failed\s+-\s+chat template: .*the record is too large for the chat template \(17,825,794 characters", output);
        Assert.DoesNotContain("check the roles", output);
    }

    [Fact]
    public async Task Validate_EveryExampleDropped_FailsSayingNothingIsLeftToTrainOn()
    {
        // 8 tokens hold no assistant token of either conversation: both are dropped, as training would drop them.
        string path = Write("good.jsonl", Good);
        var (exit, output, _) = await Run("data", "validate", path, "-m", Qwen3, "--template", "chatml", "--max-seq-len", "8", "--color", "never");
        Assert.Equal(1, exit);
        Assert.Matches(@"problems\s+0\b", output); // no record is bad, yet nothing can be trained
        Assert.Contains("not trainable: no example is left to train on: 2 dropped (no trained token within max_seq_len 8)", output);
        Assert.Matches(@"padded\s+-\s+no batch \(no sample left\)", output);
        Assert.DoesNotContain("0 batches", output);

        var json = await RunJson("data", "validate", path, "-m", Qwen3, "--template", "chatml", "--max-seq-len", "8");
        Assert.False(json["valid"]!.GetValue<bool>());
        Assert.StartsWith("no example is left to train on", json["nothing_to_train"]!.GetValue<string>());
        Assert.Null(json["tokens"]!["padded"]!["efficiency"]);
        Assert.Equal(0, json["tokens"]!["packed"]!["batches"]!.GetValue<long>());
    }

    [Fact]
    public async Task Validate_NoUsableRecord_SaysItIsNotTrainable()
    {
        string path = Write("bad.jsonl", "not json\n{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
        var (exit, output, _) = await Run("data", "validate", path, "--color", "never");
        Assert.Equal(1, exit);
        Assert.Contains("not trainable: none of its records is a usable example (see the problems)", output);
        Assert.NotNull((await RunJson("data", "validate", path))["nothing_to_train"]);
    }

    [Fact]
    public async Task Validate_FilesThatExistButCannotBeUsed_Exit1()
    {
        // Documented split: 2 = the command line is wrong, 1 = the command failed on what it was given.
        string path = Write("good.jsonl", Good);
        string model = Directory.CreateDirectory(Path.Combine(dir, "truncated-tokenizer")).FullName;
        File.WriteAllText(Path.Combine(model, "tokenizer.json"), File.ReadAllText(Path.Combine(Qwen3, "tokenizer.json"))[..1000]);
        File.Copy(Path.Combine(Qwen3, "tokenizer_config.json"), Path.Combine(model, "tokenizer_config.json"));
        var tokenizer = await Run("data", "validate", path, "--model", model, "--template", "chatml");
        Assert.Equal(1, tokenizer.Exit);
        Assert.StartsWith("error: ", tokenizer.Err);

        string template = Write("broken.jinja", "{% for m in messages %}{{ m['content'] }");
        var syntax = await Run("data", "validate", path, "--model", Qwen3, "--template", template);
        Assert.Equal(1, syntax.Exit);
        Assert.Contains("broken.jinja:1", syntax.Err);
    }

    [Fact]
    public void Validate_CtrlC_StopsTheScan_Exits130()
    {
        // 20,000 conversations take seconds to encode: only the signal ends this run early.
        string path = Path.Combine(dir, "many.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, 20_000).Select(i =>
            $$"""{"messages": [{"role": "user", "content": "Question {{i}}?"}, {"role": "assistant", "content": "Answer {{i}}."}]}"""));
        using var run = CliRunner.Start(null, "data", "validate", path, "-m", Stories, "--template", "chatml");
        run.WaitUntil(() => HasOpen(run.Process.Id, path), "the dataset to be read");
        run.Signal(CliRunner.Running.SIGINT);
        Assert.True(run.WaitForExit() == 130, $"exit {run.Process.ExitCode}: {run.Stderr}");
        Assert.Contains("stopping cleanly", run.Stderr);
        run.AssertNoCrash();
    }

    /// <summary>Whether the process has <paramref name="file"/> open (Linux: /proc/pid/fd).</summary>
    static bool HasOpen(int pid, string file)
    {
        try { return Directory.EnumerateFiles($"/proc/{pid}/fd").Any(fd => File.ResolveLinkTarget(fd, false)?.FullName == file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The texts between [[ and ]] in the samples (the header's legend excluded).</summary>
    static List<string> MarkedSpans(string text) =>
        Regex.Matches(text[Math.Max(0, text.IndexOf("--- sample", StringComparison.Ordinal))..], @"\[\[(.*?)\]\]", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();

    [Fact]
    public async Task Preview_Qwen3Chatml_MarksExactlyTheAssistantTextAndEndToken()
    {
        string path = Write("good.jsonl", Good);
        var (exit, output, err) = await Run("data", "preview", path, "--model", Qwen3, "--template", "chatml");
        Assert.True(exit == 0, err);
        Assert.Contains("template: chatml (built-in)", output);
        Assert.Equal(["Paris.<|im_end|>", "4<|im_end|>"], MarkedSpans(output));
        Assert.Contains("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n[[Paris.", output);
        var tok = HfTokenizer.Load(Qwen3);
        int l1 = tok.Encode(GoodChatml1, false).Length, t1 = tok.Encode("Paris.<|im_end|>", false).Length;
        Assert.Contains($"tokens {l1} (prompt {l1 - t1}, trained {t1})", output);
        Assert.DoesNotContain("\u001b[", output);
    }

    [Fact]
    public async Task Preview_Qwen3OwnTemplate_TrainsTheEmptyThinkBlockOfTheLastTurn()
    {
        string path = Write("good.jsonl", Good);
        var (exit, output, err) = await Run("data", "preview", path, "--model", Qwen3, "-n", "1");
        Assert.True(exit == 0, err);
        Assert.Contains("template: model (tokenizer_config.json chat_template)", output);
        Assert.Equal(["<think>\n\n</think>\n\nParis.<|im_end|>"], MarkedSpans(output));
        Assert.DoesNotContain("sample 2", output);
    }

    [Fact]
    public async Task Preview_MultiTurn_TrainOnPolicies()
    {
        string path = Write("multi.jsonl",
            """{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye!"}]}""" + "\n");
        var all = await Run("data", "preview", path, "-m", Qwen3, "--template", "chatml");
        Assert.Equal(["Hello!<|im_end|>", "Goodbye!<|im_end|>"], MarkedSpans(all.Out));
        var last = await Run("data", "preview", path, "-m", Qwen3, "--template", "chatml", "--train-on", "last_assistant");
        Assert.Equal(["Goodbye!<|im_end|>"], MarkedSpans(last.Out));
        var everything = await Run("data", "preview", path, "-m", Qwen3, "--template", "chatml", "--train-on", "all");
        Assert.Equal(["<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n" +
            "<|im_start|>assistant\nGoodbye!<|im_end|>\n"], MarkedSpans(everything.Out));
    }

    [Fact]
    public async Task Preview_Stories260K_SentencePieceTokenizer_MarksTheAssistantTurn()
    {
        string path = Write("good.jsonl", Good);
        // mistral: the turn ends with </s>, the tokenizer's EOS (a special token of this tokenizer).
        var (exit, output, err) = await Run("data", "preview", path, "--model", Stories, "--template", "mistral");
        Assert.True(exit == 0, err);
        Assert.Contains("end of turn: </s>", output);
        Assert.Equal([" Paris.</s>", " 4</s>"], MarkedSpans(output));
        Assert.Contains("What is the capital of France? [/INST][[", output);
        foreach (Match m in Regex.Matches(output, @"tokens (\d+) \(prompt (\d+), trained (\d+)\)"))
            Assert.Equal(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value) + int.Parse(m.Groups[3].Value));
    }

    [Fact]
    public async Task Preview_TokenTable_FlagsMatchTheCounts()
    {
        string path = Write("good.jsonl", Good);
        var (exit, output, _) = await Run("data", "preview", path, "-m", Qwen3, "--template", "chatml", "-n", "1", "--tokens");
        Assert.Equal(0, exit);
        var rows = Regex.Matches(output, @"^\s*(\d+)\s+(\d+)\s+(yes|-)\s+(\S+)\s*$", RegexOptions.Multiline);
        var tok = HfTokenizer.Load(Qwen3);
        int[] ids = tok.Encode(GoodChatml1, false);
        Assert.Equal(ids, rows.Select(r => int.Parse(r.Groups[2].Value)).ToArray());
        Assert.Equal(["Paris", ".", "<|im_end|>"], rows.Where(r => r.Groups[3].Value == "yes").Select(r => r.Groups[4].Value).ToArray());
    }

    [Fact]
    public async Task Preview_ColorAlways_UsesAnsiInsteadOfBrackets()
    {
        string path = Write("good.jsonl", Good);
        var (exit, output, _) = await Run("data", "preview", path, "-m", Qwen3, "--template", "chatml", "-n", "1", "--color", "always");
        Assert.Equal(0, exit);
        Assert.Contains("\u001b[1;32mParis.<|im_end|>\u001b[0m", output);
        Assert.Contains("\u001b[2m<|im_start|>user", output);
        Assert.Empty(MarkedSpans(output));
    }

    [Fact]
    public async Task Preview_RequiresModel_AndSkipsBadRecords()
    {
        string path = Write("bad.jsonl", Bad);
        Assert.Equal(2, (await Run("data", "preview", path)).Exit);
        var (exit, output, _) = await Run("data", "preview", path, "-m", Qwen3, "--template", "chatml", "-n", "2");
        Assert.Equal(0, exit);
        // Only line 1 is a valid example; reading on for a second one passes the three bad records.
        Assert.Equal(["hello<|im_end|>"], MarkedSpans(output));
        Assert.Contains("skipped 3 bad record(s) on the way, first: " + path + ":2: example_missing_assistant_message", output);
    }

    static string Quickstart(string name) => Path.Combine(Fixtures.RepoRoot, "examples", "data", name);

    [Theory]
    [InlineData("quickstart.jsonl", 300, 500)]
    [InlineData("quickstart_val.jsonl", 30, 60)]
    public async Task QuickstartData_ValidatesWithStories260K_NoProblemsNoTruncation(string name, int minExamples, int maxExamples)
    {
        string path = Quickstart(name);
        Assert.True(new FileInfo(path).Length < 200_000, $"{name} is {new FileInfo(path).Length} bytes");
        var json = await RunJson("data", "validate", path, "--model", Stories, "--template", "mistral", "--max-seq-len", "256");
        Assert.True(json["valid"]!.GetValue<bool>(), json.ToJsonString());
        long examples = json["examples"]!.GetValue<long>();
        Assert.InRange(examples, minExamples, maxExamples);
        var t = json["tokens"]!;
        Assert.Equal(0, t["truncated"]!.GetValue<long>());
        Assert.Equal(0, t["dropped"]!.GetValue<long>());
        Assert.Equal(examples, t["samples"]!.GetValue<long>());
        Assert.Equal(0, (await Run("data", "validate", path)).Exit);
    }

    /// <summary>(number, from unit, to unit) of the three phrasings of a unit conversion, or null.</summary>
    static (long N, string From, string To)? Conversion(string user)
    {
        if (Regex.Match(user, @"^Convert (\d+) (\S+) to (\S+)$") is { Success: true } a) return (long.Parse(a.Groups[1].Value), a.Groups[2].Value, a.Groups[3].Value);
        if (Regex.Match(user, @"^How many (\S+) is (\d+) (\S+)\?$") is { Success: true } b) return (long.Parse(b.Groups[2].Value), b.Groups[3].Value, b.Groups[1].Value);
        if (Regex.Match(user, @"^(\d+) (\S+) in (\S+)\?$") is { Success: true } c) return (long.Parse(c.Groups[1].Value), c.Groups[2].Value, c.Groups[3].Value);
        return null;
    }

    [Fact]
    public void QuickstartData_AnswersAreTheFixedJsonFormat_CorrectAndHeldOutPromptsDisjoint()
    {
        var factors = new Dictionary<(string, string), long>
        {
            [("km", "m")] = 1000, [("m", "cm")] = 100, [("cm", "mm")] = 10, [("kg", "g")] = 1000, [("L", "mL")] = 1000,
        };
        var families = new Dictionary<string, int>();
        void Seen(string family) => families[family] = families.GetValueOrDefault(family) + 1;
        List<string> Prompts(string name)
        {
            var prompts = new List<string>();
            foreach (string line in File.ReadLines(Quickstart(name)))
            {
                var messages = JsonNode.Parse(line)!["messages"]!.AsArray();
                string user = messages[^2]!["content"]!.GetValue<string>();
                var answer = JsonNode.Parse(messages[^1]!["content"]!.GetValue<string>())!.AsObject();
                Assert.Equal(["answer", "unit"], answer.Select(kv => kv.Key).ToArray());
                // The answer follows from the prompt: check each family independently of the generator.
                if (Conversion(user) is var (n, from, to))
                {
                    Assert.Equal(n * factors[(from, to)], answer["answer"]!.GetValue<long>());
                    Assert.Equal(to, answer["unit"]!.GetValue<string>());
                    Seen("convert");
                }
                else if (Regex.Match(user, @"^(How many|Count the) (\w+): .*?(\d+) \2") is { Success: true } cnt)
                {
                    Assert.Equal(long.Parse(cnt.Groups[3].Value), answer["answer"]!.GetValue<long>());
                    Assert.Equal(cnt.Groups[2].Value, answer["unit"]!.GetValue<string>());
                    Seen("count");
                }
                else if (Regex.Match(user, @"^What color is the (\w+)\? .*\b(red|blue|green|yellow|pink|black|white|brown)\b") is { Success: true } col)
                {
                    Assert.Equal(col.Groups[2].Value, answer["answer"]!.GetValue<string>());
                    Assert.Null(answer["unit"]);
                    Seen("color");
                }
                else
                {
                    Assert.Matches(@"^(Classify the sentiment|Is this positive or negative\?)", user);
                    bool negative = Regex.IsMatch(user, @"hated|sad|bad|did not like");
                    Assert.Equal(negative ? "negative" : "positive", answer["answer"]!.GetValue<string>());
                    Assert.Null(answer["unit"]);
                    Seen("sentiment");
                }
                prompts.Add(user);
            }
            return prompts;
        }
        var train = Prompts("quickstart.jsonl");
        var val = Prompts("quickstart_val.jsonl");
        Assert.Equal(train.Count, train.Distinct().Count());
        Assert.Empty(val.Intersect(train));
        Assert.Equal(4, families.Count);
        Assert.All(families.Values, n => Assert.True(n >= 100, string.Join(", ", families)));
        int withSystem = File.ReadLines(Quickstart("quickstart.jsonl")).Count(l => l.Contains("\"role\": \"system\"", StringComparison.Ordinal));
        Assert.InRange(withSystem, train.Count / 10, train.Count / 2);
    }
}
