using System.Collections.Concurrent;
using System.Reflection;

namespace TuneSharp.Training.Config;

/// <summary>One declared key or section of a config record (read from its property's attributes).</summary>
public sealed class ConfigKey
{
    internal ConfigKey(PropertyInfo property, string name, KeyAttribute? key, SectionAttribute? section, StageSectionAttribute? stage)
    {
        Property = property;
        Name = name;
        Key = key;
        Section = section;
        Stage = stage;
        Checks = [.. property.GetCustomAttributes<CheckAttribute>()];
        if (key != null) Type = KeyTypes.For(property, key);
    }

    /// <summary>The YAML name inside its section.</summary>
    public string Name { get; }
    /// <summary>The record property the value binds to.</summary>
    public PropertyInfo Property { get; }
    public KeyAttribute? Key { get; }
    public SectionAttribute? Section { get; }
    /// <summary>Set for a stage's own section (<c>method.sft</c>, <c>method.pretrain</c>, ...).</summary>
    public StageSectionAttribute? Stage { get; }
    public IReadOnlyList<CheckAttribute> Checks { get; }
    internal KeyType? Type { get; }

    /// <summary>True for a nested section (a mapping of keys) rather than a value.</summary>
    public bool IsSection => Key == null;
    /// <summary>The record type of a section, or of the items of a list of sections (e.g. <c>data.datasets</c>).</summary>
    public Type? RecordType => IsSection ? Property.PropertyType : Type!.ItemRecord;
}

/// <summary>A record holding stage sections (<see cref="StageSectionAttribute"/>): its stage decides which one applies.</summary>
public interface IStaged
{
    Stage Stage { get; }
}

/// <summary>
/// The config schema, derived from the records: every key's name, type, default (the property initializer), checks
/// and example. <see cref="ConfigBinder"/>, <see cref="ConfigWriter"/> and <see cref="ConfigValidator"/> walk it; adding
/// a key is one property with its attributes plus its row in docs/config.md.
/// </summary>
public static class ConfigSchema
{
    static readonly ConcurrentDictionary<Type, IReadOnlyList<ConfigKey>> Cache = new();

    /// <summary>The keys and sections of a config record, in declaration order.</summary>
    public static IReadOnlyList<ConfigKey> Of(Type record) => Cache.GetOrAdd(record, Build);

    static IReadOnlyList<ConfigKey> Build(Type record) =>
    [
        .. record.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .OrderBy(p => p.MetadataToken)
            .Select(p => (p, k: p.GetCustomAttribute<KeyAttribute>(), s: p.GetCustomAttribute<SectionAttribute>(),
                          st: p.GetCustomAttribute<StageSectionAttribute>()))
            .Where(x => x.k != null || x.s != null || x.st != null)
            .Select(x => new ConfigKey(x.p, x.k?.Name ?? x.s?.Name ?? ConfigNames.Of(x.st!.Stage), x.k, x.s, x.st)),
    ];

    /// <summary>
    /// Whether a section of <paramref name="parent"/> applies to this config: a stage's section only for that stage,
    /// a section with <see cref="SectionAttribute.UsedWhen"/> only when that property is true, others always.
    /// </summary>
    public static bool IsUsed(object parent, ConfigKey key) =>
        key.Stage is { } stage ? ((IStaged)parent).Stage == stage.Stage
        : key.Section?.UsedWhen is { } when ? (bool)parent.GetType().GetProperty(when)!.GetValue(parent)!
        : true;

    /// <summary>
    /// Every key path below the top-level sections, sections included: <c>model.path</c>, <c>method.lora</c>,
    /// <c>method.lora.r</c>, <c>data.datasets[].path</c> (<c>[]</c> = each item of a list of sections).
    /// </summary>
    public static IEnumerable<(string Path, ConfigKey Key)> AllKeys() => Walk(typeof(TrainConfig), "");

    static IEnumerable<(string, ConfigKey)> Walk(Type record, string prefix)
    {
        foreach (var key in Of(record))
        {
            string path = prefix.Length == 0 ? key.Name : prefix + "." + key.Name;
            if (prefix.Length > 0) yield return (path, key);
            if (key.RecordType is Type inner)
                foreach (var sub in Walk(inner, key.IsSection ? path : path + "[]")) yield return sub;
        }
    }
}
