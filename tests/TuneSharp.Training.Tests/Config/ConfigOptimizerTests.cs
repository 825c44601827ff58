using TuneSharp.Training.Config;
using TuneSharp.Training.Runtime;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

/// <summary><c>optimizer:</c> names every algorithm, and a key the chosen one does not read is an error, not ignored.</summary>
public sealed class ConfigOptimizerTests : ConfigTestBase
{
    [Theory]
    [InlineData("adamw", OptimizerName.AdamW)]
    [InlineData("adam", OptimizerName.Adam)]
    [InlineData("sgd", OptimizerName.Sgd)]
    [InlineData("adafactor", OptimizerName.Adafactor)]
    [InlineData("adamw_8bit", OptimizerName.AdamW8bit)]
    [InlineData("AdamW_8Bit", OptimizerName.AdamW8bit)]
    public void Name_Binds_AndRoundTrips(string yaml, OptimizerName expected)
    {
        var c = Parse(Minimal, $"optimizer.name={yaml}");
        Assert.Equal(expected, c.Optimizer.Name);
        // The resolved config keeps every key (at its default when unused), as earlier checkpoints' identities have them.
        string written = ConfigLoader.ToYaml(c);
        Assert.Contains($"  name: {ConfigNames.Of(expected)}\n", written);
        Assert.Equal(c, ConfigLoader.Parse(written, "resolved_config.yaml"));
    }

    [Fact]
    public void SgdWithMomentum_RoundTrips()
    {
        var c = Parse(Minimal, "optimizer={name: sgd, momentum: 0.9, weight_decay: 0.01, lr: 0.1}");
        Assert.Equal(0.9, c.Optimizer.Momentum);
        Assert.Equal(c, ConfigLoader.Parse(ConfigLoader.ToYaml(c), "resolved_config.yaml"));
    }

    [Theory]
    [InlineData("sgd", "betas=[0.8, 0.9]", "'optimizer.betas' is only used by adamw, adam and adamw_8bit (optimizer.name is sgd)")]
    [InlineData("sgd", "eps=1e-6", "'optimizer.eps' is only used by adamw, adam and adamw_8bit (optimizer.name is sgd)")]
    [InlineData("adafactor", "betas=[0.8, 0.9]", "'optimizer.betas' is only used by adamw, adam and adamw_8bit (optimizer.name is adafactor)")]
    [InlineData("adafactor", "eps=1e-6", "'optimizer.eps' is only used by adamw, adam and adamw_8bit (optimizer.name is adafactor)")]
    [InlineData("adafactor", "momentum=0.9", "'optimizer.momentum' is only used by sgd (optimizer.name is adafactor)")]
    [InlineData("adam", "momentum=0.9", "'optimizer.momentum' is only used by sgd (optimizer.name is adam)")]
    [InlineData("adamw_8bit", "momentum=0.5", "'optimizer.momentum' is only used by sgd (optimizer.name is adamw_8bit)")]
    public void KeyTheOptimizerDoesNotRead_IsRejectedNamingKeyAndOptimizer(string name, string over, string message)
    {
        var ex = Fails(Minimal, $"optimizer.name={name}", $"optimizer.{over}");
        string key = "optimizer." + over[..over.IndexOf('=')];
        Assert.Contains(ex.Errors, e => e.Key == key && e.Message == message);
    }

    [Fact]
    public void OptimizerName_IsNotSafeToChangeOnResume()
    {
        Assert.False(RunIdentity.IsSafeToChange("optimizer.name"));
        Assert.False(RunIdentity.IsSafeToChange("optimizer.momentum"));
    }
}
