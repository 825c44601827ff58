using TuneSharp.Training.Config;
using TuneSharp.Training.Observers;
using Xunit;
using static TuneSharp.Training.Tests.Observers.ObserverTestData;

namespace TuneSharp.Training.Tests.Observers;

public sealed class ProgressObserverTests
{
    static (string Output, ProgressObserver Observer) Run(ProgressMode mode, bool? isTerminal = null, int steps = 20)
    {
        var sw = new StringWriter();
        var clock = new FakeClock();
        var p = new ProgressObserver(sw, mode, plainEvery: 10, isTerminal: isTerminal, clock: clock);
        p.OnStart(Info());
        for (long s = 1; s <= steps; s++)
        {
            clock.Advance(1); // one second per step
            p.OnStep(Step(s));
            if (s == 10) p.OnEval(EvalAt(10, 2.5));
        }
        p.OnCheckpoint(20, "runs/test/checkpoint-20");
        p.OnEnd(Summary());
        p.Dispose();
        return (sw.ToString(), p);
    }

    [Fact]
    public void Plain_LogsFirstAndEveryNthStep_InTheDocumentedFormat()
    {
        var (output, _) = Run(ProgressMode.Plain);
        var stepLines = output.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, stepLines.Length); // steps 1, 10, 20
        // Step 10: loss 3 - 0.1, lr 1e-4 + 1e-5, grad 1/10, 1010 tok/s; 10 s for 10 steps -> 190 steps left = 190 s.
        Assert.Equal("step 10/200 | epoch 0.25 | loss 2.9000 | lr 1.1e-04 | grad 0.10 | 1010 tok/s | eta 3m10s", stepLines[1]);
        Assert.StartsWith("step 1/200 | epoch 0.03 | loss 2.9900 |", stepLines[0]);
        Assert.EndsWith("| eta 3m19s", stepLines[0]); // 1 s for 1 step, 199 steps left
        Assert.DoesNotContain("\u001b", output);
    }

    [Fact]
    public void Plain_PrintsEvalCheckpointAndSummaryLines()
    {
        var (output, _) = Run(ProgressMode.Plain);
        Assert.Contains("eval step 10 | loss 2.5000 | ppl 12.18 | acc 45.20% | 12,345 tokens | best\n", output);
        Assert.Contains("checkpoint step 20 -> runs/test/checkpoint-20\n", output);
        Assert.Contains("run completed after 20 steps\n", output);
        Assert.Contains("  eval loss    before 3.1000 -> after 2.5000\n", output);
        Assert.Contains("  wall time    3m12s (estimate 2m30s, +28%)\n", output);
        // 1 GiB measured against 800 MiB estimated: 1024/800 - 1 = +28%.
        Assert.Contains("  peak memory  1.00 GiB (estimate 800 MiB, +28%)\n", output);
        Assert.Contains("    after:  there was a cat \u21b5 who\n", output);
    }

    [Fact]
    public void EvalLine_WithoutPerplexityAndAccuracy_LeavesThemOut()
    {
        var e = new EvalMetrics(4, 0.25, double.NaN, double.NaN, 1362, false)
        {
            Metrics = new Dictionary<string, double> { ["eval_rewards/accuracies"] = 0.75 },
        };
        Assert.Equal("eval step 4 | loss 0.2500 | eval_rewards/accuracies 0.7500 | 1,362 tokens", ProgressObserver.EvalLine(e));
    }

    [Fact]
    public void Banner_ShowsTrainableShareDataAndEstimates()
    {
        var lines = ProgressObserver.Banner(Info(startStep: 50));
        Assert.Equal("TuneSharp | sft lora | stories260K", lines[0]);
        // 12,345 / 1,000,000 = 1.2345%.
        Assert.Equal("  parameters  1,000,000 total | 12,345 trainable (1.23%)", lines[1]);
        Assert.Contains("  data        800 train / 40 validation examples | 100,000 tokens/epoch (60,000 trained)", lines);
        Assert.Contains("  schedule    200 steps, 5 epochs (resuming at step 50)", lines);
        Assert.Contains("  estimates   peak memory 800 MiB | time 2m30s", lines);
        Assert.Contains("  data: 12 examples truncated to 256 tokens", lines);
    }

    [Fact]
    public void Bar_RedrawsOneLineInPlace_AndKeepsEvalLinesAbove()
    {
        var (output, p) = Run(ProgressMode.Bar);
        Assert.Equal(ProgressMode.Bar, p.Mode);
        // Every step redraws: carriage return + erase line, and no newline between two step redraws.
        Assert.Equal(20 + 2, CountOf(output, "\r\u001b[2K")); // 20 steps; eval and checkpoint clear the line
        int step3 = output.IndexOf("step 3/200", StringComparison.Ordinal), step4 = output.IndexOf("step 4/200", StringComparison.Ordinal);
        Assert.DoesNotContain('\n', output[step3..step4]);
        // The eval line is printed on its own line and the live line is redrawn after it.
        Assert.Contains("\r\u001b[2Keval step 10 | loss 2.5000", output);
        Assert.Contains("| best\n[#...................] step 10/200 |", output);
        // The live line has the bar (10/200 of 20 cells = 1 cell at step 10) and the elapsed time.
        Assert.Contains("[#...................] step 10/200 | epoch 0.25 | loss 2.9000 | lr 1.1e-04 | grad 0.10 | 1010 tok/s | eta 3m10s | 10s", output);
    }

    [Theory]
    [InlineData(true, ProgressMode.Bar)]
    [InlineData(false, ProgressMode.Plain)]
    public void Auto_PicksBarOnATerminalAndPlainOtherwise(bool terminal, ProgressMode expected)
    {
        var p = new ProgressObserver(new StringWriter(), ProgressMode.Auto, isTerminal: terminal);
        Assert.Equal(expected, p.Mode);
    }

    [Fact]
    public void None_PrintsNothing()
    {
        var (output, _) = Run(ProgressMode.None);
        Assert.Equal("", output);
    }

    [Fact]
    public void Plain_NonFiniteLoss_PrintsNan()
    {
        var sw = new StringWriter();
        var p = new ProgressObserver(sw, ProgressMode.Plain, plainEvery: 1, clock: new FakeClock());
        p.OnStart(Info());
        p.OnStep(Step(1) with { Loss = double.NaN });
        Assert.Contains("| loss nan |", sw.ToString());
    }

    static int CountOf(string s, string part)
    {
        int n = 0;
        for (int i = s.IndexOf(part, StringComparison.Ordinal); i >= 0; i = s.IndexOf(part, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
