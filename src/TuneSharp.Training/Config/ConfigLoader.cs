using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TuneSharp.Training.Config;

/// <summary>
/// Loads <c>tunesharp train</c> YAML configs: parse to YamlDotNet's representation tree, apply <c>key.sub=value</c>
/// overrides to the tree, bind strictly (unknown keys and wrong types are errors with positions and did-you-mean),
/// then validate semantically. Relative paths resolve against the config file's folder. See docs/config.md.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Loads a config file; errors name <paramref name="path"/> as given.</summary>
    public static TrainConfig Load(string path, IEnumerable<string>? overrides = null)
    {
        if (!File.Exists(path))
            throw new ConfigException(new ConfigError(path, null, null, null, "config file not found"));
        return Parse(File.ReadAllText(path), path, overrides);
    }

    /// <summary>Parses YAML text; relative paths resolve against the folder of <paramref name="sourceName"/>.</summary>
    public static TrainConfig Parse(string yaml, string sourceName, IEnumerable<string>? overrides = null) =>
        Parse(yaml, sourceName, overrides, DateTime.Now);

    /// <summary>As <see cref="Parse(string, string, IEnumerable{string}?)"/> with the time used for the {date} placeholder.</summary>
    public static TrainConfig Parse(string yaml, string sourceName, IEnumerable<string>? overrides, DateTime now)
    {
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(sourceName)) ?? Directory.GetCurrentDirectory();
        var ctx = new BindContext(sourceName, baseDir, now);

        var stream = new YamlStream();
        var parser = new TrackingParser(new Parser(new StringReader(yaml)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            throw new ConfigException(new ConfigError(sourceName, (int)e.Start.Line, (int)e.Start.Column, null, YamlMessage(e)));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this (without a position) on some malformed input, e.g. an unclosed "[a".
            throw new ConfigException(new ConfigError(sourceName, (int)parser.LastEnd.Line, (int)parser.LastEnd.Column, null,
                "invalid YAML after this point (unclosed bracket or quote?)"));
        }
        if (stream.Documents.Count > 1)
            throw new ConfigException(new ConfigError(sourceName, (int)stream.Documents[1].RootNode.Start.Line,
                (int)stream.Documents[1].RootNode.Start.Column, null, "expected a single YAML document"));

        var rootNode = stream.Documents.Count == 0 ? new YamlMappingNode() : stream.Documents[0].RootNode;
        if (rootNode is not YamlMappingNode root)
        {
            if (!YamlScalars.IsNull(rootNode))
                throw new ConfigException(new ConfigError(sourceName, (int)rootNode.Start.Line, (int)rootNode.Start.Column, null,
                    $"the config must be a mapping of sections (model:, method:, ...), found {YamlScalars.Describe(rootNode)}"));
            root = new YamlMappingNode();
        }

        ConfigOverrides.Apply(ctx, root, overrides ?? []);
        var config = ConfigBinder.Bind(ctx, root);
        ctx.ReportUnknownKeys();
        if (ctx.TakeException() is ConfigException bindError) throw bindError;

        new ConfigValidator(ctx).Validate(config);
        if (ctx.TakeException() is ConfigException semanticError) throw semanticError;
        return config;
    }

    /// <summary>The resolved config as YAML; <see cref="Parse(string, string, IEnumerable{string}?)"/> of it gives an equal config.</summary>
    public static string ToYaml(TrainConfig config) => ConfigWriter.Write(config);

    /// <summary>Remembers where the last successfully parsed event ended, to locate errors the scanner reports without a position.</summary>
    sealed class TrackingParser(IParser inner) : IParser
    {
        public Mark LastEnd { get; private set; } = Mark.Empty;
        public YamlDotNet.Core.Events.ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            if (inner.Current != null) LastEnd = inner.Current.End;
            return inner.MoveNext();
        }
    }

    /// <summary>YamlDotNet's message without its "(Line: .., Col: ..)" prefix (the position is reported separately).</summary>
    internal static string YamlMessage(YamlException e)
    {
        string m = e.Message;
        int dash = m.IndexOf("): ", StringComparison.Ordinal);
        return m.StartsWith('(') && dash > 0 ? m[(dash + 3)..] : m;
    }
}
