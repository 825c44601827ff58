using System.Buffers.Binary;
using TuneSharp.Training.Observers;
using Xunit;
using static TuneSharp.Training.Tests.Observers.ObserverTestData;

namespace TuneSharp.Training.Tests.Observers;

public sealed class PlotObserverTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("tunesharp-plot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WritesLossAndLrPngs_OfTheRequestedSize()
    {
        var o = new PlotObserver(_dir, width: 640, height: 400);
        o.OnStart(Info());
        for (long s = 1; s <= 50; s++) o.OnStep(Step(s));
        o.OnStep(Step(51) with { Loss = double.NaN }); // left out, must not break the axes
        o.OnEval(EvalAt(25, 2.8));
        o.OnEval(EvalAt(50, 2.6));
        o.OnEnd(Summary(51));

        foreach (var path in new[] { o.LossPath, o.LrPath })
        {
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            // IHDR is the first chunk: width and height big-endian at bytes 16..24.
            Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
            Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
            Assert.Equal(400, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
            // A blank 640x400 image compresses to well under 5 KB; axes, labels and a curve do not.
            Assert.True(bytes.Length > 5_000, $"{path}: only {bytes.Length} bytes");
        }
    }
}
