using TuneSharp.Core.Hub;
using TuneSharp.Training.Config;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// The files and folders a train config names, checked before the run starts: a missing one is a config error naming
/// the config file and the key (exit 2), instead of a failure deep inside data preparation or model loading.
/// </summary>
public static class TrainInputs
{
    public static IReadOnlyList<ConfigError> Missing(TrainConfig cfg, string configFile)
    {
        var errors = new List<ConfigError>();
        void Require(bool exists, string key, string what, string path)
        {
            if (!exists) errors.Add(new ConfigError(configFile, null, null, key, $"{key}: {what} not found: {path}"));
        }

        for (int i = 0; i < cfg.Data.Datasets.Count; i++)
            Require(Exists(cfg.Data.Datasets[i].Path), $"data.datasets[{i}].path", "dataset", cfg.Data.Datasets[i].Path);
        if (cfg.Data.ValPath is { } val) Require(Exists(val), "data.val_path", "validation dataset", val);
        if (cfg.Data.Template is { Kind: TemplateKind.File, Path: { } template })
            Require(File.Exists(template), "data.template", "chat template file", template);
        if (!ModelLocator.LooksLikeRepoId(cfg.Model.Path)) Require(Directory.Exists(cfg.Model.Path), "model.path", "model folder", cfg.Model.Path);
        if (cfg.Model.Adapter is { } adapter) Require(Directory.Exists(adapter), "model.adapter", "adapter folder", adapter);
        return errors;
    }

    static bool Exists(string path) => File.Exists(path) || Directory.Exists(path);
}
