namespace TuneSharp.Export.Gguf;

/// <summary>ggml tensor types TuneSharp writes (numbers are ggml's `enum ggml_type`).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
    BF16 = 30,
}

/// <summary>GGUF metadata value types (numbers are `enum gguf_type`).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}
