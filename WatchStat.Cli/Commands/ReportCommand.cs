using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Cli.Reporting;
using WatchStat.Reports;
using WatchStat.Storage;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat report &lt;livingid&gt; [--json]</c>: who watched and how long, from the live's viewer rows (streamed,
/// see <see cref="LiveReport"/>) and its duration in the Livings table.
/// </summary>
public sealed class ReportCommand : AsyncCommand<ReportCommand.Settings>
{
    public sealed class Settings : LivingIdSettings
    {
        [CommandOption("--json")]
        [Description("Write the figures as JSON (camelCase; the shape is in the README) instead of tables.")]
        public bool Json { get; init; }

        [CommandOption("--html <FILE>")]
        [Description("Write the report page (self-contained HTML, as GET /api/lives/{livingid}/report serves it) to FILE, and the viewers' CSV beside it (FILE with .csv), which its download link opens.")]
        public string? Html { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var livingId = settings.LivingId;
        if (CliHost.ResolveLive(settings) is not { } live) return ExitCodes.Usage;
        if (settings.Html is not null && settings.Json)
        {
            CliHost.Stderr.MarkupLine("[red]error:[/] --html and --json write different things: give one of them.");
            return ExitCodes.Usage;
        }
        var storage = CliHost.OpenStorage();
        var store = new HarvestStore(storage);
        if (settings.Html is { } file) return await WriteHtmlAsync(live, file, store, new LivingStore(storage), cancellationToken);
        var status = await store.GetAsync(live, cancellationToken);
        var info = await new LivingStore(storage).GetAsync(live, cancellationToken);
        var duration = info?.GetInt32("LivingDurationSeconds") is > 0 and var seconds ? seconds : (int?)null;

        // Progress goes to stderr: with --json stdout is the data, and without it the tables come after anyway.
        var report = new LiveReport(livingId, duration);
        await RowProgress.RunAsync(CliHost.Stderr, $"Reading the viewers of live {livingId}", async progress =>
        {
            await foreach (var row in store.ReadRowsAsync(live, cancellationToken))
            {
                report.Add(row);
                if (report.Viewers % RowProgress.ReportEvery == 0) progress(report.Viewers);
            }
            progress(report.Viewers);
            return report.Viewers;
        });

        if (report.Viewers == 0 && status is null)
        {
            (settings.Json ? CliHost.Stderr : AnsiConsole.Console).MarkupLineInterpolated(
                $"[red]error:[/] live '{livingId}' is unknown: it has no harvest status and no viewer rows.");
            return ExitCodes.Failed;
        }

        var result = report.Build();
        if (settings.Json)
        {
            await JsonOutput.WriteAsync(result, cancellationToken);
            return ExitCodes.Ok;
        }

        Write(result, info?.GetString("Theme"));
        if (status is not null && status.State != HarvestStates.Completed)
            AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] run {status.RunId} is {status.State}: the figures are of the rows written so far.");
        return ExitCodes.Ok;
    }

    /// <summary>The report page to a file, and the CSV export of the same rows beside it for the page's download link.</summary>
    private static async Task<int> WriteHtmlAsync(LiveKey live, string file, HarvestStore store, LivingStore livings, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(file);
        if (Path.GetDirectoryName(path) is { } directory && !Directory.Exists(directory))
        {
            CliHost.Stderr.MarkupLineInterpolated($"[red]error:[/] the folder of '{file}' does not exist.");
            return ExitCodes.Usage;
        }
        var data = await RowProgress.RunAsync(CliHost.Stderr, $"Reading the viewers of live {live.LivingId}", progress =>
            new LiveReports(store, livings).ReadAsync(live, "default", count => progress(count), cancellationToken));
        if (data is null)
        {
            CliHost.Stderr.MarkupLineInterpolated($"[red]error:[/] live '{live.LivingId}' is unknown: it has no harvest status and no viewer rows.");
            return ExitCodes.Failed;
        }
        var csv = Path.ChangeExtension(path, ".csv");
        if (string.Equals(csv, path, StringComparison.Ordinal)) csv = path + ".csv";
        await using (var output = File.Create(csv))
        {
            await using var writer = ExportColumns.Create(ExportFormats.Csv, output);
            await foreach (var row in store.ReadRowsAsync(live, cancellationToken)) await writer.WriteAsync(row, cancellationToken);
            await writer.CompleteAsync(cancellationToken);
        }
        await using (var page = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false)))
        {
            await ReportPage.WriteAsync(page, data.Live, data.Report, data.Viewers, Uri.EscapeDataString(Path.GetFileName(csv)), cancellationToken);
        }
        AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{path}[/] ({data.Viewers.Count:N0} viewers) and its CSV, [bold]{csv}[/].");
        return ExitCodes.Ok;
    }

    private static void Write(LiveReportResult report, string? theme)
    {
        AnsiConsole.MarkupLineInterpolated($"[bold]live {report.LivingId}[/]{(theme is null ? "" : $" — {theme}")}");
        AnsiConsole.MarkupLineInterpolated(
            $"duration: {(report.DurationSeconds is { } d ? $"{TimeSpan.FromSeconds(d):g}" : "unknown (no Livings row with LivingDurationSeconds)")}");

        var figures = new Table().AddColumns("", "members", "external", "all");
        foreach (var column in figures.Columns.Skip(1)) column.RightAligned();
        var groups = new[] { report.Members, report.Externals, report.All };
        void Row(string label, Func<ViewerFigures, string> cell) => figures.AddRow([label, .. groups.Select(cell)]);
        Row("viewers", f => $"{f.Viewers:N0}");
        Row("watch time (hours)", f => $"{f.WatchTimeSeconds / 3600.0:N1}");
        Row("mean watch time (min)", f => $"{f.MeanWatchTimeSeconds / 60:N1}");
        Row("median watch time (min)", f => $"{f.MedianWatchTimeSeconds / 60:N1}");
        Row("watched at least half", f => f.WatchedHalf is { } half ? $"{half:N0} ({f.WatchedHalfShare:P1})" : "unknown");
        Row("commented", f => $"{f.Commenters:N0}");
        Row("spoke on the mic", f => $"{f.MicSpeakers:N0}");
        AnsiConsole.Write(figures);

        var chart = new BarChart()
            .Label(report.Histogram.Basis == "duration" ? "viewers by share of the live watched" : "viewers by watch time")
            .LeftAlignLabel()
            .Width(Math.Min(80, AnsiConsole.Profile.Width))
            .ShowValues();
        foreach (var bucket in report.Histogram.Buckets) chart.AddItem(bucket.Label, bucket.Viewers, Color.SteelBlue);
        AnsiConsole.WriteLine();
        AnsiConsole.Write(chart);

        if (report.Inviters is not { } inviters) return;
        AnsiConsole.WriteLine();
        var top = new Table()
            .Title($"top inviters: {inviters.ViewersWithInvitor:N0} viewers came through {inviters.Inviters:N0} inviters")
            .AddColumns("#", "inviter", "kind", "viewers brought", "their watch time (hours)");
        top.Columns[0].RightAligned();
        top.Columns[3].RightAligned();
        top.Columns[4].RightAligned();
        foreach (var inviter in inviters.Top)
            top.AddRow($"{inviter.Rank}", Markup.Escape(inviter.Id), inviter.Kind, $"{inviter.Viewers:N0}", $"{inviter.WatchTimeSeconds / 3600.0:N1}");
        AnsiConsole.Write(top);
    }
}
