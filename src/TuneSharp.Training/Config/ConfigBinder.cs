using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace TuneSharp.Training.Config;

/// <summary>
/// Binds the YAML representation tree to <see cref="TrainConfig"/> by walking <see cref="ConfigSchema"/>: each record
/// starts from its defaults and every declared key present in the YAML replaces one. Then the few values whose meaning
/// depends on another key are derived (<see cref="Derive"/>).
/// </summary>
internal static partial class ConfigBinder
{
    public static TrainConfig Bind(BindContext ctx, YamlNode root)
    {
        var r = new MapReader(ctx, "", root);
        var config = (TrainConfig)BindRecord(r, typeof(TrainConfig));
        r.Done();
        ReportMovedKeys(ctx, root);
        return Derive(ctx, config);
    }

    /// <summary>A record of <paramref name="type"/>: its defaults, replaced by every key the mapping gives.</summary>
    public static object BindRecord(MapReader m, Type type)
    {
        object record = Activator.CreateInstance(type)!;
        foreach (var key in ConfigSchema.Of(type))
        {
            if (key.IsSection)
            {
                key.Property.SetValue(record, m.Section(key.Name, inner => BindRecord(inner, key.Property.PropertyType)));
                continue;
            }
            var node = key.Key!.Required ? m.Required(key.Name) : m.Get(key.Name);
            if (node != null) key.Property.SetValue(record, key.Type!.Read(m.Context, m.Full(key.Name), node, key.Property.GetValue(record)));
        }
        return record;
    }

    /// <summary>
    /// Keys whose value depends on others: LoRA targets default to none when a target regex is given, and
    /// output.dir's placeholders are substituted before the path is resolved.
    /// </summary>
    static TrainConfig Derive(BindContext ctx, TrainConfig c)
    {
        var lora = c.Method.Lora;
        if (lora.TargetRegex != null && !ctx.ValueNodes.ContainsKey("method.lora.targets")) lora = lora with { Targets = LoraTargets.None };
        var dirNode = ctx.ValueNodes.GetValueOrDefault("output.dir");
        string dir = ConfigPaths.Resolve(ctx.BaseDirOf(dirNode), ExpandPlaceholders(ctx, c.Output.Dir, c.Model, c.Method));
        return c with { Method = c.Method with { Lora = lora }, Output = c.Output with { Dir = dir } };
    }

    /// <summary>Keys that moved: the old spelling is an error that names the new place.</summary>
    static readonly (string Old, string New)[] Moved =
    [
        ("data.train_on", "method.sft.train_on"),
        ("data.truncation", "method.sft.truncation"),
    ];

    /// <summary>Replaces the generic unknown-key error of a moved key by one that says where it lives now.</summary>
    static void ReportMovedKeys(BindContext ctx, YamlNode root)
    {
        foreach (var (old, now) in Moved)
            if (ctx.TakeUnknown(old) is YamlNode keyNode)
                ctx.Error(keyNode, old, $"'{old}' moved to '{now}' (it only applies to method.stage {now.Split('.')[1]})");
    }

    [GeneratedRegex(@"\{([^{}]*)\}")]
    private static partial Regex PlaceholderRegex();

    static readonly string[] Placeholders = ["model", "method", "date"];

    /// <summary>Substitutes {model} (model folder or hub name), {method} (method.type) and {date} (yyyyMMdd-HHmmss).</summary>
    static string ExpandPlaceholders(BindContext ctx, string dir, ModelSection model, MethodSection method) =>
        PlaceholderRegex().Replace(dir, match => match.Groups[1].Value switch
        {
            "model" => ConfigPaths.ModelName(model.Path ?? ""),
            "method" => ConfigNames.Of(method.Type),
            "date" => ctx.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture),
            var other => UnknownPlaceholder(ctx, other, match.Value),
        });

    static string UnknownPlaceholder(BindContext ctx, string name, string text)
    {
        string hint = ConfigNames.Suggest(name, Placeholders) is string near ? $" (did you mean '{{{near}}}'?)" : "";
        ctx.ErrorAt("output.dir", $"'output.dir' has an unknown placeholder '{text}'{hint}; valid: {{model}}, {{method}}, {{date}}");
        return text;
    }
}
