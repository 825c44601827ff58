using System.Text;

namespace TuneSharp.Eval.Tasks;

/// <summary>RFC 4180 rows (quoted fields may hold commas, doubled quotes and newlines), each with its first line number.</summary>
public static class CsvRows
{
    public static IEnumerable<(IReadOnlyList<string> Fields, int Line)> Read(string path)
    {
        string text = File.ReadAllText(path);
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, rowLine = 1;
        bool quoted = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else { if (c == '\n') line++; field.Append(c); }
                continue;
            }
            switch (c)
            {
                case '"': quoted = true; any = true; break;
                case ',': fields.Add(field.ToString()); field.Clear(); any = true; break;
                case '\r': break;
                case '\n':
                    fields.Add(field.ToString()); field.Clear();
                    yield return (fields, rowLine);
                    fields = []; any = false; line++; rowLine = line;
                    break;
                default: field.Append(c); any = true; break;
            }
        }
        if (quoted) throw new InvalidDataException($"{path}:{rowLine}: a quoted field is not closed");
        if (any || field.Length > 0) { fields.Add(field.ToString()); yield return (fields, rowLine); }
    }
}
