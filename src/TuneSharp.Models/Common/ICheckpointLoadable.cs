using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>
/// A module that stores some checkpoint tensors in a form other than a parameter of the same shape (e.g. a quantized
/// base weight). The loader hands it those tensors by local key instead of copying into a parameter.
/// </summary>
public interface ICheckpointLoadable
{
    /// <summary>Local keys (relative to the module path, e.g. "weight") this module takes from a checkpoint.</summary>
    IEnumerable<string> CheckpointKeys { get; }

    /// <summary>Expected shape of a key, for the loader's shape check.</summary>
    long[] CheckpointShape(string localKey);

    /// <summary>Takes the checkpoint tensor (any float dtype); the module converts/quantizes and keeps what it needs.</summary>
    void LoadFromCheckpoint(string localKey, Tensor value);
}
