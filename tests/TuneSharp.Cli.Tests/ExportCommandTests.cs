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

public class ExportGgufCommandTests
{
    [Fact]
    public void ExportGguf_WithAdapter_WritesMergedWeightsTokenizerAndModelfile()
    {
        string baseDir = Fixtures.Get("models/stories260K-hf");
        string dir = Directory.CreateTempSubdirectory("tunesharp-export-gguf").FullName;
        try
        {
            string adapterDir = Path.Combine(dir, "adapter");
            var settings = LoraSettings.Create(4, 8, "q_proj", "v_proj");
            using (var adapted = new LoraPolicy(settings).LoadModel(baseDir, seed: 1))
            {
                using (no_grad())
                    foreach (var (_, layer) in adapted.Adapters()) layer.LoraB.normal_(0, 0.05, new Generator().manual_seed(2));
                AdapterIO.Save(adapterDir, adapted, settings, baseDir);
            }
            string outPath = Path.Combine(dir, "out", "model.gguf");
            var r = CliRunner.Run(null, "export", "gguf", "--model", baseDir, "--adapter", adapterDir, "--out", outPath, "--type", "f32");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("merged 10 adapted projections", r.Stdout);
            Assert.StartsWith("FROM ./model.gguf\n", File.ReadAllText(Path.Combine(dir, "out", "model.Modelfile")));

            var gguf = new TuneSharp.Export.Gguf.GgufReader(outPath);
            Assert.Equal("llama", gguf.Metadata["tokenizer.ggml.model"]);
            // v_proj is not permuted: the F32 tensor equals the merged weight W + s B A exactly as AdapterMerge computes it.
            using var reference = AdapterIO.Load(adapterDir, baseDir);
            using var merged = AdapterMerge.Merge(reference.Model);
            var v = merged.state_dict()["model.layers.2.self_attn.v_proj.weight"];
            Assert.Equal(v.data<float>().ToArray(), gguf.ReadFloats("blk.2.attn_v.weight"));
            using var baseModel = ModelLoader.Load(baseDir);
            Assert.NotEqual(baseModel.state_dict()["model.layers.2.self_attn.v_proj.weight"].data<float>().ToArray(), gguf.ReadFloats("blk.2.attn_v.weight"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ExportGguf_BadType_IsAUsageError()
    {
        var r = CliRunner.Run(null, "export", "gguf", "--model", Fixtures.Get("models/stories260K-hf"), "--out", "/tmp/x.gguf", "--type", "q5_k");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("q5_k", r.Stderr + r.Stdout);
    }

    [Fact]
    public void ExportGguf_UnsupportedModel_FailsNamingTheKey()
    {
        string dir = Directory.CreateTempSubdirectory("tunesharp-export-gguf-bad").FullName;
        try
        {
            // llama_untied_bias has mlp_bias = true, which llama.cpp's llama graph has no tensor for.
            string model = Path.Combine(dir, "m");
            Directory.CreateDirectory(model);
            foreach (var f in Directory.GetFiles(Fixtures.Repo("golden/llama_untied_bias"))) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
            foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
                File.Copy(Path.Combine(Fixtures.Get("models/stories260K-hf"), f), Path.Combine(model, f));
            var r = CliRunner.Run(null, "export", "gguf", "--model", model, "--out", Path.Combine(dir, "x.gguf"), "--type", "q8_0");
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("mlp_bias", r.Stderr);
            Assert.False(File.Exists(Path.Combine(dir, "x.gguf")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ExportMerge_QloraBase_ReportsTheRoundTripError()
    {
        string baseDir = Fixtures.Get("models/stories260K-hf");
        string dir = Directory.CreateTempSubdirectory("tunesharp-export-qlora").FullName;
        try
        {
            string adapterDir = Path.Combine(dir, "adapter");
            var settings = LoraSettings.Create(4, 8, "q_proj", "v_proj");
            using (var adapted = new LoraPolicy(settings).LoadModel(baseDir, seed: 1)) AdapterIO.Save(adapterDir, adapted, settings, baseDir);
            var r = CliRunner.Run(null, "export", "merge", "--base", baseDir, "--adapter", adapterDir, "--out", Path.Combine(dir, "m"), "--quant", "nf4");
            Assert.True(r.ExitCode == 0, r.Stderr);
            var line = r.Stdout.Split('\n').Single(l => l.Contains("max abs weight error"));
            double error = double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            // NF4 with block 64: the error is at most half the largest NF4 code gap ((1 - 0.7230) / 2 = 0.139) times the
            // block absmax (<= 1.86 for stories260K's q/v weights) = 0.258, plus the double-quantized absmax error; it is
            // positive because quantization happened.
            Assert.InRange(error, 1e-4, 0.3);
        }
        finally { Directory.Delete(dir, true); }
    }
}
