using System.Reflection;
using System.Text.RegularExpressions;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

/// <summary>
/// Every key of docs/config.md, walked: the docs and the schema list the same keys; each key's declared example binds
/// to a different record value and a different resolved YAML line; and training code outside the Config folder reads
/// the key's property (found in the compiled IL), so a key accepted and then dropped fails here.
/// </summary>
public sealed partial class ConfigEveryKeyTests : ConfigTestBase
{
    /// <summary>Keys whose behaviour is being built elsewhere; each entry names where (remove it when that lands).</summary>
    static readonly Dictionary<string, string> PendingElsewhere = new()
    {
        ["optimizer.name"] = "issue 10 item 5: the optimizer branch adds SGD, Adafactor and 8-bit AdamW behind optimizer.name",
        ["optimizer.momentum"] = "issue 10 item 5: the optimizer branch implements SGD momentum",
    };

    static readonly string[] LeafKeys = [.. ConfigSchema.AllKeys().Where(k => !k.Key.IsSection).Select(k => k.Path)];

    public static TheoryData<string> Keys() => new(LeafKeys);

    [Fact]
    public void DocsTables_AndSchema_ListTheSameKeys()
    {
        var documented = DocumentedKeys();
        var declared = ConfigSchema.AllKeys().Select(k => k.Path).ToHashSet();
        Assert.True(documented.Count > 60, $"parsed only {documented.Count} keys from docs/config.md");
        Assert.Empty(declared.Except(documented).Order()); // declared but without a row in docs/config.md
        Assert.Empty(documented.Except(declared).Order()); // documented but not a key of the schema
    }

    [Theory]
    [MemberData(nameof(Keys))]
    public void Key_ExampleChangesTheBoundValue_AndTheResolvedYaml(string path)
    {
        var key = KeyAt(path);
        Assert.False(key.Key!.Example is null, $"'{path}' declares no Example");
        string setting = path.Replace("[]", ".0") + "=" + key.Key.Example;
        string[] with = key.Key.ExampleWith?.Split(';') ?? [];
        var config = Parse(Minimal, [.. with, setting]);

        var record = Locate(config, path);
        object? defaultValue = key.Property.GetValue(Activator.CreateInstance(record.GetType()));
        object? value = key.Property.GetValue(record);
        Assert.NotEqual(defaultValue, value);

        // The resolved YAML carries it: it reloads to the same (non-default) value.
        var reloaded = ConfigLoader.Parse(ConfigLoader.ToYaml(config), Path.Combine(BaseDir, "resolved_config.yaml"));
        Assert.Equal(value, key.Property.GetValue(Locate(reloaded, path)));
        Assert.Equal(config, reloaded);
    }

    [Theory]
    [MemberData(nameof(Keys))]
    public void Key_IsReadByTrainingCode(string path)
    {
        if (PendingElsewhere.ContainsKey(path)) return;
        var key = KeyAt(path);
        Assert.True(ReadOutsideConfig.Value.Contains(key.Property.GetMethod!),
            $"'{path}' ({key.Property.DeclaringType!.Name}.{key.Property.Name}) is accepted but no training code reads it: make it work or reject it");
    }

    [Fact]
    public void PendingKeys_AreStillKeys() =>
        Assert.All(PendingElsewhere.Keys, k => Assert.Contains(k, LeafKeys));

    static ConfigKey KeyAt(string path) => ConfigSchema.AllKeys().Single(k => k.Path == path).Key;

    /// <summary>The record holding <paramref name="path"/>'s value in <paramref name="config"/> (list items: the first).</summary>
    static object Locate(TrainConfig config, string path)
    {
        object record = config;
        string[] parts = path.Split('.');
        for (int i = 0; ; i++)
        {
            string name = parts[i].TrimEnd('[', ']');
            var key = ConfigSchema.Of(record.GetType()).Single(k => k.Name == name);
            if (i == parts.Length - 1) return record;
            object value = key.Property.GetValue(record)!;
            record = parts[i].EndsWith("[]", StringComparison.Ordinal) ? ((System.Collections.IEnumerable)value).Cast<object>().First() : value;
        }
    }

    /// <summary>Key paths from the tables of docs/config.md: "### `model`" / "#### `method.lora` ..." headings, "Dataset item:".</summary>
    static HashSet<string> DocumentedKeys()
    {
        var keys = new HashSet<string>();
        string? section = null;
        foreach (string line in File.ReadLines(Path.Combine(Fixtures.RepoRoot, "docs", "config.md")))
        {
            if (HeadingRegex().Match(line) is { Success: true } h) section = h.Groups[1].Value;
            else if (line.StartsWith("Dataset item:", StringComparison.Ordinal)) section = "data.datasets[]";
            else if (line.StartsWith("## ", StringComparison.Ordinal) || line.StartsWith("### ", StringComparison.Ordinal)) section = null;
            else if (section != null && RowRegex().Match(line) is { Success: true } r) keys.Add(section + "." + r.Groups[1].Value);
        }
        return keys;
    }

    [GeneratedRegex(@"^#{3,4} `([a-z_.]+)`")]
    private static partial Regex HeadingRegex();

    [GeneratedRegex(@"^\| `([a-z_]+)` \|")]
    private static partial Regex RowRegex();

    /// <summary>
    /// Every method called from TuneSharp.Training outside the Config namespace, from the IL of each method (lambdas and
    /// state machines included): call/callvirt opcodes followed by a method token.
    /// </summary>
    static readonly Lazy<HashSet<MethodBase>> ReadOutsideConfig = new(() =>
    {
        var called = new HashSet<MethodBase>();
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in typeof(TrainConfig).Assembly.GetTypes())
        {
            if (type.Namespace == typeof(TrainConfig).Namespace) continue;
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (method.GetMethodBody()?.GetILAsByteArray() is not byte[] il) continue;
                for (int i = 0; i + 4 < il.Length; i++)
                {
                    if (il[i] is not (0x28 or 0x6F)) continue;
                    int token = BitConverter.ToInt32(il, i + 1);
                    if ((token >> 24) is not (0x06 or 0x0A or 0x2B)) continue;
                    try
                    {
                        if (method.Module.ResolveMethod(token, type.IsGenericType ? type.GetGenericArguments() : null,
                                method.IsGenericMethod ? method.GetGenericArguments() : null) is MethodBase target)
                            called.Add(target);
                    }
                    catch (ArgumentException) { } // a byte that only looks like a call opcode
                    catch (BadImageFormatException) { }
                }
            }
        }
        return called;
    });
}
