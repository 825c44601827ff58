using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Runtime;
using TuneSharp.Training.Tests.Recipes;
using Xunit;

namespace TuneSharp.Training.Tests.Runtime;

/// <summary>Re-running into a used output folder: only the same run resumes; nothing finished is overwritten unasked.</summary>
[Collection("training")]
public sealed class RunDirectoryTests
{
    [Fact]
    public void ChangedConfig_InAUsedFolder_IsRefusedNamingTheKeys_AndTheAdapterIsKept()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var first = h.Config(h.Yaml("lora", data), "train.max_steps=2");
        h.Run(first);
        string adapter = Path.Combine(first.Output.Dir, "adapter", "adapter_model.safetensors");
        byte[] trained = File.ReadAllBytes(adapter);

        var changed = h.Config(h.Yaml("lora", data), "train.max_steps=2", "optimizer.lr=5e-4", "data.template=mistral");
        var ex = Assert.Throws<RunConflictException>(() => h.Run(changed));
        Assert.Contains("optimizer.lr: 0.001 -> 0.0005", ex.Message);
        Assert.Contains("data.template: chatml -> mistral", ex.Message);
        Assert.Contains("new output.dir", ex.Message);
        Assert.Equal(trained, File.ReadAllBytes(adapter));
        // Not even --resume continues another run.
        Assert.Throws<RunConflictException>(() => h.Run(changed, resume: true));
    }

    [Fact]
    public void ChangedLoraRank_IsAClearConfigError_NotALibtorchError()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        h.RunLogged(h.Config(h.Yaml("lora", data), "train.max_steps=4"), stopAt: 1);
        var ex = Assert.Throws<RunConflictException>(() => h.Run(h.Config(h.Yaml("lora", data), "train.max_steps=4", "method.lora.r=16"), resume: true));
        Assert.Contains("method.lora.r: 8 -> 16", ex.Message);
        Assert.DoesNotContain("frame #", ex.Message);
    }

    [Fact]
    public void FinishedRun_IsNotOverwritten_AndALongerRunNeedsResume()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        h.Run(h.Config(h.Yaml("lora", data), "train.max_steps=2"));
        var same = Assert.Throws<RunConflictException>(() => h.Run(h.Config(h.Yaml("lora", data), "train.max_steps=2")));
        Assert.Contains("finished run (completed at step 2)", same.Message);

        var longer = h.Config(h.Yaml("lora", data), "train.max_steps=3");
        var ex = Assert.Throws<RunConflictException>(() => h.Run(longer));
        Assert.Contains("train.max_steps: 2 -> 3", ex.Message);
        Assert.Contains("--resume", ex.Message);
        Assert.Equal(3, h.Run(longer, resume: true).Steps);
    }

    [Fact]
    public void InterruptedRun_WithTheSameConfig_ResumesWithoutBeingAsked()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(16);
        var cfg = h.Config(h.Yaml("lora", data), "train.max_steps=4");
        var stopped = h.RunLogged(cfg, stopAt: 2);
        Assert.Equal("interrupted", stopped.Status);
        var log = new StringWriter();
        var resumed = h.RunLogged(cfg, log: log);
        Assert.Equal("completed", resumed.Status);
        Assert.Equal(4, resumed.Steps);
        Assert.Contains("resuming from", log.ToString());
    }

    [Fact]
    public void ChangedDataOrModel_IsRefused()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(16);
        var cfg = h.Config(h.Yaml("lora", data), "train.max_steps=4");
        h.RunLogged(cfg, stopAt: 1);
        File.AppendAllText(data, File.ReadLines(data).First() + "\n");
        var ex = Assert.Throws<RunConflictException>(() => h.Run(cfg));
        Assert.Contains("data: fingerprint", ex.Message);

        // The same folder name, other weights: a copy of the model with one weight changed.
        string model = Path.Combine(h.Dir, "model-copy");
        Directory.CreateDirectory(model);
        foreach (var f in Directory.GetFiles(TrainHarness.ModelDir)) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        using (var s = new FileStream(Path.Combine(model, "model.safetensors"), FileMode.Open, FileAccess.ReadWrite))
        {
            s.Position = s.Length - 3;
            int b = s.ReadByte();
            s.Position = s.Length - 3;
            s.WriteByte((byte)(b ^ 0x40));
        }
        string other = h.WriteChatData(16, "other.jsonl");
        var second = h.Config(h.Yaml("lora", other), "train.max_steps=4", $"output.dir={Path.Combine(h.Dir, "second")}");
        h.RunLogged(second, stopAt: 1);
        var moved = h.Config(h.Yaml("lora", other).Replace(TrainHarness.ModelDir, model), "train.max_steps=4", $"output.dir={Path.Combine(h.Dir, "second")}");
        var weights = Assert.Throws<RunConflictException>(() => h.Run(moved, resume: true));
        Assert.Contains("model weights: fingerprint", weights.Message);
    }

    [Fact]
    public void FailedStart_InANewFolder_LeavesNothingBehind()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        File.AppendAllText(data, "{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}\n");
        var cfg = h.Config(h.Yaml("lora", data));
        Assert.Throws<Setup.DataValidationException>(() => h.RunLogged(cfg));
        Assert.False(Directory.Exists(cfg.Output.Dir), "a refused run left its folder behind");
    }

    [Fact]
    public void RefusedSecondRun_WritesNothingIntoTheLiveRunsFolder()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var cfg = h.Config(h.Yaml("lora", data), "logging.tensorboard=true", "logging.plot=true");
        Directory.CreateDirectory(cfg.Output.Dir);
        using var live = OutputLock.Acquire(cfg.Output.Dir);
        Assert.Throws<InvalidOperationException>(() => h.RunLogged(cfg));
        Assert.Equal([".tunesharp.lock"], Directory.EnumerateFileSystemEntries(cfg.Output.Dir).Select(Path.GetFileName));
    }

    [Fact]
    public void OutputDirThatIsAFile_IsAClearError()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        string file = Path.Combine(h.Dir, "not-a-folder");
        File.WriteAllText(file, "x");
        var ex = Assert.Throws<IOException>(() => h.Run(h.Config(h.Yaml("lora", data), $"output.dir={file}")));
        Assert.Contains("is a file", ex.Message);
    }

    [Fact]
    public void StaleTemporaryCheckpoints_AreRemovedAtTheNextStart()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var cfg = h.Config(h.Yaml("lora", data), "train.max_steps=3");
        h.RunLogged(cfg, stopAt: 1);
        string stale = Path.Combine(CheckpointStore.Root(cfg.Output.Dir), ".tmp-step-0000002-deadbeef");
        Directory.CreateDirectory(stale);
        File.WriteAllBytes(Path.Combine(stale, "trainable.safetensors"), new byte[1000]);
        string staleOutput = Path.Combine(cfg.Output.Dir, ".adapter.tmp-0123");
        Directory.CreateDirectory(staleOutput);
        h.RunLogged(cfg);
        Assert.False(Directory.Exists(stale));
        Assert.False(Directory.Exists(staleOutput));
    }
}
