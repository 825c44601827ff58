using TorchSharp;

namespace TuneSharp.Core.SafeTensors;

/// <summary>Element types of the safetensors format (the names are the on-disk <c>dtype</c> strings).</summary>
public enum SafeDType
{
    F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL,
    /// <summary>8-bit float (e4m3fn). TorchSharp has no such type: loaded as raw <c>uint8</c> bits.</summary>
    F8_E4M3,
    /// <summary>8-bit float (e5m2). TorchSharp has no such type: loaded as raw <c>uint8</c> bits.</summary>
    F8_E5M2,
}

/// <summary>Sizes, names and torch mappings of <see cref="SafeDType"/>.</summary>
public static class SafeDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(SafeDType dtype) => dtype switch
    {
        SafeDType.F64 or SafeDType.I64 => 8,
        SafeDType.F32 or SafeDType.I32 => 4,
        SafeDType.F16 or SafeDType.BF16 or SafeDType.I16 => 2,
        SafeDType.I8 or SafeDType.U8 or SafeDType.BOOL or SafeDType.F8_E4M3 or SafeDType.F8_E5M2 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The torch type a tensor of this dtype loads as (F8 types load as raw <c>Byte</c>).</summary>
    public static torch.ScalarType ToTorch(SafeDType dtype) => dtype switch
    {
        SafeDType.F64 => torch.ScalarType.Float64,
        SafeDType.F32 => torch.ScalarType.Float32,
        SafeDType.F16 => torch.ScalarType.Float16,
        SafeDType.BF16 => torch.ScalarType.BFloat16,
        SafeDType.I64 => torch.ScalarType.Int64,
        SafeDType.I32 => torch.ScalarType.Int32,
        SafeDType.I16 => torch.ScalarType.Int16,
        SafeDType.I8 => torch.ScalarType.Int8,
        SafeDType.U8 or SafeDType.F8_E4M3 or SafeDType.F8_E5M2 => torch.ScalarType.Byte,
        SafeDType.BOOL => torch.ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The safetensors dtype that stores a torch tensor of this type.</summary>
    /// <exception cref="NotSupportedException">complex and quantized types.</exception>
    public static SafeDType FromTorch(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float64 => SafeDType.F64,
        torch.ScalarType.Float32 => SafeDType.F32,
        torch.ScalarType.Float16 => SafeDType.F16,
        torch.ScalarType.BFloat16 => SafeDType.BF16,
        torch.ScalarType.Int64 => SafeDType.I64,
        torch.ScalarType.Int32 => SafeDType.I32,
        torch.ScalarType.Int16 => SafeDType.I16,
        torch.ScalarType.Int8 => SafeDType.I8,
        torch.ScalarType.Byte => SafeDType.U8,
        torch.ScalarType.Bool => SafeDType.BOOL,
        _ => throw new NotSupportedException($"torch type {type} cannot be stored in safetensors"),
    };

    /// <summary>Parses an on-disk dtype string (case-sensitive, as the format defines it).</summary>
    /// <exception cref="InvalidDataException">unknown dtype; the message names the file and tensor.</exception>
    public static SafeDType Parse(string text, string fileName, string tensorName) => text switch
    {
        "F64" => SafeDType.F64,
        "F32" => SafeDType.F32,
        "F16" => SafeDType.F16,
        "BF16" => SafeDType.BF16,
        "I64" => SafeDType.I64,
        "I32" => SafeDType.I32,
        "I16" => SafeDType.I16,
        "I8" => SafeDType.I8,
        "U8" => SafeDType.U8,
        "BOOL" => SafeDType.BOOL,
        "F8_E4M3" => SafeDType.F8_E4M3,
        "F8_E5M2" => SafeDType.F8_E5M2,
        _ => throw new InvalidDataException($"{fileName}: tensor '{tensorName}' has unsupported dtype '{text}'"),
    };

    /// <summary>The on-disk dtype string.</summary>
    public static string Name(SafeDType dtype) => dtype.ToString();
}
