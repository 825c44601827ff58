using System.CommandLine;
using System.Text.Json.Nodes;
using TuneSharp.Core.Hub;
using TuneSharp.Core.Native;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// `tunesharp chat`: multi-turn chat with a model (optionally with a PEFT adapter) through its chat template. One user
/// message per input line; the reply streams to stdout and ends with a newline. `/reset` clears the history (the system
/// prompt stays), `/exit` or end of input quits; Ctrl+C stops the reply being written (the turn is dropped) and, at the
/// prompt, quits with 130. The "> " prompt is written only when stdin and stdout are a terminal.
/// </summary>
public static class ChatCommand
{
    /// <summary>Line commands understood between turns.</summary>
    public const string Exit = "/exit", Reset = "/reset";

    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr, Interrupts interrupts)
    {
        var model = new Option<string>("--model", "-m") { Description = "Model folder or Hugging Face hub id (org/name[@revision]).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT adapter folder (adapter_config.json + adapter_model.safetensors) for the model." };
        var system = new Option<string?>("--system") { Description = "System message, kept across /reset." };
        var template = TemplateOption.Create();
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");

        var cmd = new Command("chat", "Chat with a local or hub model in the terminal (or one message per stdin line).")
        {
            model, adapter, system, template, dtype,
        };
        var sampling = new SamplingArguments();
        sampling.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            TorchRuntime.Initialize();
            string dir = await ModelLocator.ResolveAsync(parse.GetValue(model)!, progress: DownloadProgressPrinter.For(stderr), ct: ct);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var bundle = ModelBundle.Load(dir, parse.GetValue(adapter), CliOptions.ParseDType(parse.GetValue(dtype)!));
            ReportLoad(bundle, clock.Elapsed, stderr);

            // Stop at every EOS id (generation_config, config.json, tokenizer) and at the template's end-of-turn token.
            var prompter = ChatPrompter.For(bundle.Tokenizer, bundle.TokenizerDirectory, parse.GetValue(template), bundle.TokenizerOwner);
            var options = sampling.Resolve(parse, bundle.Generation, prompter.StopIds(bundle.StopTokenIds));

            var session = new Session(new TextGenerator(bundle.Model, bundle.Tokenizer), prompter, parse.GetValue(system), options);
            bool terminal = IsTerminal(stdin, stdout);
            await session.RunAsync(stdin, stdout, stderr, terminal, interrupts, ct);
            return 0;
        });
        return cmd;
    }

    /// <summary>The load line and the bundle's notes on stderr (shared by chat and generate).</summary>
    internal static void ReportLoad(ModelBundle bundle, TimeSpan elapsed, TextWriter stderr)
    {
        foreach (string note in bundle.Notes) stderr.WriteLine($"note: {note}");
        stderr.WriteLine($"loaded {bundle.Model.Args.ModelType} model from {bundle.Directory}" +
            $"{(bundle.AdapterDirectory != null ? $" with adapter {bundle.AdapterDirectory}" : "")} in {elapsed.TotalSeconds:F2}s");
    }

    static bool IsTerminal(TextReader stdin, TextWriter stdout) =>
        ReferenceEquals(stdin, Console.In) && ReferenceEquals(stdout, Console.Out)
        && !Console.IsInputRedirected && !Console.IsOutputRedirected;

    /// <summary>The conversation: history as the messages JSON array the template renders.</summary>
    sealed class Session(TextGenerator generator, ChatPrompter prompter, string? system, SamplingOptions options)
    {
        readonly JsonArray _messages = [];

        /// <summary>Empties the history down to the system message, if any.</summary>
        void Restart()
        {
            _messages.Clear();
            if (system != null) _messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        }

        /// <summary>
        /// The loop. Ctrl+C (SIGINT/SIGTERM) during a reply stops that reply and drops the turn; while waiting for input
        /// it quits (ct is cancelled, the verb exits 130/143). Piped or not, the same.
        /// </summary>
        public async Task RunAsync(TextReader stdin, TextWriter stdout, TextWriter stderr, bool terminal, Interrupts interrupts,
            CancellationToken ct)
        {
            long? seed = options.Seed;
            Restart();
            while (true)
            {
                ct.ThrowIfCancellationRequested(); // stopped at the prompt: exit 130 / 143 (CliApp)
                if (terminal) { stdout.Write("> "); stdout.Flush(); }
                // A blocked read cannot be cancelled; the wait for it can (the read is abandoned when the process ends).
                string? line = await Task.Run(stdin.ReadLine, CancellationToken.None).WaitAsync(ct);
                if (line == null) break;
                string command = line.Trim();
                if (command == Exit) break;
                if (command == Reset)
                {
                    Restart();
                    if (terminal) stderr.WriteLine("(history cleared)");
                    continue;
                }
                if (command.Length == 0) continue;

                _messages.Add(new JsonObject { ["role"] = "user", ["content"] = line });
                int[] ids = prompter.Encode(_messages);
                var reply = new System.Text.StringBuilder();
                bool stopped;
                using (var replyScope = interrupts.OpenScope())
                {
                    // A fixed seed gives a reproducible conversation, yet each turn draws differently.
                    foreach (var piece in generator.Stream(ids, options with { Seed = seed }))
                    {
                        if (replyScope.Token.IsCancellationRequested) break;
                        reply.Append(piece);
                        stdout.Write(piece);
                        stdout.Flush();
                    }
                    stopped = replyScope.Token.IsCancellationRequested;
                }
                stdout.WriteLine();
                stdout.Flush();
                if (seed != null) seed++;
                if (stopped)
                {
                    ct.ThrowIfCancellationRequested();
                    _messages.RemoveAt(_messages.Count - 1); // the interrupted turn is not part of the history
                    stderr.WriteLine("(reply stopped; the turn was dropped)");
                    continue;
                }
                _messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = reply.ToString() });
                var s = generator.LastStats;
                stderr.WriteLine($"prompt {s.PromptTokens} tokens, generated {s.GeneratedTokens} tokens ({generator.FinishReason}), " +
                    $"decode {s.DecodeTokensPerSecond:F1} tokens/s");
            }
        }
    }
}
