using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.Storage;

namespace WatchStat.Harvest;

/// <summary>A run the sweeper found stalled and sent its current page again.</summary>
public sealed record RedrivenRun(string LivingId, string RunId, int Page, TimeSpan Stalled);

/// <summary>
/// The second line behind the queue. A run queued or running that has shown no sign of life for
/// <c>Harvest:StallSeconds</c> gets its current page sent again: a lost message, or an instance that died holding one
/// (the queue hides a message its listener took for 10 minutes, and a dead listener cannot give it back). Signs of life
/// are the status row's <c>UpdatedAt</c> (every page, every failed delivery), a throttled page's <c>ThrottledUntil</c>
/// (it is not due before then) and the sweeper's own last re-drive, so a run is re-driven at most once per stall
/// period. The page step's guard makes the copy harmless if the original turns up after all.
/// </summary>
/// <remarks>
/// It reads the index of active runs (<see cref="HarvestStore.ActivePartition"/>: one partition query, one
/// transaction per 1,000 runs) and each listed run's status row, never the whole table: with no run active a sweep
/// costs one storage transaction.
/// </remarks>
public sealed partial class StalledRunSweeper(
    HarvestStore store,
    HarvestPageSender sender,
    IOptions<HarvestOptions> options,
    TimeProvider time,
    ILogger<StalledRunSweeper> logger)
{
    /// <summary>An index entry whose run has ended is removed once it is this old: its run's start is long over.</summary>
    public static readonly TimeSpan LeftoverAge = TimeSpan.FromMinutes(10);

    public async Task<IReadOnlyList<RedrivenRun>> SweepAsync(CancellationToken cancellationToken)
    {
        await store.EnsureCreatedAsync(cancellationToken);
        var now = time.GetUtcNow();
        var stallAfter = options.Value.StallAfter;
        var redriven = new List<RedrivenRun>();
        await foreach (var entry in store.ActiveEntriesAsync(cancellationToken))
        {
            // An entry from before corp keys (no CorpId) is left for `watchstat migrate`, which rewrites it.
            if (!entry.ContainsKey("CorpId")) continue;
            var run = LiveKey.TryParse(entry.RowKey, out var live) ? await store.GetAsync(live, cancellationToken) : null;
            if (run is null || !HarvestStates.IsActive(run.State))
            {
                // Its end could not take it off the index, or its start died before the status row: not active.
                if (now - (entry.Timestamp ?? now) > LeftoverAge) await store.RemoveIndexEntryAsync(entry, cancellationToken);
                continue;
            }

            var alive = Latest(run.UpdatedAt, run.ThrottledUntil, run.RedrivenAt);
            if (now - alive < stallAfter) continue;
            // Mark it first, under its ETag: if the run moved meanwhile, it is not stalled and the write fails.
            run.RedrivenAt = now;
            if (!await store.TryReplaceAsync(run, cancellationToken)) continue;
            var next = HarvestRuns.NextPageOf(run);
            await sender.SendAsync(next, delay: null, cancellationToken);
            var stalled = now - alive;
            LogRedriven(run.LivingId, run.RunId, next.Page, stalled.TotalSeconds);
            redriven.Add(new RedrivenRun(run.LivingId, run.RunId, next.Page, stalled));
        }
        return redriven;
    }

    private static DateTimeOffset Latest(DateTimeOffset first, params DateTimeOffset?[] others) =>
        others.Aggregate(first, (latest, other) => other is { } value && value > latest ? value : latest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Harvest {LivingId} run {RunId} showed no sign of life for {Seconds:0} s at page {Page}; its page was sent again")]
    private partial void LogRedriven(string livingId, string runId, int page, double seconds);
}
