using TuneSharp.Core.Native;
using TuneSharp.Training.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Setup;

/// <summary>
/// The one seam between the config's <c>model.device</c> / <c>model.dtype</c> and libtorch devices. Everything a run
/// allocates follows the model's device (batches, loss, optimizer state, KV caches), so this is the only place that
/// asks which devices exist. Nothing falls back silently: asking for CUDA where there is none is an error.
/// </summary>
public static class DeviceSetup
{
    /// <summary><c>auto</c> = the first CUDA device when libtorch sees one, else the CPU; <c>cuda[:N]</c> must exist.</summary>
    public static Device Resolve(DeviceSpec spec)
    {
        switch (spec.Kind)
        {
            case DeviceKind.Cpu:
                return CPU;
            case DeviceKind.Auto:
                return cuda.is_available() ? new Device(DeviceType.CUDA, 0) : CPU;
            default:
                if (!cuda.is_available())
                    throw new NotSupportedException(
                        $"model.device is {spec}, but libtorch sees no CUDA device (this build uses the {TorchBackendName} libtorch; " +
                        "build with -p:TorchBackend=cuda on a machine with a GPU, see build/Torch.props), or set model.device: cpu");
                int index = spec.Index ?? 0, count = cuda.device_count();
                if (index >= count)
                    throw new NotSupportedException($"model.device is {spec}, but there are {count} CUDA device(s) (cuda:0 .. cuda:{count - 1})");
                return new Device(DeviceType.CUDA, index);
        }
    }

    /// <summary>Training dtype on <paramref name="device"/>: <c>auto</c> is bf16 on CUDA and on CPUs that compute bf16
    /// natively (avx512_bf16), fp32 elsewhere.</summary>
    public static ScalarType ResolveDType(DTypeChoice choice, Device device) => choice switch
    {
        DTypeChoice.Fp32 => ScalarType.Float32,
        DTypeChoice.Bf16 => ScalarType.BFloat16,
        _ => device.type == DeviceType.CUDA || device.type == DeviceType.CPU && CpuFeatures.HasBf16Compute ? ScalarType.BFloat16 : ScalarType.Float32,
    };

    static string TorchBackendName => cuda.is_available() ? "CUDA" : "CPU";
}
