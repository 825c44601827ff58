using System.CommandLine;
using TuneSharp.Core.Hub;
using TuneSharp.Core.Native;
using TuneSharp.Data.Templates;
using TuneSharp.Serve;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// `tunesharp serve`: an OpenAI-compatible HTTP server (see docs/cli/serve.md). Prints "listening on {url}" on stdout
/// once the model is loaded and the port is bound, then serves until interrupted.
/// </summary>
public static class ServeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model", "-m") { Description = "Model folder or Hugging Face hub id (org/name[@revision]).", Required = true };
        var adapters = new Option<string[]>("--adapter")
        {
            Description = "A PEFT LoRA adapter served as model 'name': name=dir (repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var name = new Option<string?>("--served-model-name") { Description = "The base model's id in requests and /v1/models (default: the folder name or hub id)." };
        var host = new Option<string>("--host") { Description = "IP address to bind (localhost, 127.0.0.1, 0.0.0.0, ...).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "TCP port; 0 picks a free one.", DefaultValueFactory = _ => 8000 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer <key>' (default: the TUNESHARP_API_KEY environment variable, else no key)." };
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");
        var template = TemplateOption.Create("Chat template for the base and every adapter: auto (default: the model's own; each adapter "
            + "the one it was trained with), " + string.Join(", ", ChatTemplate.BuiltInNames) + ", or a path to a .jinja file.");
        var maxTokens = new Option<int>("--max-tokens-limit") { Description = "Largest max_tokens a request may ask for (and the default).", DefaultValueFactory = _ => 2048 };
        var maxBytes = new Option<long>("--max-request-bytes") { Description = "Largest request body in bytes (413 above).", DefaultValueFactory = _ => 1 << 20 };
        var maxBatch = new Option<int>("--max-batch-size")
        {
            Description = "Most requests decoded together (continuous batching); 1 serves one request at a time.",
            DefaultValueFactory = _ => 8,
        };
        var maxModelLen = new Option<int?>("--max-model-len")
        {
            Description = $"Most tokens (prompt + completion) of one request; sizes the KV cache (default: the model's context, at most {TensorWorker.DefaultMaxModelLength}).",
        };
        var grace = new Option<double>("--shutdown-grace")
        {
            Description = "Seconds that requests still generating at Ctrl+C/SIGTERM may take to finish before they are cancelled (503).",
            DefaultValueFactory = _ => 5,
        };

        var cmd = new Command("serve", "Serve a model (and LoRA adapters) over an OpenAI-compatible HTTP API.")
        {
            model, adapters, name, host, port, apiKey, dtype, template, maxTokens, maxBytes, maxBatch, maxModelLen, grace,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            TorchRuntime.Initialize();
            string modelArg = parse.GetValue(model)!;
            string dir = await ModelLocator.ResolveAsync(modelArg, progress: DownloadProgressPrinter.For(stderr), ct: ct);
            var options = new ServeOptions
            {
                ModelDirectory = dir,
                ModelId = parse.GetValue(name) ?? DefaultModelId(modelArg),
                Adapters = [.. (parse.GetValue(adapters) ?? []).Select(ParseAdapter)],
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                ApiKey = parse.GetValue(apiKey) ?? NonEmpty(Environment.GetEnvironmentVariable("TUNESHARP_API_KEY")),
                DType = CliOptions.ParseDType(parse.GetValue(dtype)!),
                Template = parse.GetValue(template),
                MaxTokensLimit = parse.GetValue(maxTokens),
                MaxRequestBytes = parse.GetValue(maxBytes),
                MaxBatchSize = parse.GetValue(maxBatch),
                MaxModelLength = parse.GetValue(maxModelLen),
                ShutdownGrace = Seconds(parse.GetValue(grace)),
            };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await using var server = await OpenAiServer.StartAsync(options, stderr, ct);
            stderr.WriteLine($"loaded {dir}{(options.Adapters.Count > 0 ? $" with adapters {string.Join(", ", options.Adapters.Select(a => a.Name))}" : "")} " +
                $"in {clock.Elapsed.TotalSeconds:F2}s; model ids: {string.Join(", ", options.Adapters.Select(a => a.Name).Prepend(options.ModelId))}");
            stdout.WriteLine($"listening on {server.Url}");
            stdout.Flush();
            // Returns once a signal cancelled ct and the server has stopped (the model is freed on the worker thread).
            await server.RunUntilCancelledAsync(ct);
            stderr.WriteLine("stopped");
            ct.ThrowIfCancellationRequested(); // exit 130 / 143, as every verb stopped by a signal
            return 0;
        });
        return cmd;
    }

    static TimeSpan Seconds(double value) => value is >= 0 and <= 86_400
        ? TimeSpan.FromSeconds(value)
        : throw new ArgumentException($"--shutdown-grace must be between 0 and 86400 seconds (got {value})");

    /// <summary>"name=dir" of --adapter.</summary>
    public static AdapterSource ParseAdapter(string value)
    {
        int eq = value.IndexOf('=');
        if (eq <= 0 || eq == value.Length - 1)
            throw new ArgumentException($"--adapter '{value}': expected name=dir (e.g. --adapter sql=out/sql-lora)");
        return new AdapterSource(value[..eq], value[(eq + 1)..]);
    }

    /// <summary>The hub id as given, or a folder's name.</summary>
    static string DefaultModelId(string modelArg)
    {
        string trimmed = modelArg.TrimEnd('/', '\\');
        return Directory.Exists(trimmed) ? Path.GetFileName(Path.GetFullPath(trimmed)) : trimmed;
    }

    static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
