using System.Buffers.Binary;
using System.Text;
using TorchSharp;
using TuneSharp.Core.SafeTensors;
using Xunit;
using static TuneSharp.Core.Tests.SafeTensors.RawSafeTensors;

namespace TuneSharp.Core.Tests.SafeTensors;

public class SafeTensorsValidationTests
{
    const string W = "'w':{'dtype':'F32','shape':[2,2],'data_offsets':[0,16]}";

    static byte[] Header(string singleQuoted, int dataBytes) => Build(J(singleQuoted), dataBytes);

    static byte[] WithLength(ulong headerLength, int totalBytes)
    {
        var bytes = new byte[totalBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength);
        return bytes;
    }

    /// <summary>Hostile file -> expected fragment of the InvalidDataException message (which must also start with the file name).</summary>
    static readonly Dictionary<string, (Func<byte[]> Bytes, string Message)> Cases = new()
    {
        ["empty file"] = (() => [], "file has 0 bytes, fewer than the 8-byte header length"),
        ["5-byte file"] = (() => [1, 0, 0, 0, 0], "file has 5 bytes"),
        ["header beyond file"] = (() => WithLength(1000, 100), "header length 1000 goes beyond the end of the file (100 bytes)"),
        ["absurd header length"] = (() => WithLength(200_000_000, 64), "header length 200000000 exceeds the limit"),
        ["max u64 header length"] = (() => WithLength(ulong.MaxValue, 64), "exceeds the limit"),
        ["invalid json"] = (() => Header("{'w': ", 0), "header is not valid JSON"),
        ["json array"] = (() => Header("[1,2]", 0), "header is not a JSON object"),
        ["json string"] = (() => Header("'abc'", 0), "header is not a JSON object"),
        ["empty header"] = (() => Header("", 0), "header is not valid JSON"),
        ["garbage after object"] = (() => Header("{} x", 0), "header is not valid JSON"),
        ["second object"] = (() => Header("{}{}", 0), "header is not valid JSON"),
        ["invalid utf-8 in name"] = (() => Build([.. "{\""u8, 0xC3, 0x28, .. "\":{}}"u8], 0), "UTF-8"),
        ["entry not an object"] = (() => Header("{'w':[1]}", 0), "tensor 'w': entry is not a JSON object"),
        ["unknown dtype"] = (() => Header("{'w':{'dtype':'F128','shape':[1],'data_offsets':[0,16]}}", 16), "tensor 'w' has unsupported dtype 'F128'"),
        ["lower-case dtype"] = (() => Header("{'w':{'dtype':'f32','shape':[1],'data_offsets':[0,4]}}", 4), "tensor 'w' has unsupported dtype 'f32'"),
        ["dtype not a string"] = (() => Header("{'w':{'dtype':7,'shape':[1],'data_offsets':[0,4]}}", 4), "tensor 'w': 'dtype' is not a string"),
        ["missing dtype"] = (() => Header("{'w':{'shape':[1],'data_offsets':[0,4]}}", 4), "tensor 'w' has no 'dtype'"),
        ["missing shape"] = (() => Header("{'w':{'dtype':'F32','data_offsets':[0,4]}}", 4), "tensor 'w' has no 'shape'"),
        ["missing offsets"] = (() => Header("{'w':{'dtype':'F32','shape':[1]}}", 4), "tensor 'w' has no 'data_offsets'"),
        ["shape not an array"] = (() => Header("{'w':{'dtype':'F32','shape':4,'data_offsets':[0,4]}}", 4), "tensor 'w': 'shape' is not an array"),
        ["negative dim"] = (() => Header("{'w':{'dtype':'F32','shape':[-1,4],'data_offsets':[0,16]}}", 16), "tensor 'w': 'shape' holds -1, not a non-negative integer"),
        ["fractional dim"] = (() => Header("{'w':{'dtype':'F32','shape':[1.5],'data_offsets':[0,4]}}", 4), "'shape' holds 1.5"),
        ["string dim"] = (() => Header("{'w':{'dtype':'F32','shape':['4'],'data_offsets':[0,16]}}", 16), "'shape' holds a string"),
        ["huge dim"] = (() => Header("{'w':{'dtype':'F32','shape':[99999999999999999999],'data_offsets':[0,4]}}", 4), "'shape' holds 99999999999999999999"),
        ["shape overflow"] = (() => Header("{'w':{'dtype':'F32','shape':[4611686018427387904,4],'data_offsets':[0,4]}}", 4), "tensor 'w': shape [4611686018427387904, 4] is too large"),
        ["empty shape overflow"] = (() => Header("{'w':{'dtype':'F32','shape':[0,4611686018427387904,4],'data_offsets':[0,0]}}", 0), "tensor 'w': shape [0, 4611686018427387904, 4] is too large"),
        ["rank above limit"] = (() => Header("{'w':{'dtype':'F32','shape':[" + string.Join(",", Enumerable.Repeat(1, 70)) + "],'data_offsets':[0,4]}}", 4), "tensor 'w': 'shape' has more than 64 values"),
        ["three offsets"] = (() => Header("{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,4,8]}}", 8), "tensor 'w': 'data_offsets' has 3 values"),
        ["negative offset"] = (() => Header("{'w':{'dtype':'F32','shape':[1],'data_offsets':[-4,0]}}", 4), "'data_offsets' holds -4"),
        ["end before begin"] = (() => Header("{'w':{'dtype':'F32','shape':[1],'data_offsets':[8,4]}}", 8), "tensor 'w' ends at byte 4 before it begins at byte 8"),
        ["end beyond data"] = (() => Header("{" + W + "}", 12), "tensor 'w' ends at byte 16 but the data section has 12 bytes"),
        ["size mismatch"] = (() => Header("{'w':{'dtype':'F32','shape':[3],'data_offsets':[0,16]}}", 16), "tensor 'w' has 16 bytes but shape [3] of F32 needs 12"),
        ["bf16 size mismatch"] = (() => Header("{'w':{'dtype':'BF16','shape':[2,2],'data_offsets':[0,16]}}", 16), "shape [2, 2] of BF16 needs 8"),
        ["overlap"] = (() => Header("{" + W + ",'v':{'dtype':'F32','shape':[1],'data_offsets':[12,16]}}", 16), "tensor 'v' (bytes 12..16) overlaps tensor 'w' (bytes 0..16)"),
        ["gap"] = (() => Header("{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},'v':{'dtype':'F32','shape':[1],'data_offsets':[8,12]}}", 12), "tensor 'v' begins at byte 8, leaving bytes 4..8 of the data section unused"),
        ["gap at start"] = (() => Header("{'w':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", 8), "tensor 'w' begins at byte 4, leaving bytes 0..4"),
        ["trailing data"] = (() => Header("{" + W + "}", 20), "the data section has 20 bytes but the tensors cover only 16"),
        ["data without tensors"] = (() => Header("{}", 3), "the data section has 3 bytes but the tensors cover only 0"),
        ["duplicate tensor"] = (() => Header("{" + W + "," + W + "}", 16), "duplicate tensor 'w'"),
        ["duplicate field"] = (() => Header("{'w':{'dtype':'F32','dtype':'F16','shape':[1],'data_offsets':[0,4]}}", 4), "tensor 'w': duplicate field 'dtype'"),
        ["duplicate metadata"] = (() => Header("{'__metadata__':{},'__metadata__':{}}", 0), "duplicate key '__metadata__'"),
        ["duplicate metadata key"] = (() => Header("{'__metadata__':{'a':'1','a':'2'}}", 0), "duplicate key 'a' in '__metadata__'"),
        ["metadata value not a string"] = (() => Header("{'__metadata__':{'a':1}}", 0), "'__metadata__' value for key 'a' is not a string"),
        ["metadata not an object"] = (() => Header("{'__metadata__':['a']}", 0), "'__metadata__' is not a JSON object"),
        ["deep nesting"] = (() => Header("{'w':{'x':" + new string('[', 40) + new string(']', 40) + ",'dtype':'F32','shape':[1],'data_offsets':[0,4]}}", 4), "header is not valid JSON"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void HostileFile_Throws_InvalidDataException_NamingFileAndProblem(string caseName)
    {
        var (bytes, message) = Cases[caseName];
        using var dir = new TempDir();
        string path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes());

        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path));
        Assert.StartsWith("bad.safetensors: ", e.Message);
        Assert.Contains(message, e.Message);
        // The checkpoint reader (plain file read, no mapping) reports the same problem.
        var c = Assert.Throws<InvalidDataException>(() => SafeTensorsCheckpoint.Open(path));
        Assert.Equal(e.Message, c.Message);
    }

    [Fact]
    public void ReadersAcceptUnpaddedHeaders_NullMetadata_UnknownFields_AndEmptyTensors()
    {
        using var dir = new TempDir();
        string path = dir.File("ok.safetensors");
        // 63-byte-odd header lengths, no padding, data not aligned; zero-size tensor in the middle; a scalar.
        File.WriteAllBytes(path, Header(
            "{ '__metadata__' : null, 'e':{'dtype':'I8','shape':[0, 5],'data_offsets':[1,1],'extra':{'a':[1]}}," +
            "'s':{'dtype':'I8','shape':[],'data_offsets':[0,1]},'h':{'dtype':'F16','shape':[1],'data_offsets':[1,3]}}   ", 3));
        using var file = SafeTensorsFile.Open(path);
        Assert.Empty(file.Metadata);
        Assert.Equal(["e", "s", "h"], file.Tensors.Keys);
        using var s = file.Load("s");
        Assert.Empty(s.shape);
        Assert.Equal(0, s.ToInt32()); // data bytes are 0, 1, 2
        using var e = file.Load("e");
        Assert.Equal([0L, 5], e.shape);
        using var h = file.Load("h", TorchSharp.torch.ScalarType.Float32);
        Assert.Equal((float)BitConverter.ToHalf([1, 2]), h.ToSingle());
    }

    [Fact]
    public void ErrorMessage_MatchesTheHouseStyleExample()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        string name = "model.layers.3.mlp.up_proj.weight";
        File.WriteAllBytes(path, Build(Encoding.UTF8.GetBytes(
            $"{{\"{name}\":{{\"dtype\":\"U8\",\"shape\":[9123456],\"data_offsets\":[0,9123456]}}}}"), 9_000_000));
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path));
        Assert.Equal($"model.safetensors: tensor '{name}' ends at byte 9123456 but the data section has 9000000 bytes", e.Message);
    }
}
