using System.Buffers.Binary;
using System.Text;
using TuneSharp.Training.Observers;
using Xunit;
using static TuneSharp.Training.Tests.Observers.ObserverTestData;

namespace TuneSharp.Training.Tests.Observers;

/// <summary>
/// Reads the event file back without TorchSharp: TFRecord framing (u64 length, masked crc32c of the length, data,
/// masked crc32c of the data) and the few protobuf fields of tensorflow.Event / Summary.Value that scalars use.
/// </summary>
public sealed class TensorBoardObserverTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("tunesharp-tb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal sealed record Scalar(long Step, string Tag, float Value);

    [Fact]
    public void EventFile_HoldsOurScalarTags_WithValuesRoundTrippingAsFloat32()
    {
        var clock = new FakeClock();
        using (var o = new TensorBoardObserver(_dir, clock))
        {
            o.OnStart(Info());
            for (long s = 1; s <= 3; s++) o.OnStep(Step(s));
            o.OnEval(EvalAt(3, 2.5));
            o.OnEnd(Summary(3));
        }
        var file = Assert.Single(Directory.GetFiles(_dir, "events.out.tfevents.*"));
        var (scalars, wallTimes) = ReadScalars(File.ReadAllBytes(file));

        string[] tags = ["train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s", "eval/loss", "eval/ppl", "eval/accuracy"];
        Assert.Equal(tags.Order(), scalars.Select(x => x.Tag).Distinct().Order());
        Assert.Equal(3 * 4 + 3, scalars.Count);
        foreach (long s in new long[] { 1, 2, 3 })
        {
            var m = Step(s);
            Assert.Equal((float)m.Loss, scalars.Single(x => x.Tag == "train/loss" && x.Step == s).Value);
            Assert.Equal((float)m.LearningRate, scalars.Single(x => x.Tag == "train/lr" && x.Step == s).Value);
            Assert.Equal((float)m.GradNorm, scalars.Single(x => x.Tag == "train/grad_norm" && x.Step == s).Value);
            Assert.Equal((float)m.TokensPerSecond, scalars.Single(x => x.Tag == "train/tokens_per_s" && x.Step == s).Value);
        }
        Assert.Equal(2.5f, scalars.Single(x => x.Tag == "eval/loss").Value);
        Assert.Equal((float)Math.Exp(2.5), scalars.Single(x => x.Tag == "eval/ppl").Value);
        Assert.Equal(0.452f, scalars.Single(x => x.Tag == "eval/accuracy").Value);
        Assert.Equal(3, scalars.Single(x => x.Tag == "eval/loss").Step);
        // Scalar events carry the clock's Unix seconds.
        Assert.All(wallTimes, t => Assert.Equal(clock.Start.ToUnixTimeSeconds(), t));
    }

    internal static (List<Scalar> Scalars, List<double> WallTimes) ReadScalars(byte[] bytes)
    {
        var scalars = new List<Scalar>();
        var walls = new List<double>();
        int pos = 0, records = 0;
        while (pos < bytes.Length)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(pos, 8));
            uint lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8, 4));
            Assert.Equal(MaskedCrc(bytes.AsSpan(pos, 8)), lengthCrc);
            var data = bytes.AsSpan(pos + 12, (int)length);
            uint dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 12 + (int)length, 4));
            Assert.Equal(MaskedCrc(data), dataCrc);
            pos += 12 + (int)length + 4;
            if (records++ == 0)
            {
                Assert.Contains("brain.Event:2", Encoding.ASCII.GetString(data)); // file_version record first
                continue;
            }
            ReadEvent(data.ToArray(), scalars, walls);
        }
        Assert.Equal(bytes.Length, pos);
        return (scalars, walls);
    }

    // tensorflow.Event: 1 wall_time (double), 2 step (int64), 5 summary; Summary: 1 value; Value: 1 tag, 2 simple_value (float).
    static void ReadEvent(byte[] ev, List<Scalar> scalars, List<double> walls)
    {
        long step = 0;
        var summaries = new List<byte[]>();
        foreach (var (field, wire, value, payload) in Fields(ev))
        {
            if (field == 1 && wire == 1) walls.Add(BitConverter.Int64BitsToDouble((long)value));
            else if (field == 2 && wire == 0) step = (long)value;
            else if (field == 5 && wire == 2) summaries.Add(payload!);
        }
        foreach (var summary in summaries)
            foreach (var (field, wire, _, val) in Fields(summary))
            {
                if (field != 1 || wire != 2) continue;
                string? tag = null;
                float? simple = null;
                foreach (var (vf, vw, vv, vp) in Fields(val!))
                {
                    if (vf == 1 && vw == 2) tag = Encoding.UTF8.GetString(vp!);
                    else if (vf == 2 && vw == 5) simple = BitConverter.Int32BitsToSingle((int)vv);
                }
                scalars.Add(new Scalar(step, tag ?? throw new InvalidDataException("value without tag"),
                    simple ?? throw new InvalidDataException($"{tag}: no simple_value")));
            }
    }

    static IEnumerable<(int Field, int Wire, ulong Value, byte[]? Payload)> Fields(byte[] msg)
    {
        int pos = 0;
        while (pos < msg.Length)
        {
            ulong key = Varint(msg, ref pos);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: yield return (field, wire, Varint(msg, ref pos), null); break;
                case 1: yield return (field, wire, BinaryPrimitives.ReadUInt64LittleEndian(msg.AsSpan(pos, 8)), null); pos += 8; break;
                case 5: yield return (field, wire, BinaryPrimitives.ReadUInt32LittleEndian(msg.AsSpan(pos, 4)), null); pos += 4; break;
                case 2:
                    int len = (int)Varint(msg, ref pos);
                    yield return (field, wire, 0, msg.AsSpan(pos, len).ToArray());
                    pos += len;
                    break;
                default: throw new InvalidDataException($"unexpected protobuf wire type {wire}");
            }
        }
    }

    static ulong Varint(byte[] b, ref int pos)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte x = b[pos++];
            v |= (ulong)(x & 0x7f) << shift;
            if (x < 0x80) return v;
        }
    }

    // CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), masked as TFRecord does: rotate right 15, add 0xa282ead8.
    static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    [Fact]
    public void Crc32c_MatchesTheStandardCheckValue()
    {
        // The CRC-32C check value of "123456789" is 0xE3069283; masked: rotr15 + 0xa282ead8.
        uint crc = 0xE3069283;
        Assert.Equal(((crc >> 15) | (crc << 17)) + 0xa282ead8u, MaskedCrc("123456789"u8));
    }
}
