using TuneSharp.Tokenizers;
using TuneSharp.Training.Setup;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>datasets[].split picks a folder's split files; method.pretrain.text_split decides the documents of a .txt file.</summary>
public sealed class DataSetupSplitTests
{
    [Fact]
    public void Split_ReadsOnlyThatSplitsFiles_OfAFolderDataset()
    {
        using var h = new TrainHarness();
        string folder = Path.Combine(h.Dir, "ds");
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        File.Move(h.WriteChatData(8), Path.Combine(folder, "data", "train-00000-of-00001.jsonl"));
        File.Move(h.WriteChatData(3), Path.Combine(folder, "data", "test-00000-of-00001.jsonl"));
        var tok = HfTokenizer.Load(TrainHarness.ModelDir);

        int Count(params string[] overrides) =>
            DataSetup.Prepare(h.Config(h.Yaml("lora", folder), ["data.dedup=false", .. overrides]), tok, TestContext.Current.CancellationToken).Train.Count;

        Assert.Equal(8, Count("data.datasets.0.split=train"));
        Assert.Equal(3, Count("data.datasets.0.split=test"));
        Assert.Equal(11, Count());
        var missing = Assert.Throws<FileNotFoundException>(() => Count("data.datasets.0.split=validation"));
        Assert.Contains("has no file of split 'validation'", missing.Message);
    }

    [Fact]
    public void TextSplit_Paragraph_MakesOneDocumentPerParagraph()
    {
        using var h = new TrainHarness();
        string corpus = Path.Combine(h.Dir, "corpus.txt");
        File.WriteAllText(corpus, "Once upon a time.\n\nThe cat sat.\n\n\nThe dog ran.\n");
        var tok = HfTokenizer.Load(TrainHarness.ModelDir);
        int bos = tok.BosTokenId!.Value;

        int Documents(params string[] overrides)
        {
            var cfg = h.Config(h.Yaml("lora", corpus, chatTemplate: false), ["method.stage=pretrain", .. overrides]);
            return DataSetup.Prepare(cfg, tok, TestContext.Current.CancellationToken).Train.Sum(s => s.InputIds.Count(id => id == bos));
        }

        Assert.Equal(1, Documents());
        Assert.Equal(3, Documents("method.pretrain.text_split=paragraph"));
    }
}
