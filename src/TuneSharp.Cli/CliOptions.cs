using TorchSharp;

namespace TuneSharp.Cli;

/// <summary>Small parsers shared by several verbs.</summary>
public static class CliOptions
{
    public static torch.ScalarType ParseDType(string name) => name switch
    {
        "fp32" or "float32" => torch.ScalarType.Float32,
        "bf16" or "bfloat16" => torch.ScalarType.BFloat16,
        _ => throw new ArgumentException($"unknown dtype '{name}' (use fp32 or bf16)"),
    };
}
