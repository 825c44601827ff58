using TuneSharp.Core.Hub;
using TuneSharp.Data;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;
using TuneSharp.Tokenizers;

namespace TuneSharp.Cli.Commands.Data;

/// <summary>A bad command line (missing file, unknown template, ...): the data verbs print it and exit with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>A tokenizer (from a model or tokenizer-only folder) and a way to get the chat template for it.</summary>
public sealed class TokenizerContext(string modelDir, HfTokenizer tokenizer, string? templateOption)
{
    public string ModelDir { get; } = modelDir;
    public HfTokenizer Tokenizer { get; } = tokenizer;

    /// <summary>
    /// The chat template chosen as in the config's <c>data.template</c> (<see cref="TemplateResolver"/>: none/<c>auto</c> =
    /// the tokenizer's own <c>chat_template</c>, a built-in name, or a path to a Jinja file). With <paramref name="required"/>
    /// false and no template available (completion/text data), the <c>plain</c> built-in stands in, since it is never rendered.
    /// </summary>
    public (ChatTemplate Template, string Description) Template(bool required)
    {
        ResolvedTemplate? resolved;
        try { resolved = TemplateResolver.Resolve(templateOption, Tokenizer); }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException) { throw new UsageException(e.Message); }
        if (resolved != null) return (resolved.Template, resolved.Description);
        if (required)
            throw new UsageException($"{ModelDir}: the tokenizer has no chat_template; pass --template ({TemplateResolver.ChoicesText})");
        return (ChatTemplate.BuiltIn("plain"), "none (no chat examples)");
    }
}

/// <summary>Command-line values shared by the data verbs, turned into library types with usage errors.</summary>
public static class DataInputs
{
    public static DatasetSpec Spec(string path, string? format)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new UsageException($"dataset not found: {Path.GetFullPath(path)}");
        try { return new DatasetSpec(path) { Format = format is null or "auto" ? null : DatasetSpec.ParseFormat(format) }; }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
    }

    public static TrainOn ParseTrainOn(string value) => value.Trim().ToLowerInvariant() switch
    {
        "assistant" => TrainOn.Assistant,
        "all" => TrainOn.All,
        "last_assistant" or "last-assistant" => TrainOn.LastAssistant,
        _ => throw new UsageException($"unknown --train-on '{value}'; use assistant, all or last_assistant"),
    };

    public static string Name(TrainOn trainOn) => trainOn switch
    {
        TrainOn.All => "all",
        TrainOn.LastAssistant => "last_assistant",
        _ => "assistant",
    };

    /// <summary>Resolves --model (folder or hub id) and loads its tokenizer; a tokenizer-only folder is enough.</summary>
    public static async Task<TokenizerContext> LoadTokenizerAsync(string model, string? template, TextWriter stderr, CancellationToken ct)
    {
        string dir;
        try { dir = await ModelLocator.ResolveAsync(model, progress: DownloadProgressPrinter.For(stderr), ct: ct); }
        catch (Exception e) when (e is DirectoryNotFoundException or ArgumentException or HubException)
        {
            throw new UsageException($"--model: {e.Message}");
        }
        foreach (string note in ModelBundle.FolderNotes(dir)) stderr.WriteLine($"note: {note}");
        try { return new TokenizerContext(dir, HfTokenizer.Load(dir), template); }
        catch (FileNotFoundException e) { throw new UsageException($"--model: {e.Message}"); }
    }

    /// <summary>The conversation the SFT encoder sees for an example: preference pairs count their chosen side, KTO its completion.</summary>
    public static Example ForEncoding(Example example) => example switch
    {
        PreferenceExample p => new ChatExample(p.Source, [.. p.Prompt, .. p.Chosen], p.Tools),
        KtoExample k => new ChatExample(k.Source, [.. k.Prompt, .. k.Completion]),
        _ => example,
    };

    /// <summary>Whether an example is rendered with the chat template.</summary>
    public static bool IsChat(DataFormat format) => format is not (DataFormat.Completion or DataFormat.Text);

    /// <summary>Runs a verb body, turning usage errors into exit code 2 with the message on stderr.</summary>
    public static async Task<int> Guard(TextWriter stderr, Func<Task<int>> body)
    {
        try { return await body(); }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return DataCommand.UsageError;
        }
    }
}
