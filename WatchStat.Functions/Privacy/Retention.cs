using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Privacy;

/// <summary>What one retention pass did, in counts (never ids).</summary>
/// <param name="Lives">Lives whose rows were deleted.</param>
/// <param name="Kept">Lives dated before the cutoff that had not ended before it, or had a run queued or running.</param>
/// <param name="Left">Lives left for the next pass because this one ran out of time.</param>
public sealed record RetentionResult(int Lives, int ViewerRows, int HarvestRows, int LivingsRows, int IndexEntries, int Kept, int Left)
{
    public static readonly RetentionResult Off = new(0, 0, 0, 0, 0, 0, 0);
}

/// <summary>
/// <c>Harvest:RetentionDays</c>: deletes everything stored about a live once it ended more than that many days ago.
/// </summary>
/// <remarks>
/// <para>
/// <b>Finding them</b> never scans a table: the candidates are one range of the <c>Livings</c> index of lives by date
/// (<see cref="LivingStore.DatesPartition"/>), the entries dated before the cutoff (now − retention). A live's date (its
/// start, else its reserved start, else its arrival) is never after its end, so every live that ended before the
/// cutoff is in that range; each candidate costs two point reads (its Livings and status rows) to decide.
/// </para>
/// <para>
/// <b>A live's end</b>: <c>LivingStart</c> + <c>LivingDurationSeconds</c> from its Livings row when it has a start;
/// otherwise (never discovered, or never started) its harvest's <c>CompletedAt</c>, else the status row's last
/// <c>UpdatedAt</c> (a failed run); otherwise (no harvest either) its date. A live with a run queued or running is
/// never deleted under the run, not even one a pass had decided on: it waits for the next pass.
/// </para>
/// <para>
/// <b>Deleting</b>, partition by partition in transactions of 100 (<see cref="TableBatches"/>): first the live's index
/// entries found in the range are marked <c>ExpiredAt</c> (the decision, so a rerun finishes without deciding again);
/// then its viewer rows (<c>WatchStats</c>), its <c>Harvests</c> partition (page records, then the status row), its
/// entries in the other indexes (<c>%active</c>, <c>%awaiting-ticket</c>, <c>%arrivals</c>, the <c>%dates</c> entries of
/// its known dates), its <c>Livings</c> partition (the info row and the callback events' rows), and last the marked
/// entries. A crash anywhere leaves a marked entry, and the next pass finishes the job; every step finds rows already
/// gone and goes on. Every pass also prunes the <c>%arrivals</c> entries from before the cutoff. A <c>%dates</c> entry of
/// an earlier date of the live (a moved reservation, an earlier arrival) that the Livings row no longer names goes when
/// its own date passes the cutoff: by then it names a live with nothing left.
/// </para>
/// </remarks>
public sealed partial class Retention(
    HarvestStore store,
    LivingStore livings,
    IOptions<HarvestOptions> options,
    TimeProvider time,
    ILogger<Retention> logger)
{
    /// <summary>A pass stops taking up lives after this long (Flex Consumption's default timeout is 30 minutes); the next pass goes on.</summary>
    public static readonly TimeSpan MaxPassTime = TimeSpan.FromMinutes(20);

    public const string ExpiredAtProperty = "ExpiredAt";

    public async Task<RetentionResult> ExpireAsync(CancellationToken cancellationToken)
    {
        if (options.Value.RetentionDays is not { } days) return RetentionResult.Off;
        await store.EnsureCreatedAsync(cancellationToken);
        var started = time.GetUtcNow();
        var cutoff = started.AddDays(-days);
        var entries = await livings.DatedAsync(DateTimeOffset.MinValue, cutoff, cancellationToken);
        var (lives, viewerRows, harvestRows, livingsRows, indexEntries, kept, left) = (0, 0, 0, 0, 0, 0, 0);
        foreach (var group in entries.GroupBy(e => e.Live))
        {
            if (time.GetUtcNow() - started > MaxPassTime)
            {
                left++;
                continue;
            }
            var found = group.Select(e => e.Entry).ToList();
            var marked = found.Any(e => e.GetDateTimeOffset(ExpiredAtProperty) is not null);
            var info = await livings.GetAsync(group.Key, cancellationToken);
            var status = await store.GetAsync(group.Key, cancellationToken);
            if (status?.State is HarvestStates.Queued or HarvestStates.Running)
            {
                kept++; // never under a run, even one started since a pass decided (it goes on at the next pass)
                continue;
            }
            if (!marked)
            {
                if (EndOf(info, status, group.Min(e => e.Date)) >= cutoff)
                {
                    kept++;
                    // An entry whose date is no longer the live's (as the lives overview removes them) would be read every day.
                    if (info is not null && LivingStore.DateOf(info) is { } date)
                    {
                        foreach (var stale in group.Where(e => e.Date != date)) await livings.ForgetDateAsync(stale.Entry, cancellationToken);
                    }
                    continue;
                }
                foreach (var entry in found)
                {
                    // An update, not an upsert: an entry the lives overview removed meanwhile must not come back half-made.
                    await OptimisticConcurrency.TryWriteAsync(() => livings.Livings.UpdateEntityAsync(
                        new TableEntity(entry.PartitionKey, entry.RowKey) { [ExpiredAtProperty] = started }, Azure.ETag.All, TableUpdateMode.Merge, cancellationToken));
                }
            }

            var live = group.Key;
            var partition = live.PartitionKey;
            viewerRows += await TableBatches.DeleteAsync(
                store.WatchStats, TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken);
            harvestRows += await TableBatches.DeleteAsync(
                store.Harvests, TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken);
            foreach (var index in new[] { HarvestStore.ActivePartition, HarvestStore.AwaitingTicketPartition })
            {
                if (await TableBatches.DeleteIfExistsAsync(store.Harvests, index, partition, cancellationToken)) indexEntries++;
            }
            if (info is not null)
            {
                var foundKeys = found.Select(e => e.RowKey).ToHashSet(StringComparer.Ordinal);
                var app = info.GetString("App") ?? "";
                var others = new List<(string Partition, string RowKey)>();
                foreach (var date in new[] { info.GetDateTimeOffset("LivingStart"), info.GetDateTimeOffset("ReserveStart"), info.GetDateTimeOffset("ArrivedAt") })
                {
                    if (date is { } at && LivingStore.DateEntry(live, app, at).RowKey is var key && !foundKeys.Contains(key)) others.Add((LivingStore.DatesPartition, key));
                }
                if (info.GetDateTimeOffset("ArrivedAt") is { } arrived)
                    others.Add((LivingStore.ArrivalsPartition, LivingStore.ArrivalEntry(live, app, "", arrived).RowKey));
                foreach (var (indexPartition, rowKey) in others.Distinct())
                {
                    if (await TableBatches.DeleteIfExistsAsync(livings.Livings, indexPartition, rowKey, cancellationToken)) indexEntries++;
                }
            }
            livingsRows += await TableBatches.DeleteAsync(
                livings.Livings, TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken);
            foreach (var entry in found)
            {
                if (await TableBatches.DeleteIfExistsAsync(livings.Livings, entry.PartitionKey, entry.RowKey, cancellationToken)) indexEntries++;
            }
            lives++;
        }

        // Arrivals from before the cutoff, of lives gone or not (an earlier arrival of a live is not on its row any more):
        // the nightly harvest prunes them past its lookback window already, which is shorter than retention.
        indexEntries += await livings.PruneArrivalsAsync(cutoff, cancellationToken);

        var result = new RetentionResult(lives, viewerRows, harvestRows, livingsRows, indexEntries, kept, left);
        LogPass(days, lives, viewerRows, harvestRows, livingsRows, indexEntries, kept, left);
        return result;
    }

    /// <summary>
    /// Whether WeCom's details of a live say that retention would delete it at <paramref name="now"/>: the nightly
    /// discovery, which lists an anchor's old lives again, does not store those (their rows would only be deleted again).
    /// </summary>
    public static bool IsExpired(LivingInfo info, DateTimeOffset now, HarvestOptions options) =>
        options.RetentionDays is { } days
        && (info.LivingStart > 0 ? info.LivingStart + Math.Max(0, info.LivingDuration) : info.ReserveStart) is > 0 and var end
        && DateTimeOffset.FromUnixTimeSeconds(end) < now.AddDays(-days);

    /// <summary>When a live ended, for retention (see the remarks).</summary>
    public static DateTimeOffset EndOf(TableEntity? info, HarvestRecord? status, DateTimeOffset date)
    {
        if (info?.GetDateTimeOffset("LivingStart") is { } start)
            return start.AddSeconds(Math.Max(0, info.GetInt32("LivingDurationSeconds") ?? 0));
        if (status is not null) return status.CompletedAt ?? status.UpdatedAt;
        return info is null ? date : LivingStore.DateOf(info) ?? date;
    }

    // Counts only: which lives went is not logged, nor anyone's id.
    [LoggerMessage(Level = LogLevel.Information, Message = "Retention ({Days} days): {Lives} lives deleted ({ViewerRows} viewer rows, {HarvestRows} Harvests rows, {LivingsRows} Livings rows, {IndexEntries} index entries); {Kept} dated before the cutoff kept (not ended before it, or being harvested); {Left} left for the next pass")]
    private partial void LogPass(int days, int lives, int viewerRows, int harvestRows, int livingsRows, int indexEntries, int kept, int left);
}
