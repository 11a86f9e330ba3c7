using Azure;
using Azure.Data.Tables;
using WatchStat.Harvest;
using WatchStat.Storage;

namespace WatchStat.Privacy;

/// <summary>One person of one corp: a member (userid) or an external viewer (external_userid).</summary>
public readonly record struct Person(string CorpId, bool IsMember, string Id)
{
    /// <summary>Their viewer row's RowKey in every live.</summary>
    public string RowKey => IsMember ? ViewerRows.MemberRowKey(Id) : ViewerRows.ExternalRowKey(Id);

    /// <summary>The viewer-row property that names them as the one who invited a viewer.</summary>
    public string InviterProperty => IsMember ? "InvitorUserId" : "InvitorExternalUserId";
}

/// <summary>What forgetting a person changed, in counts.</summary>
/// <param name="LivesSearched">The corp's harvested lives (status rows) looked at.</param>
/// <param name="ViewerRows">Their own viewer rows deleted, one per live they watched.</param>
/// <param name="PageRecords">Page records rewritten without their line.</param>
/// <param name="InviterRows">Other viewers' rows that named them as inviter, the inviter now removed.</param>
/// <param name="StatusRows">Completed runs whose counts (viewers, watch time) were recounted without them.</param>
/// <param name="RunningLives">Lives of theirs with a run queued or running: counted again at the run's end, which may write them back.</param>
public sealed record ForgetResult(int LivesSearched, int ViewerRows, int PageRecords, int InviterRows, int StatusRows, int RunningLives);

/// <summary>
/// Forgets one person across every harvested live of their corp (<c>watchstat forget</c>).
/// </summary>
/// <remarks>
/// <para>
/// The lives are the corp's status rows in <c>Harvests</c> (one range query of the corp's PartitionKeys, which the
/// service may page as often as once per live; it reads the page records in that range too, and filters them out): every live with viewer rows has one, whereas the
/// <c>%dates</c> index misses lives harvested by <c>watchstat harvest</c> alone. Then per live: one filtered query of
/// its <c>WatchStats</c> partition for rows that name them as inviter (the service reads the partition), one point
/// read of their own row, and only where they watched: its page records read and the ones holding them rewritten,
/// the status row recounted, their row deleted.
/// </para>
/// <para>
/// Order, so that running it again finishes an interrupted run and is otherwise a no-op: inviter fields, then page
/// records, then counts, and their own row last (while it exists, the live is known to need the rest).
/// </para>
/// <para>
/// An inviter is removed, not replaced by a marker: the row then reads as one WeCom gave no inviter for, and a marker
/// common to everyone forgotten would show in the reports' top inviters as one big inviter.
/// </para>
/// </remarks>
public sealed class Forgetting(HarvestStore store)
{
    private const int Parallelism = 8;

    public async Task<ForgetResult> ForgetAsync(Person person, CancellationToken cancellationToken)
    {
        await store.EnsureCreatedAsync(cancellationToken);
        var prefix = TableKeys.Scoped(person.CorpId, ""); // "{corp}|": the first '|' ends the corp, so '}' bounds the range
        var lives = TableClient.CreateQueryFilter(
            $"PartitionKey ge {prefix} and PartitionKey lt {prefix[..^1] + "}"} and RowKey eq {HarvestRecord.StatusRowKey}");
        var (searched, viewerRows, pageRecords, inviterRows, statusRows, running) = (0, 0, 0, 0, 0, 0);
        var statuses = store.Harvests.QueryAsync<HarvestRecord>(lives, select: ["PartitionKey", "RowKey", "LivingId", "CorpId"], cancellationToken: cancellationToken);
        await Parallel.ForEachAsync(statuses, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (status, ct) =>
        {
            Interlocked.Increment(ref searched);
            var live = status.Live;
            Interlocked.Add(ref inviterRows, await RemoveAsInviterAsync(live, person, ct));
            var own = await store.WatchStats.GetEntityIfExistsAsync<TableEntity>(live.PartitionKey, person.RowKey, ["RowKey"], ct);
            if (!own.HasValue) return;
            Interlocked.Add(ref pageRecords, await store.RemoveFromPageRecordsAsync(live, person.RowKey, ct));
            var recount = await RecountAsync(live, ct);
            if (recount == Recount.Written) Interlocked.Increment(ref statusRows);
            if (recount == Recount.Running) Interlocked.Increment(ref running);
            if (await TableBatches.DeleteIfExistsAsync(store.WatchStats, live.PartitionKey, person.RowKey, ct)) Interlocked.Increment(ref viewerRows);
        });
        return new ForgetResult(searched, viewerRows, pageRecords, inviterRows, statusRows, running);
    }

    /// <summary>Removes the person as inviter from the live's other rows, in transactions of 100 under each row's ETag; rows a harvest rewrote meanwhile are read again.</summary>
    private async Task<int> RemoveAsInviterAsync(LiveKey live, Person person, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {live.PartitionKey} and RowKey ne {person.RowKey}") + " and "
            + (person.IsMember ? TableClient.CreateQueryFilter($"InvitorUserId eq {person.Id}") : TableClient.CreateQueryFilter($"InvitorExternalUserId eq {person.Id}"));
        var changed = 0;
        await OptimisticConcurrency.UpdateAsync($"The rows naming an inviter in live '{live}'", async () =>
        {
            try
            {
                await foreach (var page in store.WatchStats.QueryAsync<TableEntity>(filter, maxPerPage: HarvestStore.MaxBatchSize, cancellationToken: cancellationToken).AsPages())
                {
                    if (page.Values.Count == 0) continue;
                    foreach (var row in page.Values) row.Remove(person.InviterProperty);
                    await store.WatchStats.SubmitTransactionAsync(
                        page.Values.Select(row => new TableTransactionAction(TableTransactionActionType.UpdateReplace, row, row.ETag)), cancellationToken);
                    changed += page.Values.Count;
                }
                return (object)true;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 412 or 404)
            {
                return null; // a harvest rewrote (or retention deleted) one of them: query again
            }
        });
        return changed;
    }

    private sealed class Recount
    {
        public static readonly Recount None = new(), Written = new(), Running = new();
    }

    /// <summary>
    /// A completed run's viewer counts and watch time, counted again from its page records (as its last page counted
    /// them). A run queued or running is left alone: its last page counts from the records, and a write here would
    /// take its status row's ETag from under it.
    /// </summary>
    private async Task<Recount> RecountAsync(LiveKey live, CancellationToken cancellationToken) =>
        await store.UpdateStatusAsync(live, async status =>
        {
            if (status is null) return Recount.None;
            if (status.State is HarvestStates.Queued or HarvestStates.Running) return Recount.Running;
            if (status.State != HarvestStates.Completed) return Recount.None;
            var (members, externals, watch) = await store.CountDistinctAsync(
                live, status.RunId, int.MaxValue, [], (status.MembersWritten, status.ExternalWritten), cancellationToken);
            if ((members, externals, watch) == (status.MembersWritten, status.ExternalWritten, status.WatchTimeSeconds)) return Recount.None;
            (status.MembersWritten, status.ExternalWritten, status.WatchTimeSeconds) = (members, externals, watch);
            return await store.TryReplaceAsync(status, cancellationToken) ? Recount.Written : null;
        }, cancellationToken);
}
