using System.Text;

namespace TuneSharp.Training.Config;

/// <summary>
/// Writes a resolved <see cref="TrainConfig"/> as YAML that binds back to an equal config, by walking
/// <see cref="ConfigSchema"/>: every key in declaration order, only the sections the config uses.
/// </summary>
internal sealed class ConfigWriter
{
    readonly StringBuilder _sb = new();
    int _indent;

    public static string Write(TrainConfig c)
    {
        var w = new ConfigWriter();
        w._sb.Append("# Resolved TuneSharp config: defaults filled in, overrides applied, paths absolute.\n");
        w.Record(c);
        return w._sb.ToString();
    }

    /// <summary>Every key of a record; a section only when it is used (another method's section would be rejected on reload).</summary>
    void Record(object record, int skip = 0)
    {
        foreach (var key in ConfigSchema.Of(record.GetType()).Skip(skip))
        {
            object? value = key.Property.GetValue(record);
            if (!key.IsSection) key.Type!.WriteTo(this, key.Name, value);
            else if (ConfigSchema.IsUsed(record, key))
            {
                Raw(key.Name + ":");
                _indent += 2;
                Record(value!);
                _indent -= 2;
            }
        }
    }

    /// <summary>One item of a list of sections: <c>- first: v</c>, the other keys indented below it.</summary>
    public void ListItem(object record)
    {
        var first = ConfigSchema.Of(record.GetType())[0];
        Raw($"  - {first.Name}: {first.Type!.Write(first.Property.GetValue(record))}");
        _indent += 4;
        Record(record, skip: 1);
        _indent -= 4;
    }

    public void Line(string key, string value) => Raw($"{key}: {value}");

    public void Raw(string text) => _sb.Append(' ', _indent).Append(text).Append('\n');
}
