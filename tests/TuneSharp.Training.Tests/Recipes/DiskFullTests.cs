using System.Diagnostics;
using TuneSharp.Training.Checkpoints;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>
/// A real full disk: the run's output folder is a 1 MiB tmpfs, so checkpointing fails with ENOSPC part-way through the
/// run. Needs root for mount (CI runs as root); elsewhere it is skipped with that reason.
/// </summary>
[Collection("training")]
public class DiskFullTests
{
    [Fact]
    public void DiskFullWhileCheckpointing_FailsClearly_AndLeavesOnlyCompleteEarlierCheckpoints()
    {
        if (Environment.UserName != "root" || !OperatingSystem.IsLinux()) Assert.Skip("mounting a small tmpfs needs root on Linux");
        using var h = new TrainHarness();
        string data = h.WriteChatData(16);
        string mount = Path.Combine(h.Dir, "small-disk");
        Directory.CreateDirectory(mount);
        Run("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mount);
        try
        {
            var cfg = h.Config(h.Yaml("lora", data), "method.lora.targets=all-linear", "train.max_steps=200",
                "output.save_every_steps=1", "output.keep_last=null", $"output.dir={Path.Combine(mount, "run")}");
            var ex = Assert.ThrowsAny<IOException>(() => h.Run(cfg));
            Assert.Contains("space", ex.Message, StringComparison.OrdinalIgnoreCase);

            string root = CheckpointStore.Root(cfg.Output.Dir);
            Assert.Empty(Directory.GetDirectories(root, ".tmp-*")); // the failed save cleaned up after itself
            var complete = Directory.GetDirectories(root, "step-*");
            Assert.True(complete.Length >= 1, "expected at least one checkpoint written before the disk filled");
            foreach (var dir in complete)
                foreach (var file in new[] { "trainable.safetensors", "optimizer.safetensors", "optimizer.json", "trainer_state.json", "rng.safetensors" })
                    Assert.True(File.Exists(Path.Combine(dir, file)), $"{dir} lacks {file}");
            // The newest complete checkpoint is readable.
            var weights = TrainHarness.CheckpointWeights(cfg.Output.Dir);
            Assert.NotEmpty(weights);
        }
        finally
        {
            Run("umount", mount);
        }
    }

    static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {err}");
    }
}
