using System.Text.Json;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using TuneSharp.Training.Optim;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Optim;

/// <summary>Step-by-step parity with torch.optim.AdamW (torch 1.13), fixture from tools/golden_optim/make_adamw.py.</summary>
public sealed class AdamWGoldenTests
{
    // Tolerance stated by the brief: 1e-6 (absolute, plus 1e-6 relative for the larger second moments).
    const double Atol = 1e-6, Rtol = 1e-6;

    sealed record GroupSpec(string[] Params, double Weight_decay, double Base_lr);

    [Fact]
    public void Step_MatchesTorchAdamW_ParamsAndMoments_EveryStep()
    {
        using var file = SafeTensorsFile.Open(Fixtures.Repo("optim/adamw.safetensors"));
        var meta = file.Metadata;
        var betas = JsonSerializer.Deserialize<double[]>(meta["betas"])!;
        double eps = double.Parse(meta["eps"], System.Globalization.CultureInfo.InvariantCulture);
        int steps = int.Parse(meta["steps"], System.Globalization.CultureInfo.InvariantCulture);
        var specs = JsonSerializer.Deserialize<GroupSpec[]>(meta["groups"], new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;

        var parameters = specs.SelectMany(g => g.Params)
            .ToDictionary(n => n, n => new Parameter(file.Load($"init.{n}")));
        var groups = specs.Select((g, i) => new ParameterGroup($"g{i}",
            g.Params.Select(n => new NamedParameter(n, parameters[n])).ToList(), g.Base_lr, g.Weight_decay)).ToList();
        using var opt = AdamW.Create(groups, new AdamOptions { Beta1 = betas[0], Beta2 = betas[1], Eps = eps });

        for (int k = 0; k < steps; k++)
        {
            using var scope = torch.NewDisposeScope();
            var lrs = file.Load($"lr.{k}").data<double>().ToArray();
            // The fixture stores each group's lr; the factor is relative to the base lr (exact: base * factor in python).
            double factor = lrs[0] / specs[0].Base_lr;
            for (int gi = 0; gi < specs.Length; gi++)
                Assert.Equal(lrs[gi], groups[gi].LearningRate(factor), 15);

            foreach (var (name, p) in parameters)
                p.grad = file.Tensors.ContainsKey($"grad.{k}.{name}") ? file.Load($"grad.{k}.{name}") : null;
            opt.Step(factor);

            var state = opt.StateTensors();
            foreach (var (name, p) in parameters)
            {
                TensorAssert.Close(file.Load($"param.{k}.{name}"), p, Atol, Rtol, $"step {k} param '{name}'");
                TensorAssert.Close(file.Load($"exp_avg.{k}.{name}"), state[$"{name}.exp_avg"], Atol, Rtol, $"step {k} exp_avg '{name}'");
                TensorAssert.Close(file.Load($"exp_avg_sq.{k}.{name}"), state[$"{name}.exp_avg_sq"], Atol, Rtol, $"step {k} exp_avg_sq '{name}'");
            }
        }

        // 'bias' had no gradient at one step: torch does not count that step for it.
        var scalars = opt.ScalarState();
        Assert.Equal(steps, scalars.StepCount);
        Assert.Equal(steps - 1, scalars.Steps["bias"]);
        Assert.Equal(steps, scalars.Steps["weight"]);
        foreach (var p in parameters.Values) p.Dispose();
    }
}
