// The one native fix this machine needs (see docs/native-fix.md).
//
// libLibTorchSharp.so (TorchSharp's C++ shim) is linked by GCC 13+ and requires the symbol version GLIBCXX_3.4.32 for a
// single symbol (std::ios_base_library_init), which GCC 13's <iostream> references only to pin the library version and
// never calls. Debian 12 and Ubuntu 22.04 ship libstdc++ with GLIBCXX_3.4.30, so the dynamic loader refuses the library.
// Marking that version requirement weak (VER_FLG_WEAK in its Vernaux entry) makes the loader only note its absence.
//
// This file is compiled twice: into TuneSharp.Core (runtime status and fallback) and, through build/NativeFix.targets,
// into an inline MSBuild task that patches the build, publish and pack outputs. It therefore uses only the BCL.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace TuneSharp.Core.Native
{
    /// <summary>Reads and edits the GNU symbol-version sections of an ELF64 little-endian shared object.</summary>
    public static class ElfSymbolVersions
    {
        public const string LibTorchSharpFile = "libLibTorchSharp.so";
        public const string MissingVersion = "GLIBCXX_3.4.32";

        const uint ShtGnuVerdef = 0x6ffffffd;
        const uint ShtGnuVerneed = 0x6ffffffe;
        const ushort VerFlgWeak = 0x2;

        /// <summary>One version requirement (a Vernaux entry) of a shared object.</summary>
        /// (A plain struct, not a record: the inline MSBuild task compiles this file without IsExternalInit.)
        public readonly struct Requirement
        {
            public Requirement(string library, string version, ushort flags, long flagsOffset)
            {
                Library = library; Version = version; Flags = flags; FlagsOffset = flagsOffset;
            }

            public string Library { get; }
            public string Version { get; }
            public ushort Flags { get; }
            /// <summary>Byte offset of vna_flags in the file.</summary>
            public long FlagsOffset { get; }
            public bool IsWeak => (Flags & VerFlgWeak) != 0;
        }

        /// <summary>All version requirements listed in the .gnu.version_r section.</summary>
        public static List<Requirement> ReadRequirements(byte[] elf, string fileName)
        {
            var result = new List<Requirement>();
            foreach (var (offset, size, count, strtabOffset) in Sections(elf, fileName, ShtGnuVerneed))
            {
                long vn = offset;
                for (uint i = 0; i < count; i++)
                {
                    Check(elf, fileName, vn, 16, "Verneed entry");
                    ushort cnt = U16(elf, vn + 2);
                    string library = CString(elf, fileName, strtabOffset + U32(elf, vn + 4));
                    long aux = vn + U32(elf, vn + 8);
                    for (ushort j = 0; j < cnt; j++)
                    {
                        Check(elf, fileName, aux, 16, "Vernaux entry");
                        ushort flags = U16(elf, aux + 4);
                        string name = CString(elf, fileName, strtabOffset + U32(elf, aux + 8));
                        result.Add(new Requirement(library, name, flags, aux + 4));
                        uint next = U32(elf, aux + 12);
                        if (next == 0) break;
                        aux += next;
                    }
                    uint vnNext = U32(elf, vn + 12);
                    if (vnNext == 0) break;
                    vn += vnNext;
                }
                _ = size;
            }
            return result;
        }

        /// <summary>All version names a library defines (its .gnu.version_d section), e.g. GLIBCXX_3.4.30.</summary>
        public static HashSet<string> ReadDefinitions(byte[] elf, string fileName)
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (offset, _, count, strtabOffset) in Sections(elf, fileName, ShtGnuVerdef))
            {
                long vd = offset;
                for (uint i = 0; i < count; i++)
                {
                    Check(elf, fileName, vd, 20, "Verdef entry");
                    ushort cnt = U16(elf, vd + 6);
                    long aux = vd + U32(elf, vd + 12);
                    if (cnt > 0)
                    {
                        Check(elf, fileName, aux, 8, "Verdaux entry");
                        result.Add(CString(elf, fileName, strtabOffset + U32(elf, aux)));
                    }
                    uint next = U32(elf, vd + 16);
                    if (next == 0) break;
                    vd += next;
                }
            }
            return result;
        }

        /// <summary>
        /// Marks the requirement on <paramref name="version"/> weak. Returns false when the file needs no change
        /// (no such requirement, or already weak). The file is replaced atomically (temp file + rename), which also
        /// breaks any hard link to the NuGet cache copy.
        /// </summary>
        public static bool MakeRequirementWeak(string path, string version = MissingVersion)
        {
            byte[] elf = File.ReadAllBytes(path);
            bool changed = false;
            foreach (var req in ReadRequirements(elf, path))
            {
                if (req.Version != version || req.IsWeak) continue;
                ushort flags = (ushort)(req.Flags | VerFlgWeak);
                elf[req.FlagsOffset] = (byte)flags;
                elf[req.FlagsOffset + 1] = (byte)(flags >> 8);
                changed = true;
            }
            if (!changed) return false;
            // Copy (keeps the file mode), edit the copy, rename it over the original: atomic, and a hard link to the
            // NuGet cache copy is broken rather than written through. netstandard2.0 APIs only (see file header).
            string temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
            File.Copy(path, temp);
            File.WriteAllBytes(temp, elf);
            File.Replace(temp, path, null);
            return true;
        }

        /// <summary>True when the library at <paramref name="path"/> hard-requires <paramref name="version"/>.</summary>
        public static bool HasStrongRequirement(string path, string version = MissingVersion)
        {
            foreach (var req in ReadRequirements(File.ReadAllBytes(path), path))
                if (req.Version == version && !req.IsWeak) return true;
            return false;
        }

        /// <summary>Path of the system libstdc++ the loader would pick, or null when none is found (not Linux, musl, ...).</summary>
        public static string? FindSystemLibStdCxx()
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/lib64/libstdc++.so.6",
            };
            foreach (var c in candidates)
                if (File.Exists(c)) return c;
            return null;
        }

        /// <summary>True on Linux when the system libstdc++ does not define <paramref name="version"/>.</summary>
        public static bool SystemLacksVersion(string version = MissingVersion)
        {
            if (!IsLinux) return false;
            string? lib = FindSystemLibStdCxx();
            if (lib == null) return false;
            return !ReadDefinitions(File.ReadAllBytes(lib), lib).Contains(version);
        }

        public static bool IsLinux =>
            System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux);

        // --- ELF64 LE parsing ---

        static IEnumerable<(long Offset, long Size, uint Count, long StrtabOffset)> Sections(byte[] elf, string fileName, uint type)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException($"{fileName}: not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException($"{fileName}: only 64-bit little-endian ELF is supported (class {elf[4]}, data {elf[5]})");
            long shoff = (long)U64(elf, 0x28);
            ushort shentsize = U16(elf, 0x3A);
            ushort shnum = U16(elf, 0x3C);
            if (shentsize < 64) throw new InvalidDataException($"{fileName}: section header size {shentsize} < 64");
            Check(elf, fileName, shoff, (long)shentsize * shnum, "section header table");
            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                if (U32(elf, sh + 4) != type) continue;
                long offset = (long)U64(elf, sh + 24);
                long size = (long)U64(elf, sh + 32);
                uint link = U32(elf, sh + 40);
                uint info = U32(elf, sh + 44);
                Check(elf, fileName, offset, size, "version section");
                if (link >= shnum) throw new InvalidDataException($"{fileName}: version section links to section {link} of {shnum}");
                long strtab = (long)U64(elf, shoff + (long)link * shentsize + 24);
                yield return (offset, size, info, strtab);
            }
        }

        static void Check(byte[] elf, string fileName, long offset, long length, string what)
        {
            if (offset < 0 || length < 0 || offset + length > elf.Length)
                throw new InvalidDataException($"{fileName}: {what} at byte {offset} (+{length}) lies beyond the file's {elf.Length} bytes");
        }

        static string CString(byte[] elf, string fileName, long offset)
        {
            Check(elf, fileName, offset, 1, "string");
            long end = offset;
            while (end < elf.Length && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)offset, (int)(end - offset));
        }

        static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);
        static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
    }

#if !TUNESHARP_CORE
    /// <summary>MSBuild task: patch every libLibTorchSharp.so below a folder when the system libstdc++ needs it.</summary>
    public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string Directory { get; set; } = "";
        /// <summary>Patch even when this machine's libstdc++ has the version (for packages that run elsewhere).</summary>
        public bool Always { get; set; }

        public override bool Execute()
        {
            if (!ElfSymbolVersions.IsLinux && !Always) return true;
            if (!System.IO.Directory.Exists(Directory)) return true;
            if (!Always && !ElfSymbolVersions.SystemLacksVersion()) return true;
            foreach (var file in System.IO.Directory.EnumerateFiles(Directory, ElfSymbolVersions.LibTorchSharpFile, SearchOption.AllDirectories))
            {
                if (ElfSymbolVersions.MakeRequirementWeak(file))
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                        $"TuneSharp native fix: marked {ElfSymbolVersions.MissingVersion} weak in {file}");
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
