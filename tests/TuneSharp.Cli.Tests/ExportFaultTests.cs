using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>
/// Issue 11 item 7 (export part): merge output is written atomically, never over or inside an input, never over a
/// non-empty folder without --force; stale temporaries of dead exports are removed; GGUF exports share a folder.
/// </summary>
public sealed class ExportFaultTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("tunesharp-export-faults").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static string Stories => Fixtures.Get("models/stories260K-hf");

    /// <summary>A private copy of stories260K (a refused --out inside it must not touch the shared fixture) and an adapter.</summary>
    (string Base, string Adapter) Inputs()
    {
        string baseDir = Path.Combine(_root, "base");
        Directory.CreateDirectory(baseDir);
        foreach (var f in Directory.GetFiles(Stories)) File.Copy(f, Path.Combine(baseDir, Path.GetFileName(f)));
        string adapter = Path.Combine(_root, "adapter");
        var settings = LoraSettings.Create(4, 8, "q_proj", "v_proj");
        using (var model = new LoraPolicy(settings).LoadModel(baseDir, seed: 1)) AdapterIO.Save(adapter, model, settings, baseDir);
        return (baseDir, adapter);
    }

    static string[] Listing(string dir) => [.. Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order()];


    [Fact]
    public void Merge_KilledWhileWriting_LeavesNothingAtTheOutput_AndTheNextMergeCleansUp()
    {
        var (baseDir, adapter) = Inputs();
        string outDir = Path.Combine(_root, "merged");
        bool caught = false;
        for (int attempt = 0; attempt < 8 && !caught; attempt++)
        {
            using var p = CliRunner.Start(null, "export", "merge", "--base", baseDir, "--adapter", adapter, "--out", outDir, "--force");
            while (!p.Process.HasExited)
            {
                // kill -9 as soon as the staging folder exists, i.e. in the middle of the write
                if (Directory.EnumerateDirectories(_root, ".merged.tmp-*").Any())
                {
                    p.Process.Kill();
                    caught = true;
                    break;
                }
                Thread.SpinWait(1000);
            }
            p.Process.WaitForExit();
            if (caught && Directory.Exists(outDir))
            {
                // The rename happened just before the kill: then the folder is complete. Try again from scratch.
                Assert.True(File.Exists(Path.Combine(outDir, "tokenizer_config.json")));
                Directory.Delete(outDir, true);
                caught = false;
            }
        }
        Assert.True(caught, "the merge was never caught while writing");
        Assert.False(Directory.Exists(outDir));
        Assert.Single(Directory.EnumerateDirectories(_root, ".merged.tmp-*")); // the dead process's staging folder

        var r = CliRunner.Run(null, "export", "merge", "--base", baseDir, "--adapter", adapter, "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Empty(Directory.EnumerateDirectories(_root, ".merged.tmp-*"));
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        using var merged = ModelLoader.Load(outDir);
    }

    [Fact]
    public async Task Merge_RefusesAnOutputThatIsOrHoldsOrSitsInAnInput()
    {
        var (baseDir, adapter) = Inputs();
        var before = Listing(_root);
        foreach (string outDir in new[] { baseDir, Path.Combine(baseDir, "merged"), adapter, Path.Combine(adapter, "m"), _root })
        {
            var stderr = new StringWriter();
            int exit = await CliApp.RunAsync(["export", "merge", "--base", baseDir, "--adapter", adapter, "--out", outDir, "--force"], new StringWriter(), stderr);
            Assert.Equal(1, exit);
            Assert.Contains("overlaps", stderr.ToString());
        }
        Assert.Equal(before, Listing(_root));
    }

    [Fact]
    public async Task Merge_ExistingNonEmptyOutput_NeedsForce()
    {
        var (baseDir, adapter) = Inputs();
        string outDir = Path.Combine(_root, "merged");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");
        var stderr = new StringWriter();
        Assert.Equal(1, await CliApp.RunAsync(["export", "merge", "--base", baseDir, "--adapter", adapter, "--out", outDir], new StringWriter(), stderr));
        Assert.Contains("--force", stderr.ToString());
        Assert.Equal(["notes.txt"], Directory.GetFiles(outDir).Select(Path.GetFileName));

        stderr = new StringWriter();
        Assert.True(await CliApp.RunAsync(["export", "merge", "--base", baseDir, "--adapter", adapter, "--out", outDir, "--force"], new StringWriter(), stderr) == 0,
            stderr.ToString());
        Assert.False(File.Exists(Path.Combine(outDir, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
    }

    [Fact]
    public async Task Gguf_TwoExportsInOneFolder_KeepTheirModelfiles_AndStaleTempsAreRemoved()
    {
        string dir = Path.Combine(_root, "gguf");
        Directory.CreateDirectory(dir);
        string stale = Path.Combine(dir, $".a.gguf.tmp-{DeadProcess.Id()}-{Guid.NewGuid():N}");
        File.WriteAllText(stale, "half a gguf");
        foreach (var (name, type) in new[] { ("a", "f32"), ("b", "q8_0") })
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = await CliApp.RunAsync(["export", "gguf", "--model", Stories, "--out", Path.Combine(dir, $"{name}.gguf"), "--type", type], stdout, stderr);
            Assert.True(exit == 0, stderr.ToString());
        }
        Assert.False(File.Exists(stale));
        Assert.StartsWith("FROM ./a.gguf\n", File.ReadAllText(Path.Combine(dir, "a.Modelfile")));
        Assert.StartsWith("FROM ./b.gguf\n", File.ReadAllText(Path.Combine(dir, "b.Modelfile")));
        Assert.Equal(["a.Modelfile", "a.gguf", "b.Modelfile", "b.gguf"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }
}
