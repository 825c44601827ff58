using System.Text.Json.Nodes;
using Parquet;
using Parquet.Schema;

namespace TuneSharp.Data;

/// <summary>
/// Reads flat Parquet files row group by row group. String columns become JSON strings, numeric and boolean columns JSON
/// numbers/booleans; other column types (lists, structs, dates, binary) are not read, and a record that needs one of them
/// is reported as <c>unexpected_column_type</c> naming the column and its type.
/// </summary>
internal static class ParquetSource
{
    public static IEnumerable<RawRecord> Read(string file, bool gzip)
    {
        using var stream = Open(file, gzip, out var openFailure);
        if (openFailure != null)
        {
            yield return openFailure;
            yield break;
        }
        var (reader, failure) = Run(() => ParquetReader.CreateAsync(stream!, leaveStreamOpen: true), file, 0);
        if (failure != null)
        {
            yield return failure;
            yield break;
        }
        var parquet = reader!;
        try
        {
            var types = new Dictionary<string, string>(StringComparer.Ordinal);
            var readable = new List<DataField>();
            foreach (var field in parquet.Schema.Fields)
            {
                if (field is DataField { IsArray: false } data && IsSupported(data.ClrType))
                {
                    readable.Add(data);
                    if (!IsString(data.ClrType)) types[data.Name] = data.ClrType.Name;
                }
                else types[field.Name] = field is DataField d ? (d.IsArray ? $"list<{d.ClrType.Name}>" : d.ClrType.Name) : field.SchemaType.ToString();
            }
            long row = 0;
            for (int g = 0; g < parquet.RowGroupCount; g++)
            {
                var (columns, groupFailure) = Run(() => ReadGroup(parquet, g, readable), file, row + 1);
                if (groupFailure != null)
                {
                    yield return groupFailure;
                    yield break;
                }
                int count = columns!.Length == 0 ? 0 : columns[0].Length;
                for (int r = 0; r < count; r++)
                {
                    var obj = new JsonObject();
                    for (int c = 0; c < readable.Count; c++) obj[readable[c].Name] = columns[c][r];
                    yield return new RawRecord(new SourceLocation(file, ++row), obj, null) { ColumnTypes = types };
                }
            }
        }
        finally { parquet.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    static Stream? Open(string file, bool gzip, out RawRecord? failure)
    {
        failure = null;
        var source = SourceStreams.Open(file, gzip);
        if (!gzip) return source;
        // Parquet needs a seekable stream: decompress .parquet.gz into memory.
        var memory = new MemoryStream();
        try { source.CopyTo(memory); }
        catch (SourceReadException e)
        {
            failure = RawRecord.Fail(new SourceLocation(file, 0), e.Code, null, e.Message, e.Hint, fatal: true);
        }
        finally { source.Dispose(); }
        memory.Position = 0;
        return memory;
    }

    static (T? Value, RawRecord? Failure) Run<T>(Func<Task<T>> action, string file, long row)
    {
        try { return (action().GetAwaiter().GetResult(), null); }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return (default, RawRecord.Fail(new SourceLocation(file, row), ProblemCodes.InvalidParquet, null,
                $"cannot read Parquet data: {e.Message}", "check that the file is a complete Parquet file (e.g. with pyarrow)", fatal: true));
        }
    }

    static readonly Type[] Supported =
        [typeof(string), typeof(bool), typeof(int), typeof(long), typeof(short), typeof(sbyte), typeof(byte), typeof(float), typeof(double)];

    static bool IsSupported(Type t) => IsString(t) || Array.IndexOf(Supported, Nullable.GetUnderlyingType(t) ?? t) >= 0;

    // Parquet.Net 6 reports string columns as ReadOnlyMemory<char>.
    static bool IsString(Type t) => t == typeof(string) || t == typeof(ReadOnlyMemory<char>);

    static async Task<JsonNode?[][]> ReadGroup(ParquetReader parquet, int group, List<DataField> fields)
    {
        using var rg = parquet.OpenRowGroupReader(group);
        int n = checked((int)rg.RowCount);
        var result = new JsonNode?[fields.Count][];
        for (int c = 0; c < fields.Count; c++)
        {
            var f = fields[c];
            var t = Nullable.GetUnderlyingType(f.ClrType) ?? f.ClrType;
            result[c] = IsString(t) ? await Strings(rg, f, n)
                : t == typeof(bool) ? await Values<bool>(rg, f, n)
                : t == typeof(int) ? await Values<int>(rg, f, n)
                : t == typeof(long) ? await Values<long>(rg, f, n)
                : t == typeof(short) ? await Values<short>(rg, f, n)
                : t == typeof(sbyte) ? await Values<sbyte>(rg, f, n)
                : t == typeof(byte) ? await Values<byte>(rg, f, n)
                : t == typeof(float) ? await Values<float>(rg, f, n)
                : await Values<double>(rg, f, n);
        }
        return result;
    }

    static async Task<JsonNode?[]> Strings(ParquetRowGroupReader rg, DataField f, int n)
    {
        var buf = new string?[n];
        await rg.ReadAsync(f, buf.AsMemory(), null);
        return Array.ConvertAll(buf, s => s is null ? null : (JsonNode?)JsonValue.Create(s));
    }

    static async Task<JsonNode?[]> Values<T>(ParquetRowGroupReader rg, DataField f, int n) where T : struct
    {
        if (f.IsNullable)
        {
            var buf = new T?[n];
            await rg.ReadAsync(f, buf.AsMemory(), null);
            return Array.ConvertAll(buf, v => v.HasValue ? (JsonNode?)JsonValue.Create(v.Value) : null);
        }
        var values = new T[n];
        await rg.ReadAsync(f, values.AsMemory(), null);
        return Array.ConvertAll(values, v => (JsonNode?)JsonValue.Create(v));
    }
}
