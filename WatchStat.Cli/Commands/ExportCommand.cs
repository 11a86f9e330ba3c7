using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Cli.Reporting;
using WatchStat.Reports;
using WatchStat.Storage;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat export &lt;livingid&gt; [--format csv|json] [--raw] [--out FILE]</c>: every viewer row of the live, streamed
/// from the table page by page and written as it comes (never all in memory), to stdout or a file. CSV text that a
/// spreadsheet would run as a formula gets a leading <c>'</c> unless <c>--raw</c> (see <see cref="CsvViewerWriter"/>).
/// </summary>
public sealed class ExportCommand : AsyncCommand<ExportCommand.Settings>
{
    public const string Usage = "watchstat export <livingid> [--format csv|json] [--raw] [--out FILE]";

    public sealed class Settings : LivingIdSettings
    {
        [CommandOption("--format <FORMAT>")]
        [Description("csv (UTF-8 with BOM, RFC 4180; the default) or json (an array of objects).")]
        [DefaultValue(ExportFormats.Csv)]
        public string Format { get; init; } = ExportFormats.Csv;

        [CommandOption("--raw")]
        [Description("CSV: write names and ids exactly as stored. Without it, a field that starts with = + - @, a tab or a CR gets a leading ' so a spreadsheet shows it as text instead of running it as a formula.")]
        public bool Raw { get; init; }

        [CommandOption("--out <FILE>")]
        [Description("Write to this file (replaced when the export completes) instead of stdout.")]
        public string? Out { get; init; }

        public override ValidationResult Validate()
        {
            if (base.Validate() is { Successful: false } wrong) return wrong;
            if (!string.Equals(Format, ExportFormats.Csv, StringComparison.OrdinalIgnoreCase) && !string.Equals(Format, ExportFormats.Json, StringComparison.OrdinalIgnoreCase))
                return ValidationResult.Error($"--format must be csv or json; it was '{Format}'. Usage: {Usage}");
            if (Out is { Length: 0 }) return ValidationResult.Error($"--out needs a file name. Usage: {Usage}");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // stdout may be the data: everything for people goes to stderr.
        var console = CliHost.Stderr;
        var format = settings.Format.ToLowerInvariant();
        var livingId = settings.LivingId;
        if (CliHost.ResolveLive(settings, console: console) is not { } live) return ExitCodes.Usage;

        // A file is written under a temporary name and moved into place at the end, so a failed or unknown
        // export never leaves a truncated file where a good one is expected.
        string? partial = null;
        Stream output;
        if (settings.Out is { } path)
        {
            partial = path + ".partial";
            try
            {
                output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.Asynchronous);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                console.MarkupLineInterpolated($"[red]error:[/] cannot write {path}: {ex.Message}");
                return ExitCodes.Usage;
            }
        }
        else
        {
            output = Console.OpenStandardOutput();
        }

        var completed = false;
        try
        {
            var store = new HarvestStore(CliHost.OpenStorage());
            var status = await store.GetAsync(live, cancellationToken); // creates the tables if this storage has none yet

            var written = await RowProgress.RunAsync(console, $"Exporting live {livingId} as {format}", async report =>
            {
                await using var rows = store.ReadRowsAsync(live, cancellationToken).GetAsyncEnumerator(cancellationToken);
                // The first page decides whether the live is known before a byte is written.
                var more = await rows.MoveNextAsync();
                if (!more && status is null) return (long?)null;

                await using var writer = ExportColumns.Create(format, output, settings.Raw);
                long count = 0;
                for (; more; more = await rows.MoveNextAsync())
                {
                    await writer.WriteAsync(rows.Current, cancellationToken);
                    if (++count % RowProgress.ReportEvery == 0) report(count);
                }
                await writer.CompleteAsync(cancellationToken);
                report(count);
                return count;
            });

            if (written is not { } count)
            {
                console.MarkupLineInterpolated($"[red]error:[/] live '{livingId}' is unknown: it has no harvest status and no viewer rows.");
                return ExitCodes.Failed;
            }

            if (partial is not null)
            {
                await output.DisposeAsync();
                File.Move(partial, settings.Out!, overwrite: true);
                completed = true;
                console.MarkupLineInterpolated($"Exported {count:N0} viewer rows of live {livingId} to {settings.Out} ({format}).");
            }
            else
            {
                completed = true;
                console.MarkupLineInterpolated($"Exported {count:N0} viewer rows of live {livingId} ({format}).");
            }
            if (status is null)
                console.MarkupLineInterpolated($"[yellow]note:[/] live {livingId} has rows but no harvest status row.");
            else if (status.State != HarvestStates.Completed)
                console.MarkupLineInterpolated($"[yellow]note:[/] run {status.RunId} is {status.State}: the export has the rows written so far.");
            return ExitCodes.Ok;
        }
        finally
        {
            if (partial is not null)
            {
                await output.DisposeAsync();
                if (!completed) File.Delete(partial);
            }
        }
    }
}
