using System.Collections;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace TuneSharp.Training.Config;

// Key types for values whose property type alone does not say how they are spelled in YAML.

/// <summary><c>model.path</c>: a local folder (made absolute) or a hub id <c>org/name[@revision]</c>.</summary>
internal sealed class ModelPathKey : KeyType
{
    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (YamlScalars.TryString(node, out string raw) && raw.Trim().Length > 0) return ConfigPaths.ResolveModelPath(ctx.BaseDirOf(node), raw.Trim());
        ctx.Error(node, key, $"'{key}' must be a folder or a hub id org/name[@revision], found {YamlScalars.Describe(node)}");
        return fallback;
    }

    public override string Write(object? value) => YamlText.Str((string)value!);
}

/// <summary><c>auto | cpu | cuda | cuda:N</c>.</summary>
internal sealed class DeviceKey : KeyType
{
    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (YamlScalars.TryString(node, out string t) && DeviceSpec.TryParse(t) is DeviceSpec ds) return ds;
        ctx.Error(node, key, $"'{key}' must be auto, cpu, cuda or cuda:N; found {YamlScalars.Describe(node)}");
        return fallback;
    }

    public override string Write(object? value) => YamlText.Str(value!.ToString()!);
}

/// <summary><c>data.template</c>: a built-in template name, or a path to a Jinja file.</summary>
internal sealed class TemplateKey : KeyType
{
    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (YamlScalars.TryString(node, out string text))
        {
            if (text.EndsWith(".jinja", StringComparison.OrdinalIgnoreCase) || text.EndsWith(".j2", StringComparison.OrdinalIgnoreCase) ||
                text.Contains('/') || text.Contains('\\'))
                return new TemplateSpec(TemplateKind.File, ConfigPaths.Resolve(ctx.BaseDirOf(node), text));
            if (ConfigNames.TryParse(text, out TemplateKind kind) && kind != TemplateKind.File) return new TemplateSpec(kind);
        }
        var names = ConfigNames.All<TemplateKind>().Where(n => n != ConfigNames.Of(TemplateKind.File)).ToList();
        string hint = YamlScalars.TryString(node, out string t) && ConfigNames.Suggest(t, names) is string near ? $" (did you mean '{near}'?)" : "";
        ctx.Error(node, key, $"'{key}' must be one of {string.Join(", ", names)} or a path to a .jinja file; found {YamlScalars.Describe(node)}{hint}");
        return fallback;
    }

    public override string Write(object? value) => YamlText.Str(value!.ToString()!);
}

/// <summary><c>method.lora.targets</c>: a list of module name suffixes, or <c>all-linear</c>.</summary>
internal sealed class TargetsKey : KeyType
{
    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (YamlScalars.TryString(node, out string s) && s.Equals("all-linear", StringComparison.OrdinalIgnoreCase)) return LoraTargets.AllLinearLayers;
        if (YamlScalars.IsNull(node)) return LoraTargets.None;
        if (node is YamlSequenceNode)
            return new LoraTargets(false, (ValueList<string>)new ListKey(typeof(string)).Read(ctx, key, node, ValueList<string>.Empty)!);
        ctx.Error(node, key, $"'{key}' must be a list of module name suffixes or 'all-linear', found {YamlScalars.Describe(node)}");
        return fallback;
    }

    public override string Write(object? value)
    {
        var t = (LoraTargets)value!;
        return t.AllLinear ? "all-linear" : YamlText.Flow(t.Suffixes.Select(YamlText.Str));
    }
}

/// <summary>
/// <c>method.lora.exclude</c> with PEFT's <c>exclude_modules</c> semantics: a single string is a regular expression
/// full-matched against the module path; a list holds module names, each matching a path equal to it or ending in
/// "." + name.
/// </summary>
internal sealed class ExcludeKey : KeyType
{
    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (YamlScalars.IsNull(node)) return LoraExclude.None;
        if (node is YamlScalarNode && YamlScalars.TryString(node, out string regex)) return LoraExclude.Matching(regex);
        if (node is YamlSequenceNode)
            return new LoraExclude(null, (ValueList<string>)new ListKey(typeof(string)).Read(ctx, key, node, ValueList<string>.Empty)!);
        ctx.Error(node, key, $"'{key}' must be a regular expression (a string) or a list of module names, found {YamlScalars.Describe(node)}");
        return fallback;
    }

    public override string Write(object? value)
    {
        var e = (LoraExclude)value!;
        return e.Regex is { } r ? YamlText.Str(r) : YamlText.Flow(e.Names.Select(YamlText.Str));
    }
}

/// <summary><c>data.datasets[].columns</c>: logical column name -> column in the file; unknown names are errors.</summary>
internal sealed class ColumnsKey : KeyType
{
    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        var reader = new MapReader(ctx, key, node);
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (string name in DatasetSpec.ColumnNames)
            if (reader.StringOrNull(name, null) is string column) pairs.Add(new(name, column));
        reader.Done();
        return new ValueMap<string>(pairs);
    }

    public override string Write(object? value) =>
        YamlText.FlowMap(((ValueMap<string>)value!).Select(kv => (kv.Key, YamlText.Str(kv.Value))));
}

/// <summary>
/// <c>data.datasets</c>: a list of dataset sections; an item may also be just its path (the record's required key).
/// Items are written as block mappings.
/// </summary>
internal sealed class DatasetListKey : KeyType
{
    public override Type ItemRecord => typeof(DatasetSpec);

    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (node is not YamlSequenceNode seq)
        {
            ctx.Error(node, key, $"'{key}' must be a list of datasets, found {YamlScalars.Describe(node)}");
            return fallback;
        }
        var items = new List<DatasetSpec>();
        for (int i = 0; i < seq.Children.Count; i++)
        {
            string path = $"{key}[{i}]";
            var item = seq.Children[i];
            ctx.ValueNodes[path] = item;
            if (item is YamlScalarNode && YamlScalars.TryString(item, out string only))
            {
                items.Add(new DatasetSpec { Path = ConfigPaths.Resolve(ctx.BaseDirOf(item), only) });
                continue;
            }
            var reader = new MapReader(ctx, path, item);
            items.Add((DatasetSpec)ConfigBinder.BindRecord(reader, typeof(DatasetSpec)));
            reader.Done();
        }
        return new ValueList<DatasetSpec>(items);
    }

    public override string Write(object? value) => throw new NotSupportedException("datasets are written as a block");

    public override void WriteTo(ConfigWriter w, string key, object? value)
    {
        var items = (IEnumerable)value!;
        if (!items.Cast<object>().Any())
        {
            w.Line(key, "[]");
            return;
        }
        w.Raw(key + ":");
        foreach (object item in items) w.ListItem(item);
    }
}

/// <summary>Path rules of the config: relative paths follow the YAML file's folder; <c>~</c> is the home folder.</summary>
internal static partial class ConfigPaths
{
    /// <summary>Last path segment of a folder or hub id, without the @revision.</summary>
    public static string ModelName(string path)
    {
        string p = path.TrimEnd('/', '\\');
        if (IsHubId(p)) p = p.Split('@')[0];
        int slash = p.LastIndexOfAny(['/', '\\']);
        return slash >= 0 ? p[(slash + 1)..] : p;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._/-]+)?$")]
    private static partial Regex HubIdRegex();

    public static bool IsHubId(string text) => HubIdRegex().IsMatch(text);

    /// <summary>
    /// model.path: an absolute path, <c>~/x</c>, or a folder that exists relative to the config becomes an absolute path;
    /// otherwise a string shaped like <c>org/name[@revision]</c> stays a hub id; anything else is a local path.
    /// </summary>
    public static string ResolveModelPath(string baseDir, string raw)
    {
        string expanded = ExpandHome(raw);
        if (Path.IsPathRooted(expanded)) return Path.GetFullPath(expanded);
        if (Directory.Exists(Path.Combine(baseDir, expanded))) return Path.GetFullPath(Path.Combine(baseDir, expanded));
        return IsHubId(raw) ? raw : Path.GetFullPath(Path.Combine(baseDir, expanded));
    }

    /// <summary>Resolves a file-system path against the config file's folder (absolute paths and ~ are kept).</summary>
    public static string Resolve(string baseDir, string raw) =>
        raw.Length == 0 ? "" : Path.GetFullPath(Path.Combine(baseDir, ExpandHome(raw)));

    static string ExpandHome(string p) =>
        p == "~" || p.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + p[1..]
            : p;
}
