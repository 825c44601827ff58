using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Cli.Tests;

public class ExportCommandTests
{
    [Fact]
    public async Task ExportMerge_WritesAnHfCheckpoint_WhoseLogitsEqualBasePlusAdapter()
    {
        string baseDir = Fixtures.Get("models/stories260K-hf");
        string dir = Directory.CreateTempSubdirectory("tunesharp-export").FullName;
        try
        {
            // An adapter with non-zero B (as if trained), saved in PEFT format.
            string adapterDir = Path.Combine(dir, "adapter");
            var settings = LoraSettings.Create(4, 8, "q_proj", "v_proj", "down_proj");
            using (var adapted = new LoraPolicy(settings).LoadModel(baseDir, seed: 1))
            {
                using (no_grad())
                    foreach (var (_, layer) in adapted.Adapters()) layer.LoraB.normal_(0, 0.05, new Generator().manual_seed(2));
                AdapterIO.Save(adapterDir, adapted, settings, baseDir);
            }
            string outDir = Path.Combine(dir, "merged");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int rc = await CliApp.RunAsync(["export", "merge", "--base", baseDir, "--adapter", adapterDir, "--out", outDir], stdout, stderr);
            Assert.True(rc == 0, stderr.ToString());
            foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
                Assert.True(File.Exists(Path.Combine(outDir, f)), f);

            using var merged = ModelLoader.Load(outDir);
            using var reference = AdapterIO.Load(adapterDir, baseDir);
            using var baseModel = ModelLoader.Load(baseDir);
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var ids = tensor(new long[] { 1, 403, 407, 261, 396, 300, 77, 12 }, [1, 8]);
            var expected = reference.Model.Forward(ids);
            // Tolerance 1e-4: W + s B A folded in fp32 vs the same sum computed per forward.
            Assert.True(merged.Forward(ids).allclose(expected, rtol: 0, atol: 1e-4));
            Assert.False(baseModel.Forward(ids).allclose(expected, rtol: 0, atol: 1e-3)); // the adapter matters
        }
        finally { Directory.Delete(dir, true); }
    }
}
