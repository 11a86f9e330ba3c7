using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.Storage;

namespace WatchStat.Harvest;

/// <summary>A run the sweeper found stalled and sent its current page again.</summary>
public sealed record RedrivenRun(string LivingId, string RunId, int Page, TimeSpan Stalled);

/// <summary>
/// The second line behind the queue: a run queued or running whose checkpoint has not moved for
/// <c>Harvest:StallMinutes</c> (a lost message, an instance that died holding one) gets its current page sent again.
/// The page step's guard makes the copy harmless if the original turns up after all. A run is re-driven at most
/// once per stall period.
/// </summary>
public sealed partial class StalledRunSweeper(
    HarvestStore store,
    HarvestPageSender sender,
    IOptions<HarvestOptions> options,
    TimeProvider time,
    ILogger<StalledRunSweeper> logger)
{
    public async Task<IReadOnlyList<RedrivenRun>> SweepAsync(CancellationToken cancellationToken)
    {
        await store.EnsureCreatedAsync(cancellationToken);
        var now = time.GetUtcNow();
        var stallAfter = TimeSpan.FromMinutes(options.Value.StallMinutes);
        var cutoff = now - stallAfter;
        var filter = TableClient.CreateQueryFilter(
            $"RowKey eq {HarvestRecord.StatusRowKey} and (State eq {HarvestStates.Queued} or State eq {HarvestStates.Running}) and UpdatedAt lt {cutoff}");
        var redriven = new List<RedrivenRun>();
        await foreach (var run in store.Harvests.QueryAsync<HarvestRecord>(filter, cancellationToken: cancellationToken))
        {
            if (run.RedrivenAt is { } last && last > cutoff) continue;
            // Mark it first, under its ETag: if the run moved meanwhile, it is not stalled and the write fails.
            run.RedrivenAt = now;
            if (!await store.TryReplaceAsync(run, cancellationToken)) continue;
            var next = HarvestRuns.NextPageOf(run);
            await sender.SendAsync(next, delay: null, cancellationToken);
            var stalled = now - run.UpdatedAt;
            LogRedriven(run.LivingId, run.RunId, next.Page, stalled.TotalMinutes);
            redriven.Add(new RedrivenRun(run.LivingId, run.RunId, next.Page, stalled));
        }
        return redriven;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Harvest {LivingId} run {RunId} stalled for {Minutes:0} minutes at page {Page}; its page was sent again")]
    private partial void LogRedriven(string livingId, string runId, int page, double minutes);
}
