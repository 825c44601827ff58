using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TuneSharp.Graders.ModelClient;

/// <summary>
/// Reads the score out of a judge model's reply, first rule that applies:
/// 1. the reply is a JSON object (optionally in a ```json fence) with a numeric <c>result</c> (OpenAI's score_model
///    output shape) or <c>score</c>;
/// 2. the reply is a single number;
/// 3. the last "score: N" / "result = N" / "rating: N" / "grade: N" in the text;
/// 4. the only number in the text.
/// Otherwise there is no score (several numbers and no label are ambiguous).
/// </summary>
public static partial class ScoreReply
{
    public static (double? Score, string Rule) Parse(string reply)
    {
        if (GraderContext.TryParse(reply) is { } json)
        {
            if (json.ValueKind == JsonValueKind.Number) return (json.GetDouble(), "number");
            if (json.ValueKind == JsonValueKind.Object)
                foreach (string key in (string[])["result", "score"])
                    if (json.TryGetProperty(key, out var v) && Number(v) is { } d) return (d, $"json.{key}");
        }
        var labelled = LabelRegex().Matches(reply);
        if (labelled.Count > 0) return (ParseDouble(labelled[^1].Groups[2].Value), "label");
        var numbers = NumberRegex().Matches(reply);
        return numbers.Count == 1 ? (ParseDouble(numbers[0].Value), "only-number") : (null, numbers.Count == 0 ? "no-number" : "ambiguous");
    }

    static double? Number(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number => v.GetDouble(),
        JsonValueKind.String when double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => null,
    };

    static double ParseDouble(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"(?i)\b(score|result|rating|grade)\b\**\s*[:=]?\s*\**\s*([-+]?\d+(?:\.\d+)?)")]
    private static partial Regex LabelRegex();

    [GeneratedRegex(@"[-+]?\d+(?:\.\d+)?")]
    private static partial Regex NumberRegex();
}
