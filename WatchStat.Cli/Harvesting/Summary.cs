using Spectre.Console;
using WatchStat.Storage;

namespace WatchStat.Cli.Harvesting;

/// <summary>A short account of a completed run, read back from the table, and where its rows are.</summary>
public static class Summary
{
    public static async Task WriteAsync(HarvestStore store, HarvestRecord status, CancellationToken cancellationToken)
    {
        long members = 0, externals = 0, memberSeconds = 0, externalSeconds = 0, commenters = 0, speakers = 0;
        await foreach (var row in store.ReadRowsAsync(status.LivingId, cancellationToken))
        {
            if (row.GetString("RunId") != status.RunId) continue;
            var seconds = row.GetInt32("WatchTimeSeconds") ?? 0;
            if (ViewerRows.IsMemberRowKey(row.RowKey)) { members++; memberSeconds += seconds; }
            else { externals++; externalSeconds += seconds; }
            if (row.GetBoolean("IsComment") == true) commenters++;
            if (row.GetBoolean("IsMic") == true) speakers++;
        }

        var elapsed = (status.CompletedAt ?? status.UpdatedAt) - status.StartedAt;
        var table = new Table().Title($"live {Markup.Escape(status.LivingId)}, run {Markup.Escape(status.RunId)}")
            .AddColumns("", "members", "external", "all");
        table.AddRow("viewers", $"{members:N0}", $"{externals:N0}", $"{members + externals:N0}");
        table.AddRow("watch time (hours)", $"{memberSeconds / 3600.0:N1}", $"{externalSeconds / 3600.0:N1}", $"{(memberSeconds + externalSeconds) / 3600.0:N1}");
        table.AddRow("commented", "", "", $"{commenters:N0}");
        table.AddRow("spoke on the mic", "", "", $"{speakers:N0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"Completed: {status.PagesDone:N0} pages, {members + externals:N0} viewers in {elapsed.TotalSeconds:N1} s ({(members + externals) / Math.Max(elapsed.TotalSeconds, 0.001):N0} viewers/s).");
        AnsiConsole.MarkupLineInterpolated(
            $"Rows: table {ViewerRows.TableName}, PartitionKey '{TableKeys.Escape(status.LivingId)}', at {store.WatchStats.Uri}; status: table {HarvestRecord.TableName}.");
    }
}
