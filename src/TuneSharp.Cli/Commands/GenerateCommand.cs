using System.CommandLine;
using System.Text.Json.Nodes;
using TuneSharp.Core.Hub;
using TuneSharp.Core.Native;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// `tunesharp generate`: load a model (local folder or hub id), generate from a prompt, stream the text to stdout and
/// diagnostics (load time, prompt tokens, decode tokens/s) to stderr.
/// </summary>
public static class GenerateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model", "-m") { Description = "Model folder or Hugging Face hub id (org/name[@revision]).", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "Prompt text; empty means BOS only.", DefaultValueFactory = _ => "" };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as a user message with the model's chat template." };
        var system = new Option<string?>("--system") { Description = "System message (with --chat)." };
        var stop = new Option<string[]>("--stop") { Description = "Stop string (repeatable).", AllowMultipleArgumentsPerToken = false };
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");

        var cmd = new Command("generate", "Generate text from a prompt with a local or hub model.")
        {
            model, prompt, chat, system, stop, dtype,
        };
        var sampling = new SamplingArguments();
        sampling.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            TorchRuntime.Initialize();
            string dir = await ModelLocator.ResolveAsync(parse.GetValue(model)!, progress: DownloadProgressPrinter.For(stderr), ct: ct);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var bundle = ModelBundle.Load(dir, CliOptions.ParseDType(parse.GetValue(dtype)!));
            stderr.WriteLine($"loaded {bundle.Model.Args.ModelType} model from {dir} in {clock.Elapsed.TotalSeconds:F2}s");

            var options = sampling.Resolve(parse, bundle.Generation, bundle.StopTokenIds) with { StopStrings = parse.GetValue(stop) ?? [] };

            int[] ids = parse.GetValue(chat)
                ? ChatPrompt(bundle, parse.GetValue(prompt)!, parse.GetValue(system))
                : bundle.Tokenizer.Encode(parse.GetValue(prompt)!, addSpecialTokens: true);
            if (ids.Length == 0)
                throw new InvalidOperationException("the prompt encodes to no tokens and the tokenizer adds no BOS; give a prompt");

            var generator = new TextGenerator(bundle.Model, bundle.Tokenizer);
            foreach (var piece in generator.Stream(ids, options))
            {
                ct.ThrowIfCancellationRequested(); // Ctrl+C / SIGTERM: stop here, exit 130 / 143 (CliApp)
                stdout.Write(piece);
                stdout.Flush();
            }
            stdout.WriteLine();
            var s = generator.LastStats;
            stderr.WriteLine(
                $"prompt {s.PromptTokens} tokens, prefill {s.Prefill.TotalMilliseconds:F0} ms; generated {s.GeneratedTokens} tokens " +
                $"({generator.FinishReason}), decode {s.DecodeTokensPerSecond:F1} tokens/s");
            return 0;
        });
        return cmd;
    }

    static int[] ChatPrompt(ModelBundle bundle, string prompt, string? system)
    {
        var tok = bundle.Tokenizer;
        var template = tok.ChatTemplate is { } source
            ? ChatTemplate.FromSource(source, "tokenizer_config.json chat_template")
            : throw new InvalidOperationException($"{bundle.Directory}: the tokenizer has no chat_template; --chat needs one");
        var messages = new JsonArray();
        if (system != null) messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = prompt });
        string text = template.Render(messages, addGenerationPrompt: true, bosToken: tok.BosToken, eosToken: tok.EosToken);
        // The template already contains any BOS; HF's apply_chat_template tokenizes without adding special tokens.
        return tok.Encode(text, addSpecialTokens: false);
    }
}
