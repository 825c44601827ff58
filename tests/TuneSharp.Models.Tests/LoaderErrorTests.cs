using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Models.Tests;

public class LoaderErrorTests
{
    [Fact]
    public void MissingUnexpectedAndMisshapedTensors_AreReportedTogether()
    {
        string src = Fixtures.Repo("golden/llama_tied");
        string dir = Directory.CreateTempSubdirectory("tunesharp-loader").FullName;
        try
        {
            File.Copy(Path.Combine(src, "config.json"), Path.Combine(dir, "config.json"));
            using (var ckpt = SafeTensorsCheckpoint.Open(src))
            using (var scope = NewDisposeScope())
            {
                var tensors = ckpt.Names
                    .Where(n => n != "model.norm.weight")
                    .Select(n => KeyValuePair.Create(n, n == "model.layers.1.mlp.up_proj.weight" ? zeros(3, 3) : ckpt.Load(n)))
                    .Append(KeyValuePair.Create("model.layers.9.extra.weight", zeros(2)))
                    .ToList();
                SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
            }
            var ex = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(dir));
            Assert.Contains("3 problem(s)", ex.Message);
            Assert.Contains("missing tensor 'model.norm.weight'", ex.Message);
            Assert.Contains("'model.layers.1.mlp.up_proj.weight' has shape [3, 3]", ex.Message);
            Assert.Contains("unexpected tensor 'model.layers.9.extra.weight'", ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
