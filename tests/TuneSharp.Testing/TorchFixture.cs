using TuneSharp.Core.Native;

namespace TuneSharp.Testing;

/// <summary>Assembly fixture: native setup (allocator, native fix, libtorch) before any test touches a tensor.
/// Each test project registers it with <c>[assembly: AssemblyFixture(typeof(TorchFixture))]</c>.</summary>
public sealed class TorchFixture
{
    public TorchFixture() => Status = TorchRuntime.Initialize();

    public RuntimeStatus Status { get; }
}
