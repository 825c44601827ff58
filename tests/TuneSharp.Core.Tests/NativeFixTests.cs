using TorchSharp;
using TuneSharp.Core.Native;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Core.Tests;

public class NativeFixTests(TorchFixture runtime)
{
    [Fact]
    public void Libtorch_LoadsFromBuildOutput_AndComputes()
    {
        string? lib = TorchRuntime.FindLibTorchSharp();
        Assert.NotNull(lib);
        Assert.StartsWith(AppContext.BaseDirectory, lib);
        using var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }

    [Fact]
    public void BuildOutput_IsPatched_ExactlyWhenTheSystemLacksTheVersion()
    {
        string lib = TorchRuntime.FindLibTorchSharp()!;
        bool strong = ElfSymbolVersions.HasStrongRequirement(lib);
        if (ElfSymbolVersions.SystemLacksVersion())
        {
            Assert.False(strong);
            Assert.True(runtime.Status.NativeFix is NativeFixStatus.Applied);
        }
        else
        {
            Assert.NotEqual(NativeFixStatus.AppliedAtStartup, runtime.Status.NativeFix);
        }
        // The requirement itself is still listed (only its flag changes), so the library stays a valid ELF object.
        var reqs = ElfSymbolVersions.ReadRequirements(File.ReadAllBytes(lib), lib);
        Assert.Contains(reqs, r => r.Version == ElfSymbolVersions.MissingVersion);
        Assert.Contains(reqs, r => r.Version.StartsWith("GLIBC_", StringComparison.Ordinal) && !r.IsWeak);
    }

    [Fact]
    public void MakeRequirementWeak_IsIdempotent_AndTouchesOnlyTheFlag()
    {
        string lib = NuGetCopyOfLibTorchSharp();
        string dir = Directory.CreateTempSubdirectory("tunesharp-elf").FullName;
        try
        {
            string copy = Path.Combine(dir, ElfSymbolVersions.LibTorchSharpFile);
            File.Copy(lib, copy);
            byte[] before = File.ReadAllBytes(copy);
            Assert.True(ElfSymbolVersions.HasStrongRequirement(copy));

            Assert.True(ElfSymbolVersions.MakeRequirementWeak(copy));
            byte[] after = File.ReadAllBytes(copy);
            Assert.False(ElfSymbolVersions.HasStrongRequirement(copy));
            Assert.Equal(before.Length, after.Length);
            int changed = before.Zip(after).Count(p => p.First != p.Second);
            Assert.Equal(1, changed); // VER_FLG_WEAK is one bit of the low byte of vna_flags

            Assert.False(ElfSymbolVersions.MakeRequirementWeak(copy));
            Assert.Equal(after, File.ReadAllBytes(copy));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void SystemLibStdCxx_DefinesVersions()
    {
        string? lib = ElfSymbolVersions.FindSystemLibStdCxx();
        if (!OperatingSystem.IsLinux() || lib == null) Assert.Skip("no glibc libstdc++ on this machine");
        var defs = ElfSymbolVersions.ReadDefinitions(File.ReadAllBytes(lib), lib);
        Assert.Contains("GLIBCXX_3.4", defs);
        Assert.Contains("GLIBCXX_3.4.21", defs);
    }

    [Fact]
    public void NotAnElfFile_IsRejectedWithTheFileName()
    {
        var ex = Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.ReadRequirements(new byte[100], "bogus.so"));
        Assert.Contains("bogus.so", ex.Message);
    }

    [Fact]
    public void Allocator_IsTuned_OnGlibc()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("glibc only");
        Assert.True(runtime.Status.Allocator.Tuned, runtime.Status.Allocator.Description);
    }

    /// <summary>The unpatched original in the NuGet cache (the build output copy may already be patched).</summary>
    static string NuGetCopyOfLibTorchSharp()
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string dir = Path.Combine(root, "torchsharp");
        var hit = Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, ElfSymbolVersions.LibTorchSharpFile, SearchOption.AllDirectories)
                .FirstOrDefault(f => f.Contains("linux-x64", StringComparison.Ordinal))
            : null;
        if (hit == null) Assert.Skip("TorchSharp's NuGet cache copy of libLibTorchSharp.so not found");
        return hit;
    }
}
