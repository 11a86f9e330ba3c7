using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Azure.Data.Tables;
using CsvHelper;

namespace WatchStat.Reports;

/// <summary>Writes viewer rows one at a time as they stream from the table; nothing is collected.</summary>
public interface IViewerRowWriter : IAsyncDisposable
{
    Task WriteAsync(TableEntity row, CancellationToken cancellationToken);

    /// <summary>Ends the document (the JSON array's bracket) and flushes everything to the stream.</summary>
    Task CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>The columns of an export: the README's data contract, plus App, in the contract's order.</summary>
public static class ExportColumns
{
    public static IReadOnlyList<string> Names { get; } =
    [
        "LivingId", "CorpId", "ViewerType", "UserId", "ExternalUserId", "ExternalType", "Name", "WatchTimeSeconds", "IsComment", "IsMic",
        "InvitorUserId", "InvitorExternalUserId", "App", "RunId", "HarvestedAt",
    ];

    /// <summary>The JSON name of a column: camelCase, as everywhere else the app writes JSON.</summary>
    public static string JsonName(string column) => JsonNamingPolicy.CamelCase.ConvertName(column);

    /// <param name="raw">
    /// CSV only: write text exactly as stored, without the formula escaping (<see cref="CsvViewerWriter"/>). JSON is
    /// always exact.
    /// </param>
    public static IViewerRowWriter Create(string format, Stream output, bool raw = false) => format switch
    {
        ExportFormats.Csv => new CsvViewerWriter(output, raw),
        ExportFormats.Json => new JsonViewerWriter(output),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "csv or json"),
    };
}

public static class ExportFormats
{
    public const string Csv = "csv";
    public const string Json = "json";
}

/// <summary>
/// RFC 4180 CSV through CsvHelper: UTF-8 with a byte order mark (Excel reads Chinese names right only then), CRLF
/// records, a header, invariant numbers, <c>true</c>/<c>false</c>, ISO 8601 times, empty fields for absent values.
/// <para>
/// Viewers choose their own names, and a spreadsheet runs a cell that starts with <c>= + - @</c>, a tab or a CR as a
/// formula (CSV injection: <c>=HYPERLINK(...)</c> in a name is a link in the operator's Excel). So by default every
/// text field (names, ids, the app: anything but numbers, flags and times) that starts with one of those is written
/// with a <c>'</c> in front, and quoted (CsvHelper's <see cref="CsvInjection.Escape"/>, OWASP's rule): Excel shows it
/// as text, without the quote. Such a field reads back with the <c>'</c>; <c>raw</c> (the CLI's
/// <c>--raw</c>, the route's <c>raw=true</c>) writes every value exactly as stored, for programs rather than
/// spreadsheets. The JSON export is always exact.
/// </para>
/// </summary>
public sealed class CsvViewerWriter : IViewerRowWriter
{
    private readonly CsvWriter _csv;

    public CsvViewerWriter(Stream output, bool raw = false)
    {
        // leaveOpen: stdout belongs to the process, a file to the caller.
        _csv = CsvWriter.Create(output, new CsvWriterOptions
        {
            WriteByteOrderMark = true,
            NewLine = "\r\n",
            // Fields with a separator, quote, CR or LF are always quoted; also those with a space at either end,
            // so readers that trim unquoted fields keep ids such as "zhang wei" intact.
            Quoting = CsvQuoting.WhenNeededOrWhitespace,
            TrueValue = "true",
            FalseValue = "false",
            FormatProvider = CultureInfo.InvariantCulture,
            // CsvHelper's defaults are OWASP's: '=', '@', '+', '-', tab and CR, escaped with a leading '\''. Numbers are
            // written as numbers and never escaped, so a negative count stays a number.
            Injection = raw ? CsvInjection.None : CsvInjection.Escape,
        }, leaveOpen: true);
        // The header (and the BOM) go out even when no row follows, so an empty export still opens as UTF-8.
        _csv.WriteHeader([.. ExportColumns.Names]);
    }

    public async Task WriteAsync(TableEntity row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        foreach (var column in ExportColumns.Names)
        {
            // By the type the table holds, so a number stays a number and a time is ISO 8601 ("O").
            switch (row.TryGetValue(column, out var value) ? value : null)
            {
                case null: _csv.WriteField((string?)null); break;
                case string text: _csv.WriteField(text); break;
                case bool flag: _csv.WriteField(flag); break;
                case int number: _csv.WriteField(number, default); break;
                case long number: _csv.WriteField(number, default); break;
                case double number: _csv.WriteField(number, default); break;
                case DateTimeOffset time: _csv.WriteField(time, default); break;
                case DateTime time: _csv.WriteField(new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)), default); break;
                case var other: _csv.WriteField(Convert.ToString(other, CultureInfo.InvariantCulture)); break;
            }
        }
        await _csv.EndRecordAsync(cancellationToken);
    }

    public async Task CompleteAsync(CancellationToken cancellationToken) => await _csv.FlushAsync(cancellationToken);

    public ValueTask DisposeAsync() => _csv.DisposeAsync();
}

/// <summary>
/// A JSON array of one object per row, one object per line, written with <see cref="Utf8JsonWriter"/> into a
/// small buffer that goes to the stream whenever it fills: the array is never built in memory. Every column is
/// present in every object, null when the row lacks it.
/// </summary>
public sealed class JsonViewerWriter : IViewerRowWriter
{
    private const int FlushAt = 64 * 1024;

    private static readonly JsonEncodedText[] Names = [.. ExportColumns.Names.Select(c => JsonEncodedText.Encode(ExportColumns.JsonName(c)))];

    private readonly Stream _output;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushAt * 2);
    private readonly Utf8JsonWriter _json;
    private bool _first = true;

    public JsonViewerWriter(Stream output)
    {
        _output = output;
        // Chinese names stay readable; the relaxed encoder is "unsafe" only for embedding in HTML, which this is not.
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _buffer.Write("["u8);
    }

    public async Task WriteAsync(TableEntity row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        _buffer.Write(_first ? "\n"u8 : ",\n"u8);
        _first = false;
        // Each object is a JSON document of its own to the writer; the separators between them are ours.
        _json.Reset();
        _json.WriteStartObject();
        for (var i = 0; i < Names.Length; i++)
        {
            var name = Names[i];
            switch (row.TryGetValue(ExportColumns.Names[i], out var value) ? value : null)
            {
                case null: _json.WriteNull(name); break;
                case string text: _json.WriteString(name, text); break;
                case bool flag: _json.WriteBoolean(name, flag); break;
                case int number: _json.WriteNumber(name, number); break;
                case long number: _json.WriteNumber(name, number); break;
                case double number: _json.WriteNumber(name, number); break;
                case DateTimeOffset time: _json.WriteString(name, time); break;
                case DateTime time: _json.WriteString(name, new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc))); break;
                case var other: _json.WriteString(name, Convert.ToString(other, CultureInfo.InvariantCulture)); break;
            }
        }
        _json.WriteEndObject();
        await _json.FlushAsync(cancellationToken);
        if (_buffer.WrittenCount >= FlushAt) await DrainAsync(cancellationToken);
    }

    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        _buffer.Write("\n]\n"u8);
        await DrainAsync(cancellationToken);
        await _output.FlushAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => _json.DisposeAsync();

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        await _output.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        _buffer.ResetWrittenCount();
    }
}
