using System.Globalization;
using System.Text.Json;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using TuneSharp.Training.Optim;
using Xunit;

namespace TuneSharp.Training.Tests.Optim;

/// <summary>
/// Step-by-step parity with torch.optim.Adam, torch.optim.SGD (momentum, with and without weight decay) and HF
/// transformers' Adafactor (relative_step=False, scale_parameter=False), fixtures from
/// tools/golden_optim/make_optimizers.py: two groups (lr changing every step), a 2-D, a 3-D and a 1-D parameter, and a
/// step at which the 1-D one has no gradient. Parameters and every state tensor are compared after each of 5 steps.
/// </summary>
public sealed class OptimizerGoldenTests
{
    sealed record GroupSpec(string[] Params, double Weight_decay, double Base_lr);
    sealed record Options(double[]? Betas, double? Eps, double? Momentum);

    static IOptimizer Build(string optimizer, IReadOnlyList<ParameterGroup> groups, Options o) => optimizer switch
    {
        "adam" => Adam.Create(groups, new AdamOptions { Beta1 = o.Betas![0], Beta2 = o.Betas[1], Eps = o.Eps!.Value }),
        "sgd_momentum" or "sgd_momentum_wd" => Sgd.Create(groups, new SgdOptions { Momentum = o.Momentum!.Value }),
        "adafactor" => Adafactor.Create(groups),
        _ => throw new ArgumentException(optimizer),
    };

    /// <summary>Fixture, absolute and relative tolerance: 1e-6 for all, as for AdamW (torch 1.13 vs libtorch 2.10
    /// kernels differ at rounding level; a 1% error in any term fails it).</summary>
    public static TheoryData<string, double, double> Cases => new()
    {
        { "adam", 1e-6, 1e-6 },
        { "sgd_momentum", 1e-6, 1e-6 },
        { "sgd_momentum_wd", 1e-6, 1e-6 },
        { "adafactor", 1e-6, 1e-6 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Step_MatchesTorch_ParamsAndState_EveryStep(string fixture, double atol, double rtol)
    {
        using var file = SafeTensorsFile.Open(Fixtures.Repo($"optim/{fixture}.safetensors"));
        var meta = file.Metadata;
        var json = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        int steps = int.Parse(meta["steps"], CultureInfo.InvariantCulture);
        var specs = JsonSerializer.Deserialize<GroupSpec[]>(meta["groups"], json)!;
        var options = JsonSerializer.Deserialize<Options>(meta["options"], json)!;

        var parameters = specs.SelectMany(g => g.Params).ToDictionary(n => n, n => new Parameter(file.Load($"init.{n}")));
        var groups = specs.Select((g, i) => new ParameterGroup($"g{i}",
            g.Params.Select(n => new NamedParameter(n, parameters[n])).ToList(), g.Base_lr, g.Weight_decay)).ToList();
        using var opt = Build(fixture, groups, options);

        int compared = 0;
        for (int k = 0; k < steps; k++)
        {
            using var scope = torch.NewDisposeScope();
            var lrs = file.Load($"lr.{k}").data<double>().ToArray();
            double factor = lrs[0] / specs[0].Base_lr;
            for (int gi = 0; gi < specs.Length; gi++) Assert.Equal(lrs[gi], groups[gi].LearningRate(factor), 15);

            foreach (var (name, p) in parameters)
                p.grad = file.Tensors.ContainsKey($"grad.{k}.{name}") ? file.Load($"grad.{k}.{name}") : null;
            opt.Step(factor);

            var state = opt.StateTensors();
            var expectedState = file.Tensors.Keys.Where(key => key.StartsWith($"state.{k}.", StringComparison.Ordinal)).ToList();
            Assert.Equal(expectedState.Select(key => key[$"state.{k}.".Length..]).Order(StringComparer.Ordinal),
                state.Keys.Order(StringComparer.Ordinal));
            foreach (var key in expectedState)
            {
                TensorAssert.Close(file.Load(key), state[key[$"state.{k}.".Length..]], atol, rtol, $"step {k} {key}");
                compared++;
            }
            foreach (var (name, p) in parameters)
                TensorAssert.Close(file.Load($"param.{k}.{name}"), p, atol, rtol, $"step {k} param '{name}'");
        }
        Assert.True(compared >= steps * 2, $"only {compared} state tensors compared");
        var scalars = opt.ScalarState();
        Assert.Equal(steps - 1, scalars.Steps["bias"]);
        Assert.Equal(steps, scalars.Steps["weight"]);
        foreach (var p in parameters.Values) p.Dispose();
    }
}
