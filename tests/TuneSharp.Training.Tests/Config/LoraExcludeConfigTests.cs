using TuneSharp.Peft;
using TuneSharp.Training.Config;
using TuneSharp.Training.Setup;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

/// <summary>method.lora.exclude follows PEFT's exclude_modules: one string = full-match regex, a list = names/suffixes.</summary>
public sealed class LoraExcludeConfigTests : ConfigTestBase
{
    const string Q0 = "model.layers.0.self_attn.q_proj", Q1 = "model.layers.1.self_attn.q_proj", V0 = "model.layers.0.self_attn.v_proj";

    static LoraPolicy Policy(TrainConfig c) => new(ModelSetup.LoraSettingsFrom(c.Method));

    [Fact]
    public void String_IsARegex_FullMatchedAgainstThePath()
    {
        var c = Parse(Minimal, @"method.lora.exclude='.*\.layers\.0\..*'");
        Assert.Equal(LoraExclude.Matching(@".*\.layers\.0\..*"), c.Method.Lora.Exclude);
        var policy = Policy(c);
        Assert.False(policy.IsTarget(Q0));
        Assert.False(policy.IsTarget(V0));
        Assert.True(policy.IsTarget(Q1));

        // Full match, as PEFT's re.fullmatch: a bare name as a string matches no path (it is not a suffix rule).
        var bare = Policy(Parse(Minimal, "method.lora.exclude=q_proj"));
        Assert.True(bare.IsTarget(Q0));
    }

    [Fact]
    public void List_MatchesNamesAndSuffixes_NotRegexes()
    {
        var c = Parse(Minimal, "method.lora.exclude=[q_proj, layers.1.self_attn.v_proj]");
        Assert.Equal(LoraExclude.Of("q_proj", "layers.1.self_attn.v_proj"), c.Method.Lora.Exclude);
        var policy = Policy(c);
        Assert.False(policy.IsTarget(Q0));
        Assert.False(policy.IsTarget(Q1));
        Assert.True(policy.IsTarget(V0));
        Assert.False(policy.IsTarget("model.layers.1.self_attn.v_proj"));
        Assert.True(policy.IsTarget("model.layers.0.self_attn.k_proj")); // "proj" is not a name of this path
    }

    [Fact]
    public void ListItem_ThatIsNotAName_IsRejected_PointingToTheStringForm()
    {
        var ex = Fails(Minimal, "method.lora.exclude=[q_proj, '.*v_proj']");
        var e = Assert.Single(ex.Errors);
        Assert.Equal("method.lora.exclude[1]", e.Key);
        Assert.Contains("give 'method.lora.exclude' one string", e.Message);
    }

    [Fact]
    public void BothForms_RoundTrip_ThroughTheResolvedYaml()
    {
        foreach (string form in new[] { "method.lora.exclude='.*(q|v)_proj'", "method.lora.exclude=[lm_head, q_proj]", "method.lora.exclude=null" })
        {
            var c = Parse(Minimal, form);
            Assert.Equal(c, Parse(ConfigLoader.ToYaml(c)));
        }
        Assert.Equal(LoraExclude.None, Parse(Minimal, "method.lora.exclude=null").Method.Lora.Exclude);
    }

    [Fact]
    public void WrongShape_IsATypeError()
    {
        var ex = Fails(Minimal, "method.lora.exclude={a: 1}");
        Assert.Equal("'method.lora.exclude' must be a regular expression (a string) or a list of module names, found a mapping", ex.Errors.Single().Message);
    }
}
