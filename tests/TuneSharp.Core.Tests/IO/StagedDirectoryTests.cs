using TuneSharp.Core.IO;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Core.Tests.IO;

public sealed class StagedDirectoryTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("tunesharp-staged").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);


    [Fact]
    public void Commit_MovesTheFolderIntoPlace_AndLeavesNoTemp()
    {
        string final = Path.Combine(_root, "out");
        using (var staged = StagedDirectory.Create(final, replace: false))
        {
            File.WriteAllText(Path.Combine(staged.Path, "a.txt"), "a");
            Assert.False(Directory.Exists(final)); // nothing at the final path while writing
            staged.Commit();
        }
        Assert.Equal("a", File.ReadAllText(Path.Combine(final, "a.txt")));
        Assert.Equal([final], Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public void AFailureBeforeTheCommit_LeavesNothing()
    {
        string final = Path.Combine(_root, "out");
        void WriteAndFail()
        {
            using var staged = StagedDirectory.Create(final, replace: false);
            File.WriteAllText(Path.Combine(staged.Path, "weights"), "half");
            throw new InvalidOperationException("injected failure while writing");
        }
        Assert.Throws<InvalidOperationException>(WriteAndFail);
        Assert.Empty(Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public void ExistingNonEmptyFolder_IsRefused_UnlessReplace()
    {
        string final = Path.Combine(_root, "out");
        Directory.CreateDirectory(final);
        File.WriteAllText(Path.Combine(final, "old.txt"), "old");
        var e = Assert.Throws<IOException>(() => StagedDirectory.Create(final, replace: false));
        Assert.Contains(final, e.Message);

        using (var staged = StagedDirectory.Create(final, replace: true))
        {
            File.WriteAllText(Path.Combine(staged.Path, "new.txt"), "new");
            staged.Commit();
        }
        Assert.Equal(["new.txt"], Directory.GetFiles(final).Select(Path.GetFileName));
        Assert.Equal([final], Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public void CleanStale_RemovesTempsOfDeadProcesses_KeepsLiveOnesAndOtherFiles()
    {
        int dead = DeadProcess.Id();
        string deadDir = Path.Combine(_root, $".merged.tmp-{dead}-{Guid.NewGuid():N}");
        string deadFile = Path.Combine(_root, $".m.gguf.tmp-{dead}-{Guid.NewGuid():N}");
        string live = OwnedTemp.PathFor(Path.Combine(_root, "x.gguf")); // this process
        string other = Path.Combine(_root, ".notes.tmp-abc");
        Directory.CreateDirectory(deadDir);
        File.WriteAllText(Path.Combine(deadDir, "model.safetensors"), "partial");
        File.WriteAllText(deadFile, "partial");
        File.WriteAllText(live, "in progress");
        File.WriteAllText(other, "not ours");

        var removed = OwnedTemp.CleanStale(_root);

        Assert.Equal(new[] { deadDir, deadFile }.Order(), removed.Order());
        Assert.False(Directory.Exists(deadDir));
        Assert.False(File.Exists(deadFile));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other));
    }

    [Fact]
    public void Create_CleansStaleStagingFoldersBesideTheTarget()
    {
        string stale = Path.Combine(_root, $".out.tmp-{DeadProcess.Id()}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(stale);
        using var staged = StagedDirectory.Create(Path.Combine(_root, "out"), replace: false);
        Assert.False(Directory.Exists(stale));
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
