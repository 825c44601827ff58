using System.CommandLine;
using TuneSharp.Data.Templates;

namespace TuneSharp.Cli;

/// <summary>The `--template` option of chat, generate and serve: auto, a built-in name or a .jinja file (<see cref="TemplateResolver"/>).</summary>
public static class TemplateOption
{
    public static Option<string?> Create() => Create(
        "Chat template: auto (default: the model's own, or the one an --adapter was trained with), "
        + string.Join(", ", ChatTemplate.BuiltInNames) + ", or a path to a .jinja file.");

    public static Option<string?> Create(string description)
    {
        var option = new Option<string?>("--template") { Description = description };
        // Unknown names are usage errors; a missing file is reported when the command runs.
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string?>();
            if (value is null or TemplateResolver.Auto || ChatTemplate.BuiltInNames.Contains(value) || TemplateResolver.IsPath(value)) return;
            result.AddError($"unknown chat template '{value}'; use {TemplateResolver.ChoicesText}");
        });
        return option;
    }
}
