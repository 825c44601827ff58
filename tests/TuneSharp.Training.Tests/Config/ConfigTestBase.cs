using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

/// <summary>Shared helpers: a minimal valid config and parsing relative to a fixed (not necessarily existing) folder.</summary>
public abstract class ConfigTestBase
{
    protected static readonly string BaseDir = Path.Combine(Path.GetTempPath(), "tunesharp-config-tests");
    protected static readonly string Source = Path.Combine(BaseDir, "config.yaml");

    /// <summary>Line 1..10, used by tests that count lines.</summary>
    protected const string Minimal = """
        model:
          path: org/model
        method:
          type: lora
        data:
          datasets:
            - path: d.jsonl
        train:
          max_steps: 10
          micro_batch_size: 2
        """;

    protected static TrainConfig Parse(string yaml, params string[] overrides) =>
        ConfigLoader.Parse(yaml, Source, overrides, new DateTime(2025, 1, 2, 3, 4, 5));

    protected static ConfigException Fails(string yaml, params string[] overrides) =>
        Assert.Throws<ConfigException>(() => Parse(yaml, overrides));

    /// <summary>Position of the first occurrence of <paramref name="text"/> in <paramref name="yaml"/> (1-based line, column).</summary>
    protected static (int Line, int Column) PositionOf(string yaml, string text)
    {
        var lines = yaml.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int c = lines[i].IndexOf(text, StringComparison.Ordinal);
            if (c >= 0) return (i + 1, c + 1);
        }
        throw new ArgumentException($"'{text}' not in yaml");
    }
}
