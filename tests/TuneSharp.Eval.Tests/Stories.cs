using TuneSharp.Inference;
using TuneSharp.Testing;

namespace TuneSharp.Eval.Tests;

/// <summary>The stories260K checkpoint (fp32) loaded once per test class that asks for it.</summary>
public sealed class Stories : IDisposable
{
    readonly Lazy<ModelBundle> _bundle = new(() => ModelBundle.Load(Fixtures.Get("models/stories260K-hf")));

    public ModelBundle Bundle => _bundle.Value;

    public static string Data(string relative) => Fixtures.Get(Path.Combine("datasets", "eval", relative));

    public static string DataRoot => Fixtures.Get(Path.Combine("datasets", "eval"));

    public void Dispose()
    {
        if (_bundle.IsValueCreated) _bundle.Value.Dispose();
    }
}
