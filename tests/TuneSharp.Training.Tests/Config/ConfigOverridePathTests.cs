using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

public class ConfigOverridePathTests
{
    [Fact]
    public void RelativePaths_InTheFile_FollowTheFile_InOverrides_FollowTheCurrentDirectory()
    {
        string dir = Directory.CreateTempSubdirectory("tunesharp-cfgpath").FullName;
        try
        {
            string yaml = "model:\n  path: org/model\nmethod:\n  type: lora\ndata:\n  datasets: [data/a.jsonl]\ntrain:\n  max_steps: 1\n";
            string file = Path.Combine(dir, "sub", "run.yaml");
            var fromFile = ConfigLoader.Parse(yaml, file);
            Assert.Equal(Path.Combine(dir, "sub", "data", "a.jsonl"), fromFile.Data.Datasets[0].Path);

            var overridden = ConfigLoader.Parse(yaml, file, ["data.datasets=[x/b.jsonl]", "output.dir=out/run"]);
            string cwd = Directory.GetCurrentDirectory();
            Assert.Equal(Path.Combine(cwd, "x", "b.jsonl"), overridden.Data.Datasets[0].Path);
            Assert.Equal(Path.Combine(cwd, "out", "run"), overridden.Output.Dir);
        }
        finally { Directory.Delete(dir, true); }
    }
}

public class EpochsAndMaxStepsTests
{
    [Fact]
    public void MaxStepsOverride_ShortensAnEpochsConfig()
    {
        const string yaml = "model:\n  path: org/m\nmethod:\n  type: lora\ndata:\n  datasets: [a.jsonl]\ntrain:\n  epochs: 2\n";
        var cfg = ConfigLoader.Parse(yaml, "/tmp/x.yaml", ["train.max_steps=5"]);
        Assert.Equal(5, cfg.Train.MaxSteps);
        Assert.Equal(2, cfg.Train.Epochs);
    }
}
