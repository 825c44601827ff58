using System.Text;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Data.Tests;

/// <summary>Deterministic random mutations of real fixture lines: the readers report problems, never throw anything else.</summary>
public sealed class FuzzTests
{
    [Fact]
    public void MutatedRealLines_OnlyProduceDataProblems()
    {
        var seeds = new List<byte[]>();
        foreach (var (file, take) in new[] { ("datasets/gsm8k/train.jsonl", 20), ("datasets/self-instruct/seed_tasks.jsonl", 20) })
            seeds.AddRange(File.ReadLines(Fixtures.Get(file)).Take(take).Select(System.Text.Encoding.UTF8.GetBytes));
        seeds.Add(System.Text.Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":[{"type":"text","text":"q"}]},{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","content":"r","tool_call_id":"1"},{"role":"assistant","content":"a","weight":1}],"tools":[{"type":"function","function":{"name":"f"}}]}"""));
        seeds.Add(System.Text.Encoding.UTF8.GetBytes("""{"conversations":[{"from":"human","value":"q"},{"from":"function_call","value":"{\"name\":\"f\",\"arguments\":{}}"},{"from":"observation","value":"o"},{"from":"gpt","value":"a"}],"tools":"[{\"name\":\"f\"}]"}"""));
        seeds.Add(System.Text.Encoding.UTF8.GetBytes("""{"chosen":"\n\nHuman: hi\n\nAssistant: yes","rejected":"\n\nHuman: hi\n\nAssistant: no"}"""));
        seeds.Add(System.Text.Encoding.UTF8.GetBytes("""{"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"a"}],"non_preferred_output":[{"role":"assistant","content":"b"}]}"""));
        seeds.Add(System.Text.Encoding.UTF8.GetBytes("""{"prompt":"p","completion":"c","label":true}"""));
        seeds.Add(System.Text.Encoding.UTF8.GetBytes("""{"instruction":"i","input":"x","output":"o","history":[["u","a"]]}"""));

        var rng = new Random(1234);
        using var tmp = new TempDir();
        var lines = new List<byte[]>();
        for (int i = 0; i < 3000; i++) lines.Add(Mutate(seeds[rng.Next(seeds.Count)], rng));
        string jsonl = tmp.WriteBytes("fuzz.jsonl", [.. lines.SelectMany(l => l.Append((byte)'\n'))]);
        string json = tmp.WriteBytes("fuzz.json", [.. System.Text.Encoding.UTF8.GetBytes("["), .. lines.Take(300).SelectMany(l => l.Append((byte)',')), .. System.Text.Encoding.UTF8.GetBytes("{}]")]);

        var problems = new List<DataProblem>();
        int examples = DatasetReader.Read(new DatasetSpec(jsonl), problems).Count();
        Assert.True(problems.Count > 1000, $"only {problems.Count} problems from mutated lines");
        Assert.True(examples > 0, "no mutated line survived");   // gsm8k/self-instruct lines are unknown_format without a column map
        var codes = problems.Select(p => p.Code).Distinct().ToList();
        Assert.True(codes.Count >= 4, "codes seen: " + string.Join(", ", codes));
        Assert.All(problems, p => Assert.False(string.IsNullOrEmpty(p.Hint)));
        _ = DatasetReader.Read(new DatasetSpec(json), problems).Count();
        foreach (var line in lines.Take(400))
        {
            string one = tmp.WriteBytes("one.jsonl", line);
            try { _ = DatasetReader.Read(new DatasetSpec(one)).Count(); }
            catch (DataFormatException) { }
        }
    }

    static readonly byte[] Specials = "{}[]\":,\\0a\u00e9"u8.ToArray();

    static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = new List<byte>(seed);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(6))
            {
                case 0: b.RemoveAt(at); break;
                case 1: b.Insert(at, Specials[rng.Next(Specials.Length)]); break;
                case 2: b[at] = (byte)rng.Next(256); break;
                case 3: b.RemoveRange(at, Math.Min(b.Count - at, rng.Next(1, 20))); break;
                case 4: b.Insert(at, 0xC3); break;
                default:
                    int dup = rng.Next(b.Count);
                    b.InsertRange(at, b.GetRange(dup, Math.Min(b.Count - dup, 30)));
                    break;
            }
        }
        return [.. b.Where(x => x != (byte)'\n')];
    }
}
