using System.Text.Encodings.Web;
using System.Text.Json;

namespace WatchStat.Cli.Reporting;

/// <summary>
/// JSON for machines on stdout: camelCase like the HTTP API (System.Text.Json's web defaults), indented, UTF-8
/// without a byte order mark, written straight to the standard output stream so nothing else can get in between.
/// </summary>
public static class JsonOutput
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // Chinese text stays readable; the relaxed encoder is "unsafe" only inside HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task WriteAsync<T>(T value, CancellationToken cancellationToken)
    {
        var stdout = Console.OpenStandardOutput();
        await JsonSerializer.SerializeAsync(stdout, value, Options, cancellationToken);
        await stdout.WriteAsync("\n"u8.ToArray(), cancellationToken);
        await stdout.FlushAsync(cancellationToken);
    }
}
