using System.CommandLine;
using TuneSharp.Core.Hub;
using TuneSharp.Core.Native;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// `tunesharp generate`: load a model (local folder or hub id, optionally with a PEFT adapter), generate from a prompt,
/// stream the text to stdout and diagnostics (load time, prompt tokens, decode tokens/s) to stderr.
/// </summary>
public static class GenerateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model", "-m") { Description = "Model folder or Hugging Face hub id (org/name[@revision]).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT adapter folder (adapter_config.json + adapter_model.safetensors) for the model." };
        var prompt = new Option<string>("--prompt", "-p") { Description = "Prompt text; empty means BOS only.", DefaultValueFactory = _ => "" };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as a user message with the chat template (see --template)." };
        var template = TemplateOption.Create();
        var system = new Option<string?>("--system") { Description = "System message (with --chat)." };
        var stop = new Option<string[]>("--stop") { Description = "Stop string (repeatable).", AllowMultipleArgumentsPerToken = false };
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");

        var cmd = new Command("generate", "Generate text from a prompt with a local or hub model.")
        {
            model, adapter, prompt, chat, template, system, stop, dtype,
        };
        cmd.Validators.Add(result =>
        {
            if (result.GetValue(chat)) return;
            if (result.GetValue(template) != null) result.AddError("--template applies to --chat prompts; add --chat");
            if (result.GetValue(system) != null) result.AddError("--system applies to --chat prompts; add --chat");
        });
        var sampling = new SamplingArguments();
        sampling.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            TorchRuntime.Initialize();
            string dir = await ModelLocator.ResolveAsync(parse.GetValue(model)!, progress: DownloadProgressPrinter.For(stderr), ct: ct);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var bundle = ModelBundle.Load(dir, parse.GetValue(adapter), CliOptions.ParseDType(parse.GetValue(dtype)!));
            ChatCommand.ReportLoad(bundle, clock.Elapsed, stderr);

            int[] ids;
            IReadOnlyCollection<int> stopIds = bundle.StopTokenIds;
            if (parse.GetValue(chat))
            {
                // The chat prompt and end-of-turn stop of `chat` and `serve`.
                var prompter = ChatPrompter.For(bundle.Tokenizer, bundle.TokenizerDirectory, parse.GetValue(template), bundle.TokenizerOwner);
                ids = prompter.Encode(ChatPrompter.UserMessage(parse.GetValue(prompt)!, parse.GetValue(system)));
                stopIds = prompter.StopIds(stopIds);
            }
            else ids = bundle.Tokenizer.Encode(parse.GetValue(prompt)!, addSpecialTokens: true);
            if (ids.Length == 0)
                throw new InvalidOperationException("the prompt encodes to no tokens and the tokenizer adds no BOS; give a prompt");
            var options = sampling.Resolve(parse, bundle.Generation, stopIds) with { StopStrings = parse.GetValue(stop) ?? [] };

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
}
