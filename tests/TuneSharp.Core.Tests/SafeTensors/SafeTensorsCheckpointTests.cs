using TorchSharp;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Core.Tests.SafeTensors;

public class SafeTensorsCheckpointTests
{
    [Fact]
    public void Folder_WithSingleModelFile_OpensIt()
    {
        string dir = Path.GetDirectoryName(Fixtures.Get("models/stories260K-hf/model.safetensors"))!;
        using var checkpoint = SafeTensorsCheckpoint.Open(dir);
        using var file = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(file.Tensors.Keys, checkpoint.Names);
        Assert.Equal(file.Tensors["model.norm.weight"], checkpoint.Info("model.norm.weight"));
        using var a = checkpoint.Load("model.norm.weight", ScalarType.Float64);
        using var b = file.Load("model.norm.weight", ScalarType.Float64);
        Assert.Equal(b.data<double>().ToArray(), a.data<double>().ToArray());
        Assert.False(checkpoint.Contains("lm_head.weight")); // tied embeddings
        Assert.Throws<KeyNotFoundException>(() => checkpoint.Info("lm_head.weight"));
    }

    /// <summary>Two shards of two tensors each plus a hand-written index.</summary>
    static TempDir Sharded(string indexJson)
    {
        var dir = new TempDir();
        using var a = ones(2);
        using var b = zeros(3);
        SafeTensorsWriter.Write(dir.File("s1.safetensors"), [new("a", a), new("b", b)]);
        SafeTensorsWriter.Write(dir.File("s2.safetensors"), [new("c", a), new("d", b)]);
        File.WriteAllText(dir.File("model.safetensors.index.json"), RawSafeTensors.J(indexJson));
        return dir;
    }

    [Fact]
    public void Index_PreferredOverSingleFile_OrderFollowsTheIndex_UnlistedTensorsIgnored()
    {
        using var dir = Sharded("{'metadata':{'total_size':12,'x':[1,{}]},'weight_map':{'d':'s2.safetensors','a':'s1.safetensors','c':'s2.safetensors'}}");
        using var t = ones(1);
        SafeTensorsWriter.Write(dir.File("model.safetensors"), [new("other", t)]);
        using var checkpoint = SafeTensorsCheckpoint.Open(dir.Path);
        Assert.Equal(["d", "a", "c"], checkpoint.Names);
        Assert.False(checkpoint.Contains("b"));
        Assert.False(checkpoint.Contains("other"));
        using var d = checkpoint.Load("d");
        Assert.Equal(new float[] { 0, 0, 0 }, d.data<float>().ToArray());
    }

    [Theory]
    [InlineData("{'weight_map':{'a':'s1.safetensors','x':'s3.safetensors'}}", "tensor 'x' maps to shard 's3.safetensors', which does not exist")]
    [InlineData("{'weight_map':{'a':'s1.safetensors','c':'s1.safetensors'}}", "tensor 'c' maps to shard 's1.safetensors', which has no such tensor")]
    [InlineData("{'weight_map':{'a':'../s1.safetensors'}}", "tensor 'a' maps to '../s1.safetensors', which is outside the checkpoint folder")]
    [InlineData("{'weight_map':{'a':'/etc/passwd'}}", "outside the checkpoint folder")]
    [InlineData("{'weight_map':{'a':'s1.safetensors','a':'s1.safetensors'}}", "duplicate key 'a' in 'weight_map'")]
    [InlineData("{'weight_map':{'a':1}}", "'weight_map' value for key 'a' is not a string")]
    [InlineData("{'metadata':{}}", "index has no 'weight_map'")]
    [InlineData("{'weight_map':{'a':'s1.safetensors'}", "index is not valid JSON")]
    [InlineData("[]", "index is not a JSON object")]
    public void BadIndex_Throws_InvalidDataException_NamingTheIndex(string index, string message)
    {
        using var dir = Sharded(index);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsCheckpoint.Open(dir.Path));
        Assert.StartsWith("model.safetensors.index.json: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void BrokenShard_IsReportedWithTheShardName()
    {
        using var dir = Sharded("{'weight_map':{'a':'s1.safetensors','c':'s2.safetensors'}}");
        byte[] bytes = File.ReadAllBytes(dir.File("s2.safetensors"));
        File.WriteAllBytes(dir.File("s2.safetensors"), bytes[..^4]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsCheckpoint.Open(dir.Path));
        Assert.StartsWith("s2.safetensors: tensor ", e.Message);
    }

    [Fact]
    public void ShardsAreMappedOnFirstLoad_AndReleasedOnDispose()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = Sharded("{'weight_map':{'a':'s1.safetensors','c':'s2.safetensors'}}");
        var checkpoint = SafeTensorsCheckpoint.Open(dir.Path);
        // Only headers were read: s2 can vanish before anything is loaded from it, and the failure surfaces on Load.
        File.Delete(dir.File("s2.safetensors"));
        using var a = checkpoint.Load("a");
        Assert.Throws<FileNotFoundException>(() => checkpoint.Load("c"));
        checkpoint.Dispose();
        Assert.Throws<ObjectDisposedException>(() => checkpoint.Load("a"));
        Assert.Equal(2f, a.sum().ToSingle()); // loaded tensors outlive the checkpoint
    }

    [Fact]
    public void MissingPath_OrFolderWithoutModel_ThrowsFileNotFound()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => SafeTensorsCheckpoint.Open(dir.Path));
        Assert.Throws<FileNotFoundException>(() => SafeTensorsCheckpoint.Open(dir.File("nope.safetensors")));
    }
}
