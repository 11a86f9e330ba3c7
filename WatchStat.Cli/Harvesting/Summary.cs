using Spectre.Console;
using WatchStat.Cli.Reporting;
using WatchStat.Reports;
using WatchStat.Storage;

namespace WatchStat.Cli.Harvesting;

/// <summary>A short account of a completed run, read back from the table, and where its rows are.</summary>
public static class Summary
{
    public static async Task WriteAsync(HarvestStore store, HarvestRecord status, CancellationToken cancellationToken)
    {
        // The same figures as `watchstat report`, of this run's rows only.
        var report = new LiveReport(status.LivingId, durationSeconds: null);
        await foreach (var row in store.ReadRowsAsync(status.Live, cancellationToken))
        {
            if (row.GetString("RunId") == status.RunId) report.Add(row);
        }
        var figures = report.Build();
        var (members, externals, all) = (figures.Members, figures.Externals, figures.All);

        var elapsed = (status.CompletedAt ?? status.UpdatedAt) - status.StartedAt;
        var table = new Table().Title($"live {Markup.Escape(status.LivingId)}, run {Markup.Escape(status.RunId)}")
            .AddColumns("", "members", "external", "all");
        table.AddRow("viewers", $"{members.Viewers:N0}", $"{externals.Viewers:N0}", $"{all.Viewers:N0}");
        table.AddRow("watch time (hours)", $"{members.WatchTimeSeconds / 3600.0:N1}", $"{externals.WatchTimeSeconds / 3600.0:N1}", $"{all.WatchTimeSeconds / 3600.0:N1}");
        table.AddRow("commented", "", "", $"{all.Commenters:N0}");
        table.AddRow("spoke on the mic", "", "", $"{all.MicSpeakers:N0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"Completed: {status.PagesDone:N0} pages, {all.Viewers:N0} viewers in {elapsed.TotalSeconds:N1} s ({all.Viewers / Math.Max(elapsed.TotalSeconds, 0.001):N0} viewers/s).");
        AnsiConsole.MarkupLineInterpolated(
            $"Rows: table {ViewerRows.TableName}, PartitionKey '{status.PartitionKey}', at {store.WatchStats.Uri}; status: table {HarvestRecord.TableName}.");
    }
}
