using WatchStat.Storage;

namespace WatchStat.Reports;

/// <summary>A live's report as its page needs it: its facts, its figures and its viewers (a few fields each).</summary>
public sealed record LiveReportData(LiveFacts Live, LiveReportResult Report, IReadOnlyList<ReportViewer> Viewers);

/// <summary>
/// Reads what a live's report is made of: its harvest status row, its Livings row, and its viewer rows, streamed
/// once (the figures and the page's viewer list are built as they come). Used by the report route and the CLI.
/// </summary>
public sealed class LiveReports(HarvestStore store, LivingStore livings)
{
    /// <summary>The live's report; null when the live is unknown (no status row and no viewer rows).</summary>
    /// <param name="app">The app to show when the status row does not name one.</param>
    public async Task<LiveReportData?> ReadAsync(LiveKey live, string app, Action<int>? progress, CancellationToken cancellationToken)
    {
        var status = await store.GetAsync(live, cancellationToken);
        var info = await livings.GetAsync(live, cancellationToken);
        var duration = info?.GetInt32("LivingDurationSeconds") is > 0 and var seconds ? seconds : (int?)null;
        var report = new LiveReport(live.LivingId, duration);
        var viewers = new List<ReportViewer>();
        await foreach (var row in store.ReadRowsAsync(live, cancellationToken))
        {
            var viewer = ReportViewer.From(row);
            report.Add(viewer);
            viewers.Add(viewer);
            if (viewers.Count % 500 == 0) progress?.Invoke(viewers.Count);
        }
        progress?.Invoke(viewers.Count);
        if (viewers.Count == 0 && status is null) return null;

        var facts = new LiveFacts(
            live.LivingId, live.CorpId, status?.App ?? info?.GetString("App") ?? app,
            info?.GetString("Theme"), info?.GetString("AnchorUserId"), info?.GetDateTimeOffset("LivingStart"), duration,
            status?.State, status?.State == HarvestStates.Failed ? status.LastErrorMessage : null, status?.CompletedAt ?? status?.UpdatedAt);
        return new LiveReportData(facts, report.Build(), viewers);
    }
}
