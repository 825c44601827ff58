using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>AdamW's two moments of one parameter, block-wise quantized to 8 bits (<see cref="BlockQuantizer"/>):
/// uint8 codes [numel] and fp32 absmax [blocks] for each moment, ~2.03 bytes per parameter instead of 8.</summary>
public sealed class AdamW8bitState : IParamState
{
    public const string ExpAvgKey = "exp_avg.q", ExpAvgScaleKey = "exp_avg.absmax", ExpAvgSqKey = "exp_avg_sq.q", ExpAvgSqScaleKey = "exp_avg_sq.absmax";

    public required Tensor ExpAvg { get; init; }
    public required Tensor ExpAvgAbsmax { get; init; }
    public required Tensor ExpAvgSq { get; init; }
    public required Tensor ExpAvgSqAbsmax { get; init; }

    public IEnumerable<(string Suffix, Tensor Tensor)> Tensors() =>
        [(ExpAvgKey, ExpAvg), (ExpAvgScaleKey, ExpAvgAbsmax), (ExpAvgSqKey, ExpAvgSq), (ExpAvgSqScaleKey, ExpAvgSqAbsmax)];

    public void Dispose()
    {
        ExpAvg.Dispose(); ExpAvgAbsmax.Dispose(); ExpAvgSq.Dispose(); ExpAvgSqAbsmax.Dispose();
    }
}

/// <summary>
/// 8-bit AdamW as bitsandbytes' <c>AdamW8bit</c> (block-wise, dynamic map; Dettmers et al. 2022): each step
/// dequantizes the moments to fp32, runs exactly <see cref="AdamW"/>'s update, and quantizes them back. Differences
/// from bitsandbytes: every parameter is quantized (bitsandbytes keeps tensors under 4096 values in fp32), and the
/// rounding is to the nearest code on the CPU path (no fused kernel). The state is ~4x smaller than fp32 AdamW's; the
/// trajectory tracks it within the tolerance stated in docs/training-math.md.
/// </summary>
public sealed class AdamW8bit : IUpdateRule<AdamW8bitState>, IDisposable
{
    public const string Name = "adamw_8bit";

    readonly AdamOptions _options;
    readonly BlockQuantizer _signed, _unsigned;

    AdamW8bit(AdamOptions options, int blockSize)
    {
        _options = options;
        _signed = new BlockQuantizer(signed: true, blockSize);     // first moment: either sign
        _unsigned = new BlockQuantizer(signed: false, blockSize);  // second moment: >= 0
    }

    string IUpdateRule<AdamW8bitState>.Name => Name;

    /// <param name="blockSize">256 (bitsandbytes >= 0.42) or 2048 (older bitsandbytes).</param>
    public static SlotOptimizer<AdamW8bitState> Create(IReadOnlyList<ParameterGroup> groups, AdamOptions? options = null,
        bool masterWeights = false, int blockSize = 256)
    {
        options ??= new AdamOptions();
        options.Check(Name);
        var rule = new AdamW8bit(options, blockSize);
        return new SlotOptimizer<AdamW8bitState>(rule, groups, masterWeights);
    }

    public AdamW8bitState Init(Tensor param)
    {
        long n = param.numel(), blocks = _signed.Blocks(n);
        return new AdamW8bitState
        {
            // The code of 0.0 in each map: the moments start at exactly 0.
            ExpAvg = torch.full([n], _signed.ZeroCode, ScalarType.Byte, param.device).DetachFromDisposeScope(),
            ExpAvgAbsmax = torch.zeros(blocks, ScalarType.Float32, param.device).DetachFromDisposeScope(),
            ExpAvgSq = torch.full([n], _unsigned.ZeroCode, ScalarType.Byte, param.device).DetachFromDisposeScope(),
            ExpAvgSqAbsmax = torch.zeros(blocks, ScalarType.Float32, param.device).DetachFromDisposeScope(),
        };
    }

    public AdamW8bitState Load(StateReader r)
    {
        long n = r.Param.numel(), blocks = _signed.Blocks(n);
        return new AdamW8bitState
        {
            ExpAvg = r.Read(AdamW8bitState.ExpAvgKey, [n], ScalarType.Byte),
            ExpAvgAbsmax = r.Read(AdamW8bitState.ExpAvgScaleKey, [blocks], ScalarType.Float32),
            ExpAvgSq = r.Read(AdamW8bitState.ExpAvgSqKey, [n], ScalarType.Byte),
            ExpAvgSqAbsmax = r.Read(AdamW8bitState.ExpAvgSqScaleKey, [blocks], ScalarType.Float32),
        };
    }

    public void Update(AdamW8bitState s, in ParamStep p)
    {
        var m = _signed.Dequantize(s.ExpAvg, s.ExpAvgAbsmax, p.Param.shape);          // fp32, shaped like p
        var v = _unsigned.Dequantize(s.ExpAvgSq, s.ExpAvgSqAbsmax, p.Param.shape);
        AdamW.Apply(p, m, v, _options);
        _signed.Quantize(m, s.ExpAvg, s.ExpAvgAbsmax);
        _unsigned.Quantize(v, s.ExpAvgSq, s.ExpAvgSqAbsmax);
    }

    public void Dispose()
    {
        _signed.Dispose();
        _unsigned.Dispose();
    }
}
