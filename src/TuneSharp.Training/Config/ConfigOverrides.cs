using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TuneSharp.Training.Config;

/// <summary>
/// Applies command-line overrides <c>key.sub=value</c> to the YAML tree before binding, so they go through the same
/// binding and validation as the file. The value is parsed as YAML (flow lists and mappings allowed); a numeric
/// segment indexes into a list (<c>data.datasets.0.weight=2</c>). Missing intermediate mappings are created.
/// </summary>
internal static class ConfigOverrides
{
    public static void Apply(BindContext ctx, YamlMappingNode root, IEnumerable<string> overrides)
    {
        foreach (string text in overrides)
        {
            string source = $"override '{text}'";
            int eq = text.IndexOf('=');
            string[] segments = eq > 0 ? text[..eq].Trim().Split('.') : [];
            string key = string.Join('.', segments);
            var marker = new YamlScalarNode(key);
            ctx.TagOverride(marker, source);
            if (segments.Length == 0 || segments.Any(s => s.Trim().Length == 0))
            {
                ctx.Error(marker, null, "expected key.sub=value (e.g. train.max_steps=100)");
                continue;
            }
            if (ParseValue(ctx, marker, key, text[(eq + 1)..]) is not YamlNode value) continue;
            ctx.TagOverride(value, source);
            Set(ctx, root, segments, value, marker, source);
        }
    }

    static YamlNode? ParseValue(BindContext ctx, YamlNode marker, string key, string text)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count == 0 ? new YamlScalarNode("") : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            ctx.Error(marker, key, $"the value is not valid YAML: {ConfigLoader.YamlMessage(e)}");
            return null;
        }
        catch (InvalidOperationException)
        {
            ctx.Error(marker, key, "the value is not valid YAML (unclosed bracket or quote?)");
            return null;
        }
    }

    static void Set(BindContext ctx, YamlMappingNode root, string[] segments, YamlNode value, YamlNode marker, string source)
    {
        YamlNode current = root;
        for (int i = 0; i < segments.Length; i++)
        {
            string seg = segments[i];
            string prefix = string.Join('.', segments[..(i + 1)]);
            bool last = i == segments.Length - 1;
            switch (current)
            {
                case YamlMappingNode map:
                {
                    var keyNode = map.Children.Keys.FirstOrDefault(k => k is YamlScalarNode { Value: var v } && v == seg);
                    if (keyNode == null)
                    {
                        keyNode = new YamlScalarNode(seg);
                        ctx.TagOverride(keyNode, source);
                        var child = last ? value : NewMapping(ctx, source);
                        map.Children.Add(keyNode, child);
                        current = child;
                    }
                    else if (last || YamlScalars.IsNull(map.Children[keyNode]))
                    {
                        var child = last ? value : NewMapping(ctx, source);
                        map.Children[keyNode] = child;
                        current = child;
                    }
                    else current = map.Children[keyNode];
                    break;
                }
                case YamlSequenceNode seq:
                {
                    if (!int.TryParse(seg, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= seq.Children.Count)
                    {
                        ctx.Error(marker, prefix, $"'{string.Join('.', segments[..i])}' is a list of {seq.Children.Count} items; '{seg}' is not an index into it");
                        return;
                    }
                    if (last) seq.Children[index] = value;
                    current = seq.Children[index];
                    break;
                }
                default:
                    ctx.Error(marker, prefix, $"cannot set '{string.Join('.', segments)}': '{string.Join('.', segments[..i])}' is {YamlScalars.Describe(current)}, not a mapping");
                    return;
            }
        }
    }

    static YamlMappingNode NewMapping(BindContext ctx, string source)
    {
        var map = new YamlMappingNode();
        ctx.TagOverride(map, source);
        return map;
    }
}
