using System.Text.Json;

namespace TuneSharp.Tokenizers;

/// <summary>The parts of tokenizer_config.json (+ special_tokens_map.json, chat_template.jinja) that affect encoding and decoding.</summary>
sealed record TokenizerConfig(
    string? TokenizerClass,
    string? BosToken, string? EosToken, string? PadToken, string? UnkToken,
    IReadOnlyList<string> AdditionalSpecialTokens,
    bool? AddBosToken, bool? AddEosToken, bool? CleanUpTokenizationSpaces,
    string? ChatTemplate, IReadOnlyDictionary<string, string> NamedChatTemplates)
{
    public static TokenizerConfig Load(string directory)
    {
        string configPath = Path.Combine(directory, "tokenizer_config.json");
        string mapPath = Path.Combine(directory, "special_tokens_map.json");
        using var config = File.Exists(configPath) ? Json.ParseFile(configPath) : null;
        using var map = File.Exists(mapPath) ? Json.ParseFile(mapPath) : null;
        var c = config?.RootElement ?? default;
        var m = map?.RootElement ?? default;

        // special_tokens_map.json overrides tokenizer_config.json, as transformers' from_pretrained does.
        string? Special(string name) =>
            Json.Property(m, name).ValueKind != JsonValueKind.Undefined ? TokenContent(Json.Property(m, name)) : TokenContent(Json.Property(c, name));
        bool? Bool(string name) => Json.Property(c, name).ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };

        var additional = Json.Property(m, "additional_special_tokens").ValueKind == JsonValueKind.Array
            ? Json.Property(m, "additional_special_tokens") : Json.Property(c, "additional_special_tokens");
        var additionalList = additional.ValueKind == JsonValueKind.Array
            ? additional.EnumerateArray().Select(TokenContent).OfType<string>().ToList() : [];

        var (template, named) = ChatTemplates(Json.Property(c, "chat_template"), configPath);
        string jinjaPath = Path.Combine(directory, "chat_template.jinja");
        if (template == null && File.Exists(jinjaPath))
        {
            template = File.ReadAllText(jinjaPath);
            named = new Dictionary<string, string> { ["default"] = template };
        }

        return new TokenizerConfig(Json.OptionalString(c, "tokenizer_class"),
            Special("bos_token"), Special("eos_token"), Special("pad_token"), Special("unk_token"), additionalList,
            Bool("add_bos_token"), Bool("add_eos_token"), Bool("clean_up_tokenization_spaces"), template, named);
    }

    /// <summary>A special token is written either as a string or as a serialized AddedToken {"content": ...}.</summary>
    static string? TokenContent(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Object => Json.OptionalString(e, "content"),
        _ => null,
    };

    static (string?, IReadOnlyDictionary<string, string>) ChatTemplates(JsonElement node, string file)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.String:
                return (node.GetString(), new Dictionary<string, string> { ["default"] = node.GetString()! });
            case JsonValueKind.Array:
                var named = new Dictionary<string, string>();
                foreach (var entry in node.EnumerateArray())
                    named[Json.RequiredString(entry, "name", file, "chat_template[]")] = Json.RequiredString(entry, "template", file, "chat_template[]");
                return (named.GetValueOrDefault("default"), named);
            default:
                return (null, new Dictionary<string, string>());
        }
    }
}
