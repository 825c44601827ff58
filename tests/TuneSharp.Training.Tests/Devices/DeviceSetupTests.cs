using TuneSharp.Training.Config;
using TuneSharp.Training.Setup;
using TuneSharp.Training.Tests.Recipes;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Devices;

/// <summary>model.device is honoured or refused, never silently replaced. This machine has no CUDA: the CPU path is the
/// tested one, and asking for CUDA must fail loudly.</summary>
[Collection("training")]
public sealed class DeviceSetupTests
{
    [Fact]
    public void Cpu_IsTheCpu_AndAutoIsCudaOnlyWhereLibtorchSeesIt()
    {
        Assert.Equal(DeviceType.CPU, DeviceSetup.Resolve(DeviceSpec.Cpu).type);
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, DeviceSetup.Resolve(DeviceSpec.Auto).type);
    }

    [Fact]
    public void Cuda_WithoutCuda_IsAnError_NamingTheKey()
    {
        Assert.SkipWhen(cuda.is_available(), "a CUDA device is present"); // never on the CPU build CI uses
        var ex = Assert.Throws<NotSupportedException>(() => DeviceSetup.Resolve(new DeviceSpec(DeviceKind.Cuda, 1)));
        Assert.Contains("model.device is cuda:1", ex.Message);
        Assert.Contains("model.device: cpu", ex.Message);
    }

    [Fact]
    public void AutoDType_FollowsTheDevice_NotWhetherSomeGpuExists()
    {
        Assert.Equal(ScalarType.BFloat16, DeviceSetup.ResolveDType(DTypeChoice.Auto, new Device(DeviceType.CUDA, 0)));
        Assert.Equal(TuneSharp.Core.Native.CpuFeatures.HasBf16Compute ? ScalarType.BFloat16 : ScalarType.Float32,
            DeviceSetup.ResolveDType(DTypeChoice.Auto, CPU));
        Assert.Equal(ScalarType.Float32, DeviceSetup.ResolveDType(DTypeChoice.Fp32, new Device(DeviceType.CUDA, 0)));
    }

    [Fact]
    public void ATrainingRunOnCuda_FailsBeforeTraining_AndLeavesNoFolder()
    {
        Assert.SkipWhen(cuda.is_available(), "a CUDA device is present");
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("lora", h.WriteChatData(8)), "model.device=cuda");
        var ex = Assert.Throws<NotSupportedException>(() => h.Run(cfg));
        Assert.Contains("model.device is cuda", ex.Message);
        Assert.False(Directory.Exists(cfg.Output.Dir));
    }
}
