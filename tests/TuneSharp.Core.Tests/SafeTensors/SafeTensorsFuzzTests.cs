using System.Buffers.Binary;
using System.Text;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Core.Tests.SafeTensors;

public class SafeTensorsFuzzTests
{
    const int Iterations = 3000;

    /// <summary>Valid seeds: one from our writer (aligned), the Python fixture (unaligned, every dtype).</summary>
    static List<byte[]> Seeds(TempDir dir)
    {
        string ours = dir.File("seed.safetensors");
        using (var a = arange(12, dtype: ScalarType.Float32).reshape(3, 4))
        using (var b = randn(5).to(ScalarType.BFloat16))
        using (var c = tensor(new[] { long.MinValue, 7L }))
        using (var d = tensor(new[] { true, false, true }))
        using (var e = zeros(0, 2, dtype: ScalarType.Byte))
        using (var f = tensor(1.5f).to(ScalarType.Float16))
            SafeTensorsWriter.Write(ours, [new("a", a), new("b", b), new("c", c), new("d", d), new("e", e), new("f", f)],
                new Dictionary<string, string> { ["k"] = "v" });
        return [File.ReadAllBytes(ours), File.ReadAllBytes(Fixtures.Repo("safetensors/mixed_dtypes.safetensors"))];
    }

    static readonly byte[] JsonChars = "{}[]\",:-0123456789.eE \\u".Select(c => (byte)c).ToArray();
    static readonly string[] DTypeNames = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "U16", "X"];

    /// <summary>One deterministic mutation; returns the new bytes and a short description for failure messages.</summary>
    static (byte[] Bytes, string What) Mutate(byte[] input, Random rng)
    {
        if (input.Length < 16) return ([.. input, (byte)rng.Next(256)], "append 1 byte to a stub"); // earlier mutations left a stub
        var bytes = new List<byte>(input);
        // End of the (claimed) header, clamped to the file.
        int headerEnd = (int)Math.Min((ulong)input.Length, 8 + Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(input), (ulong)input.Length));
        int InHeader() => rng.Next(8, Math.Max(9, headerEnd));
        switch (rng.Next(11)) // 8..10: data-only damage, which must always load
        {
            case 0:
            {
                int at = rng.Next(3) == 0 ? rng.Next(bytes.Count) : InHeader();
                if (at < bytes.Count) bytes[at] ^= (byte)(1 << rng.Next(8));
                return ([.. bytes], $"flip bit at {at}");
            }
            case 1:
            {
                int keep = rng.Next(rng.Next(2) == 0 ? 16 : bytes.Count);
                return ([.. bytes.Take(keep)], $"truncate to {keep}");
            }
            case 2:
            {
                int at = InHeader();
                byte b = rng.Next(4) == 0 ? (byte)rng.Next(256) : JsonChars[rng.Next(JsonChars.Length)];
                if (at < bytes.Count) bytes[at] = b;
                return ([.. bytes], $"set header byte {at} to {b}");
            }
            case 3:
            {
                int at = InHeader();
                bool insert = rng.Next(2) == 0;
                if (insert) bytes.Insert(Math.Min(at, bytes.Count), JsonChars[rng.Next(JsonChars.Length)]);
                else if (at < bytes.Count) bytes.RemoveAt(at);
                if (rng.Next(2) == 0) // keep the length field consistent half of the time
                    BinaryPrimitives.WriteUInt64LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes),
                        (ulong)Math.Max(0, headerEnd - 8 + (insert ? 1 : -1)));
                return ([.. bytes], $"{(insert ? "insert" : "delete")} header byte at {at}");
            }
            case 4:
            {
                ulong[] choices = [0, 1, (ulong)(headerEnd - 8 + rng.Next(-9, 10)), (ulong)rng.NextInt64(), (ulong)bytes.Count, ulong.MaxValue, 1UL << 63];
                ulong n = choices[rng.Next(choices.Length)];
                var arr = bytes.ToArray();
                BinaryPrimitives.WriteUInt64LittleEndian(arr, n);
                return (arr, $"header length {n}");
            }
            case 5:
            {
                // Replace one run of digits in the header by another number.
                string header = Encoding.Latin1.GetString(input, 8, headerEnd - 8);
                var runs = System.Text.RegularExpressions.Regex.Matches(header, "[0-9]+");
                if (runs.Count == 0) return (input, "no digits");
                var run = runs[rng.Next(runs.Count)];
                string[] numbers = ["0", "1", "-1", "4", "9999999999", "9223372036854775807", "18446744073709551616", "1e3", "2.5", (long.Parse(run.Value.Length > 18 ? "1" : run.Value) + rng.Next(-5, 6)).ToString()];
                string replacement = numbers[rng.Next(numbers.Length)];
                return (Splice(input, 8 + run.Index, run.Length, replacement, rng.Next(2) == 0), $"number {run.Value} -> {replacement}");
            }
            case 6:
            {
                string header = Encoding.Latin1.GetString(input, 8, headerEnd - 8);
                var names = System.Text.RegularExpressions.Regex.Matches(header, "\"(F64|F32|F16|BF16|I64|I32|I16|I8|U8|BOOL)\"");
                if (names.Count == 0) return (input, "no dtype");
                var name = names[rng.Next(names.Count)];
                string replacement = DTypeNames[rng.Next(DTypeNames.Length)];
                return (Splice(input, 8 + name.Index + 1, name.Length - 2, replacement, true), $"dtype {name.Value} -> {replacement}");
            }
            case 7:
            {
                var extra = new byte[rng.Next(1, 16)];
                rng.NextBytes(extra);
                return ([.. input, .. extra], $"append {extra.Length} bytes");
            }
            default:
            {
                // Data-only damage: always loadable (floats/ints take any bits, BOOL is normalized).
                int at = rng.Next(headerEnd, Math.Max(headerEnd + 1, input.Length));
                if (at < bytes.Count) bytes[at] = (byte)rng.Next(256);
                return ([.. bytes], $"data byte {at}");
            }
        }
    }

    /// <summary>Replaces a span of the header text; optionally fixes the length field for the new header size.</summary>
    static byte[] Splice(byte[] input, int at, int length, string replacement, bool fixLength)
    {
        byte[] repl = Encoding.ASCII.GetBytes(replacement);
        byte[] result = [.. input.AsSpan(0, at), .. repl, .. input.AsSpan(at + length)];
        if (fixLength)
        {
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(input);
            BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)((long)n + repl.Length - length));
        }
        return result;
    }

    [Fact]
    public void MutatedFiles_EitherLoadOrThrowInvalidDataException()
    {
        using var dir = TempDir.InMemoryIfPossible();
        var seeds = Seeds(dir);
        var rng = new Random(20240601);
        int loaded = 0, rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] bytes = seeds[i % seeds.Count];
            var what = new List<string>();
            for (int m = rng.Next(1, 3); m > 0; m--)
            {
                (bytes, string w) = Mutate(bytes, rng);
                what.Add(w);
            }
            // A fresh file each time, in tmpfs when available: creating, overwriting and unlinking thousands of files on
            // ext4 costs ~1-3 ms each on a busy machine.
            string name = $"fuzz-{i}.safetensors", path = dir.File(name);
            File.WriteAllBytes(path, bytes);
            bool convert = rng.Next(2) == 0;
            try
            {
                using (var file = SafeTensorsFile.Open(path))
                    foreach (string tensorName in file.Tensors.Keys)
                        file.Load(tensorName, convert ? ScalarType.Float32 : null).Dispose();
                using var checkpoint = SafeTensorsCheckpoint.Open(path); // second reader path: must agree
                loaded++;
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith(name + ": ", e.Message);
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {i} ({string.Join("; ", what)}): {e.GetType().Name}: {e.Message}");
            }
            finally
            {
                File.Delete(path);
            }
        }
        // Both outcomes must be common, or the mutations are not exercising the reader.
        Assert.True(loaded > Iterations / 5, $"loaded {loaded}");
        Assert.True(rejected > Iterations / 3, $"rejected {rejected}");
    }
}
