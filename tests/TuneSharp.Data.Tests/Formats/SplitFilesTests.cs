using TuneSharp.Data;
using Xunit;

namespace TuneSharp.Data.Tests.Formats;

/// <summary>Split selection in folder datasets, by the file-name rules of Hugging Face datasets.</summary>
public sealed class SplitFilesTests
{
    static readonly string Root = Path.Combine(Path.GetTempPath(), "ds");

    static string[] Select(string split, params string[] files) =>
        [.. SplitFiles.Select(Root, files.Select(f => Path.Combine(Root, f)), split).Select(f => Path.GetRelativePath(Root, f))];

    [Fact]
    public void SplitName_IsAWordOfAFileOrFolderName()
    {
        string[] files =
        [
            "train.jsonl", "test.jsonl", "data/train-00000-of-00002.parquet", "data/test-00000-of-00001.parquet",
            "my_train.csv", "trainer.jsonl", "constraint.jsonl", "validation/part1.jsonl", "dev.jsonl", "train2.jsonl",
        ];
        Assert.Equal(["train.jsonl", "data/train-00000-of-00002.parquet", "my_train.csv", "train2.jsonl"], Select("train", files));
        Assert.Equal(["test.jsonl", "data/test-00000-of-00001.parquet"], Select("test", files));
        Assert.Equal(["validation/part1.jsonl", "dev.jsonl"], Select("validation", files));
        Assert.Equal([], Select("extra", files));
    }

    [Fact]
    public void Reader_WithSplit_ReadsOnlyThoseFiles_AndRefusesAFileOrAMissingSplit()
    {
        string dir = Directory.CreateTempSubdirectory("tunesharp-split").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "train.jsonl"), "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
            File.WriteAllText(Path.Combine(dir, "validation.jsonl"), "{\"text\": \"c\"}\n");
            Assert.Equal(2, DatasetReader.Read(new DatasetSpec(dir) { Split = "train" }).Count());
            Assert.Equal(["c"], DatasetReader.Read(new DatasetSpec(dir) { Split = "validation" }).Cast<TextExample>().Select(t => t.Text));
            Assert.Equal(3, DatasetReader.Read(new DatasetSpec(dir)).Count());
            var none = Assert.Throws<FileNotFoundException>(() => DatasetReader.Read(new DatasetSpec(dir) { Split = "test" }).ToList());
            Assert.Contains("train.jsonl, validation.jsonl", none.Message);
            Assert.Throws<ArgumentException>(() => DatasetReader.Read(new DatasetSpec(Path.Combine(dir, "train.jsonl")) { Split = "train" }).ToList());
        }
        finally { Directory.Delete(dir, true); }
    }
}
