using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Peft.Outputs;
using TuneSharp.Tokenizers;
using static TorchSharp.torch;

namespace TuneSharp.Training.Reward;

/// <summary>A loaded reward model: the decoder with its score head (eval mode), its tokenizer, and the pad id that
/// pooling looks for.</summary>
public sealed record RewardModelBundle(CausalLM Model, HfTokenizer Tokenizer, string TokenizerDirectory, long PadId) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// A reward model on disk, both ways Hugging Face users keep one:
/// <list type="bullet">
/// <item>full/freeze runs: the <c>*ForSequenceClassification</c> layout: config.json with
/// <c>architectures: ["LlamaForSequenceClassification"]</c> (the family's class), <c>num_labels: 1</c>,
/// <c>id2label</c>/<c>label2id</c> and <c>pad_token_id</c>; safetensors with the <c>model.*</c> body and
/// <c>score.weight</c>, no lm_head;</item>
/// <item>adapter runs: a PEFT adapter with <c>task_type: SEQ_CLS</c> and <c>modules_to_save: ["score"]</c>, the head stored
/// as PEFT stores a saved module, under its own name (<c>base_model.model.score.weight</c>).</item>
/// </list>
/// </summary>
public static class RewardModelFiles
{
    const string CausalSuffix = "ForCausalLM", ClassifierSuffix = "ForSequenceClassification";

    /// <summary>The pad id of a run and of its scoring: the tokenizer's pad token, else EOS (as TRL), else 0.</summary>
    public static long PadIdOf(HfTokenizer tokenizer) => tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0;

    /// <summary>The adapter settings a reward adapter is saved with: the run's, plus the head in modules_to_save and SEQ_CLS.</summary>
    public static LoraSettings AdapterSettings(LoraSettings s) => s with
    {
        ModulesToSave = [.. s.ModulesToSave.Where(m => m != SequenceScore.HeadName), SequenceScore.HeadName],
        TaskType = LoraSettings.SequenceClassificationTask,
    };

    /// <summary>Writes the adapter folder (atomically); returns the reasons vLLM would not load it.</summary>
    public static IReadOnlyList<string> SaveAdapter(string directory, CausalLM model, LoraSettings runSettings, string baseModelNameOrPath,
        string tokenizerDirectory, string? chatTemplate) =>
        AdapterFolder.Save(directory, model, AdapterSettings(runSettings), baseModelNameOrPath, tokenizerDirectory, chatTemplate);

    /// <summary>Writes the *ForSequenceClassification folder (atomically): every weight but lm_head, the edited config.json.</summary>
    public static void SaveFull(string directory, CausalLM model, string baseDirectory, string? chatTemplate, long padId)
    {
        if (model.ScoreHead is null) throw new InvalidOperationException("the model has no score head (not a reward model)");
        ModelFolder.Save(directory, model, baseDirectory, baseDirectory, chatTemplate, replace: true,
            weights: name => name != "lm_head.weight", editConfig: config => ClassifierConfig(config, padId));
    }

    static void ClassifierConfig(JsonObject config, long padId)
    {
        string arch = (config["architectures"] as JsonArray)?.FirstOrDefault()?.GetValue<string>() is { } a && a.EndsWith(CausalSuffix, StringComparison.Ordinal)
            ? a[..^CausalSuffix.Length] + ClassifierSuffix
            : "LlamaForSequenceClassification";
        config["architectures"] = new JsonArray(arch);
        config["num_labels"] = 1;
        config["id2label"] = new JsonObject { ["0"] = "LABEL_0" };
        config["label2id"] = new JsonObject { ["LABEL_0"] = 0 };
        config["pad_token_id"] = padId;
    }

    /// <summary>
    /// Loads a reward model: <paramref name="modelDirectory"/> in the *ForSequenceClassification layout, or a base model
    /// with a reward <paramref name="adapterDirectory"/> (SEQ_CLS, <c>score</c> in modules_to_save). Anything else is an
    /// <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static RewardModelBundle Load(string modelDirectory, string? adapterDirectory, ScalarType dtype = ScalarType.Float32)
    {
        var tokenizer = Inference.ModelBundle.LoadTokenizer(modelDirectory, adapterDirectory);
        string tokenizerDirectory = Inference.ModelBundle.TokenizerDirectoryFor(modelDirectory, adapterDirectory);
        var model = adapterDirectory is null ? LoadFull(modelDirectory, dtype, out long? configPad) : LoadAdapter(modelDirectory, adapterDirectory, dtype, out configPad);
        model.eval();
        return new RewardModelBundle(model, tokenizer, tokenizerDirectory, configPad ?? PadIdOf(tokenizer));
    }

    static CausalLM LoadFull(string directory, ScalarType dtype, out long? padId)
    {
        string configFile = Path.Combine(directory, "config.json");
        var config = ReadObject(configFile);
        var archs = (config["architectures"] as JsonArray)?.Select(a => a?.GetValue<string>() ?? "").ToList() ?? [];
        if (!archs.Any(a => a.EndsWith(ClassifierSuffix, StringComparison.Ordinal)))
            throw new InvalidDataException($"{configFile}: not a reward model (architectures [{string.Join(", ", archs)}], no *{ClassifierSuffix}); " +
                                           "give a folder saved by method.stage reward, or the base model with --adapter");
        int labels = config["id2label"] is JsonObject id2label ? id2label.Count : config["num_labels"]?.GetValue<int>() ?? 2;
        if (labels != 1) throw new InvalidDataException($"{configFile}: a reward model has num_labels 1, this one has {labels}");
        padId = config["pad_token_id"] is JsonValue v && v.TryGetValue(out long pad) ? pad : null;

        // The body loads as a causal LM without its output head; the score head is read from the same checkpoint.
        var model = ModelLoader.Load(directory, new ModelLoadOptions { DType = dtype, NotInCheckpoint = n => n is "lm_head.weight" or "score.weight" });
        try
        {
            using var checkpoint = SafeTensorsCheckpoint.Open(directory);
            var head = SequenceScore.NewHead(model);
            model.AttachScoreHead(head);
            const string key = SequenceScore.HeadName + ".weight";
            if (!checkpoint.Contains(key)) throw new InvalidDataException($"{directory}: missing tensor '{key}' [1, {model.Args.HiddenSize}]");
            if (!checkpoint.Info(key).Shape.SequenceEqual(head.Weight.shape))
                throw new InvalidDataException($"{directory}: tensor '{key}' has shape [{string.Join(", ", checkpoint.Info(key).Shape)}] but the model expects [1, {model.Args.HiddenSize}]");
            using (no_grad())
            using (NewDisposeScope())
            {
                head.Weight.copy_(checkpoint.Load(key, ScalarType.Float32));
                // An untied lm_head is not part of a sequence classifier: zero, never read by scoring.
                if (!model.Args.TieWordEmbeddings) model.LmHeadWeight.zero_();
            }
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static CausalLM LoadAdapter(string baseDirectory, string adapterDirectory, ScalarType dtype, out long? padId)
    {
        padId = null;
        string configFile = Path.Combine(adapterDirectory, AdapterIO.ConfigFile);
        var settings = AdapterIO.ReadConfig(adapterDirectory);
        if (settings.TaskType != LoraSettings.SequenceClassificationTask || !settings.ModulesToSave.Contains(SequenceScore.HeadName))
            throw new InvalidDataException($"{configFile}: not a reward adapter (task_type '{settings.TaskType}', modules_to_save " +
                                           $"[{string.Join(", ", settings.ModulesToSave)}]; a reward adapter has SEQ_CLS and 'score')");
        var policy = new LoraPolicy(settings);
        var model = ModelLoader.Load(baseDirectory, policy.LoadOptions(dtype));
        try
        {
            model.AttachScoreHead(SequenceScore.NewHead(model));
            policy.Prepare(model, seed: 0);
            AdapterIO.LoadWeights(adapterDirectory, model, settings.ModulesToSave);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static JsonObject ReadObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }
}
