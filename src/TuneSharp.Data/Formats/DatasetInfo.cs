using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Data;

/// <summary>
/// Reads LLaMA-Factory <c>dataset_info.json</c> entries as <see cref="DatasetSpec"/>s: <c>file_name</c> (relative to the json),
/// <c>formatting</c> (alpaca|sharegpt), <c>ranking</c>, <c>columns</c> (LLaMA-Factory names translated to ours) and <c>tags</c>.
/// </summary>
public static class DatasetInfo
{
    // LLaMA-Factory column name -> our canonical field, per formatting.
    static readonly Dictionary<string, string> AlpacaColumns = new()
    {
        ["prompt"] = "instruction", ["query"] = "input", ["response"] = "output", ["system"] = "system", ["history"] = "history",
        ["chosen"] = "chosen", ["rejected"] = "rejected", ["kto_tag"] = "label", ["tools"] = "tools",
    };
    static readonly Dictionary<string, string> ShareGptColumns = new()
    {
        ["messages"] = "conversations", ["system"] = "system", ["tools"] = "tools", ["chosen"] = "chosen", ["rejected"] = "rejected",
        ["kto_tag"] = "label",
    };
    static readonly HashSet<string> IgnoredKeys = ["split", "num_samples", "subset", "folder", "load_from", "file_sha1"];

    /// <summary>The spec of entry <paramref name="name"/>; throws naming the key for anything not supported.</summary>
    public static DatasetSpec Load(string datasetInfoPath, string name)
    {
        var root = JsonNode.Parse(File.ReadAllText(datasetInfoPath)) as JsonObject
            ?? throw new InvalidDataException($"{datasetInfoPath}: expected a JSON object of dataset entries");
        if (root[name] is not JsonObject entry)
            throw new KeyNotFoundException($"{datasetInfoPath}: no dataset '{name}' (have: {string.Join(", ", root.Select(p => p.Key))})");
        string where = $"{datasetInfoPath}: dataset '{name}'";
        string? file = entry["file_name"]?.GetValue<string>();
        if (file is null)
        {
            string source = entry.Select(p => p.Key).FirstOrDefault(k => k is "hf_hub_url" or "ms_hub_url" or "script_url" or "om_hub_url") ?? "no file_name";
            throw new NotSupportedException($"{where}: only local files are supported ({source})");
        }
        string formatting = entry["formatting"]?.GetValue<string>() ?? "alpaca";
        bool sharegpt = formatting switch
        {
            "alpaca" => false,
            "sharegpt" => true,
            _ => throw new NotSupportedException($"{where}: formatting '{formatting}' is not supported (alpaca, sharegpt)"),
        };
        foreach (var (key, _) in entry)
            if (key is not ("file_name" or "formatting" or "ranking" or "columns" or "tags") && !IgnoredKeys.Contains(key))
                throw new NotSupportedException($"{where}: key '{key}' is not supported");
        bool ranking = entry["ranking"]?.GetValue<bool>() ?? false;
        var columns = new Dictionary<string, string>(StringComparer.Ordinal);
        bool kto = false;
        if (entry["columns"] is JsonObject cols)
            foreach (var (lf, value) in cols)
            {
                var map = sharegpt ? ShareGptColumns : AlpacaColumns;
                if (!map.TryGetValue(lf, out var canonical))
                    throw new NotSupportedException($"{where}: column '{lf}' is not supported (images, videos and audios are not read)");
                kto |= lf == "kto_tag";
                columns[canonical] = value!.GetValue<string>();
            }
        ShareGptTags? tags = null;
        if (entry["tags"] is JsonObject t)
        {
            string? Tag(string key) => t[key]?.GetValue<string>();
            var d = ShareGptTags.Default;
            foreach (var (key, _) in t)
                if (key is not ("role_tag" or "content_tag" or "user_tag" or "assistant_tag" or "observation_tag" or "function_tag" or "system_tag"))
                    throw new NotSupportedException($"{where}: tag '{key}' is not supported");
            tags = new ShareGptTags
            {
                RoleTag = Tag("role_tag") ?? d.RoleTag, ContentTag = Tag("content_tag") ?? d.ContentTag,
                UserTag = Tag("user_tag") ?? d.UserTag, AssistantTag = Tag("assistant_tag") ?? d.AssistantTag,
                ObservationTag = Tag("observation_tag") ?? d.ObservationTag, FunctionTag = Tag("function_tag") ?? d.FunctionTag,
                SystemTag = Tag("system_tag") ?? d.SystemTag,
            };
        }
        DataFormat format = ranking ? DataFormat.Preference : kto ? DataFormat.Kto : sharegpt ? DataFormat.ShareGpt : DataFormat.Alpaca;
        string dir = Path.GetDirectoryName(Path.GetFullPath(datasetInfoPath))!;
        return new DatasetSpec(Path.Combine(dir, file)) { Format = format, Columns = columns.Count > 0 ? columns : null, Tags = tags };
    }
}
