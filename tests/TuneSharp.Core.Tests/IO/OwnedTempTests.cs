using TuneSharp.Core.IO;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Core.Tests.IO;

/// <summary>Atomic folder and file writes name their temporaries after the writing process; stale ones of dead processes are removed.</summary>
public sealed class OwnedTempTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("tunesharp-owned-temp").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void AtomicDirectory_WritesIntoAProcessNamedTemp_AndLeavesOnlyTheFolder()
    {
        string final = Path.Combine(_root, "out");
        AtomicDirectory.Write(final, tmp =>
        {
            Assert.StartsWith($".out.tmp-{Environment.ProcessId}-", Path.GetFileName(tmp));
            Assert.False(Directory.Exists(final)); // nothing at the final path while writing
            File.WriteAllText(Path.Combine(tmp, "a.txt"), "a");
        });
        Assert.Equal("a", File.ReadAllText(Path.Combine(final, "a.txt")));
        Assert.Equal([final], Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public void AtomicDirectory_AFailureWhileWriting_LeavesNothing_AndKeepsTheOldFolder()
    {
        string final = Path.Combine(_root, "out");
        Directory.CreateDirectory(final);
        File.WriteAllText(Path.Combine(final, "old.txt"), "old");
        Assert.Throws<InvalidOperationException>(() => AtomicDirectory.Write(final, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "weights"), "half");
            throw new InvalidOperationException("injected failure while writing");
        }));
        Assert.Equal([final], Directory.GetFileSystemEntries(_root));
        Assert.Equal(["old.txt"], Directory.GetFiles(final).Select(Path.GetFileName));
    }

    [Fact]
    public void CleanStale_RemovesTempsOfDeadProcesses_KeepsLiveOnesAndOtherFiles()
    {
        int dead = DeadProcess.Id();
        string deadDir = Path.Combine(_root, $".merged.tmp-{dead}-{Guid.NewGuid():N}");
        string deadOld = Path.Combine(_root, $".merged.old-{dead}-{Guid.NewGuid():N}");
        string deadFile = Path.Combine(_root, $".m.gguf.tmp-{dead}-{Guid.NewGuid():N}");
        string live = OwnedTemp.PathFor(Path.Combine(_root, "x.gguf")); // this process
        string other = Path.Combine(_root, ".notes.tmp-abc");
        Directory.CreateDirectory(deadDir);
        Directory.CreateDirectory(deadOld);
        File.WriteAllText(Path.Combine(deadDir, "model.safetensors"), "partial");
        File.WriteAllText(deadFile, "partial");
        File.WriteAllText(live, "in progress");
        File.WriteAllText(other, "not ours");

        var removed = OwnedTemp.CleanStale(_root);

        Assert.Equal(new[] { deadDir, deadOld, deadFile }.Order(), removed.Order());
        Assert.Equal(new[] { live, other }.Order(), Directory.GetFileSystemEntries(_root).Order());
    }

    [Fact]
    public void AtomicFile_TempNamesTheWritingProcess()
    {
        string path = Path.Combine(_root, "f.txt");
        AtomicFile.Write(path, tmp =>
        {
            Assert.StartsWith($".f.txt.tmp-{Environment.ProcessId}-", Path.GetFileName(tmp));
            File.WriteAllText(tmp, "x");
        });
        Assert.Equal("x", File.ReadAllText(path));
    }
}
