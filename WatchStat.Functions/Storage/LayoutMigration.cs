using Azure;
using Azure.Data.Tables;
using WatchStat.WeCom;

namespace WatchStat.Storage;

/// <summary>What a migration did (or, in a dry run, would do).</summary>
/// <param name="DateEntries">Lives (re)entered in the Livings index of lives by date, which the lives overview reads and versions before it did not write.</param>
public sealed record MigrationReport(int Lives, int HarvestRows, int ViewerRows, int LivingRows, int IndexEntries, int DateEntries, IReadOnlyList<string> Skipped);

/// <summary>
/// Moves rows written before lives were keyed by corp (PartitionKey the escaped livingid, no <c>CorpId</c>) to the
/// corp-scoped layout (<see cref="LiveKey"/>: <c>{corpid}|{livingid}</c>, with a <c>CorpId</c> column), in all three
/// tables. A live's corp is the corp of the app its run was harvested as. Each live is copied first and its old rows
/// deleted after, so a migration stopped at any point is finished by running it again; a live that already has a
/// status row in the new layout (harvested again since the upgrade) keeps it, and its old rows are left and reported.
/// Run it with the Functions app stopped: <c>watchstat migrate</c>.
/// </summary>
public sealed class LayoutMigration(StorageClients storage, WeComApps apps)
{
    private readonly TableClient _harvests = storage.Tables.GetTableClient(HarvestRecord.TableName);
    private readonly TableClient _viewers = storage.Tables.GetTableClient(ViewerRows.TableName);
    private readonly TableClient _livings = storage.Tables.GetTableClient(LivingStore.TableName);

    public async Task<MigrationReport> RunAsync(bool dryRun, Action<string>? progress, CancellationToken cancellationToken)
    {
        foreach (var table in new[] { _harvests, _viewers, _livings }) await table.CreateIfNotExistsAsync(cancellationToken);
        var skipped = new List<string>();
        var (lives, harvestRows, viewerRows, livingRows, indexEntries) = (0, 0, 0, 0, 0);

        // The old partitions of Harvests: outside the index partitions, those none of whose rows has a CorpId (every
        // row the corp-scoped layout writes has one).
        var oldPartitions = new Dictionary<string, List<TableEntity>>(StringComparer.Ordinal);
        var newPartitions = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in _harvests.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
        {
            if (row.PartitionKey.StartsWith('%')) continue;
            if (row.ContainsKey("CorpId")) newPartitions.Add(row.PartitionKey);
            else if (oldPartitions.TryGetValue(row.PartitionKey, out var rows)) rows.Add(row);
            else oldPartitions[row.PartitionKey] = [row];
        }
        foreach (var partition in newPartitions) oldPartitions.Remove(partition);

        var moved = new Dictionary<string, LiveKey>(StringComparer.Ordinal);
        foreach (var (partition, rows) in oldPartitions)
        {
            var status = rows.Find(r => r.RowKey == HarvestRecord.StatusRowKey);
            var livingId = status?.GetString("LivingId") ?? TableKeys.Unescape(partition);
            var appName = status?.GetString("App") ?? WeComApp.DefaultName;
            if (apps.Find(appName) is not { IsInstalled: false } app)
            {
                skipped.Add($"live '{livingId}': its app '{appName}' is not configured here as an app of one corp, so its corp is unknown");
                continue;
            }
            var live = new LiveKey(app.CorpId, livingId);
            if (live.PartitionKey == partition) continue; // cannot be: a key in the old layout has no corp
            if ((await _harvests.GetEntityIfExistsAsync<TableEntity>(live.PartitionKey, HarvestRecord.StatusRowKey, cancellationToken: cancellationToken)).HasValue)
            {
                skipped.Add($"live '{livingId}': it was harvested again in the new layout since the upgrade; its old rows were left under PartitionKey '{partition}'");
                continue;
            }
            progress?.Invoke($"live {livingId} → corp {live.CorpId}");
            lives++;
            moved[partition] = live;
            viewerRows += await MoveAsync(_viewers, partition, live, dryRun, cancellationToken);
            livingRows += await MoveAsync(_livings, partition, live, dryRun, cancellationToken);
            if (!dryRun) await IndexArrivalAsync(live, cancellationToken);
            // The status row last: until it moves, a second run of the migration finds the live again.
            harvestRows += await MoveAsync(_harvests, partition, live, dryRun, cancellationToken);
        }

        // Lives that only have Livings rows (an arrival or a discovery that never started a run): the default app's corp.
        if (apps.Default is { IsInstalled: false } fallback)
        {
            var oldLivings = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
            var newLivings = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var row in _livings.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
            {
                if (row.ContainsKey("CorpId")) newLivings.Add(row.PartitionKey);
                else if (!moved.ContainsKey(row.PartitionKey)) oldLivings.TryAdd(row.PartitionKey, row);
            }
            foreach (var (partition, row) in oldLivings.Where(p => !newLivings.Contains(p.Key)))
            {
                var app = apps.Find(row.GetString("App")) is { IsInstalled: false } known ? known : fallback;
                var live = new LiveKey(app.CorpId, row.GetString("LivingId") ?? TableKeys.Unescape(partition));
                if (live.PartitionKey == partition) continue;
                livingRows += await MoveAsync(_livings, partition, live, dryRun, cancellationToken);
                if (!dryRun) await IndexArrivalAsync(live, cancellationToken);
            }
        }

        // The sweeper's index: entries keyed by an old partition now name the new one.
        await foreach (var entry in _harvests.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {HarvestStore.ActivePartition}"), cancellationToken: cancellationToken))
        {
            if (entry.ContainsKey("CorpId") || !moved.TryGetValue(entry.RowKey, out var live)) continue;
            indexEntries++;
            if (dryRun) continue;
            var replacement = new TableEntity(entry) { RowKey = live.PartitionKey, ["CorpId"] = live.CorpId };
            await _harvests.UpsertEntityAsync(replacement, TableUpdateMode.Replace, cancellationToken);
            await TableBatches.DeleteIfExistsAsync(_harvests, entry.PartitionKey, entry.RowKey, cancellationToken);
        }
        var dateEntries = await IndexDatesAsync(dryRun, cancellationToken);
        return new MigrationReport(lives, harvestRows, viewerRows, livingRows, indexEntries, dateEntries, skipped);
    }

    /// <summary>
    /// Every live's entry in the index of lives by date (<see cref="LivingStore.DatesPartition"/>), which versions
    /// before the lives overview did not write: one scan of the Livings rows (a one-off, here), and the entries
    /// upserted 100 per transaction. An entry's key is its date and live, so writing it again changes nothing.
    /// </summary>
    private async Task<int> IndexDatesAsync(bool dryRun, CancellationToken cancellationToken)
    {
        var entries = new List<TableEntity>();
        await foreach (var row in _livings.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey eq {LivingStore.InfoRowKey}"), cancellationToken: cancellationToken))
        {
            if (row.PartitionKey.StartsWith('%') || !LiveKey.TryParse(row.PartitionKey, out var live) || LivingStore.DateOf(row) is not { } date) continue;
            entries.Add(LivingStore.DateEntry(live, row.GetString("App") ?? WeComApp.DefaultName, date));
        }
        if (dryRun) return entries.Count;
        foreach (var chunk in entries.DistinctBy(e => e.RowKey).Chunk(HarvestStore.MaxBatchSize))
            await _livings.SubmitTransactionAsync(chunk.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)), cancellationToken);
        return entries.Count;
    }

    /// <summary>A moved live that arrived from outside goes on the arrivals index, which the old layout did not have.</summary>
    private async Task IndexArrivalAsync(LiveKey live, CancellationToken cancellationToken)
    {
        var info = await _livings.GetEntityIfExistsAsync<TableEntity>(live.PartitionKey, LivingStore.InfoRowKey, cancellationToken: cancellationToken);
        if (info.HasValue && info.Value!.GetDateTimeOffset("ArrivedAt") is { } at)
        {
            var entry = LivingStore.ArrivalEntry(live, info.Value.GetString("App") ?? WeComApp.DefaultName, info.Value.GetString("ArrivedVia") ?? LivingStore.ArrivedViaHttp, at);
            await _livings.UpsertEntityAsync(entry, TableUpdateMode.Replace, cancellationToken);
        }
    }

    /// <summary>Copies a partition's rows under the live's new PartitionKey with its CorpId, 100 per transaction, then deletes the old ones.</summary>
    private static async Task<int> MoveAsync(TableClient table, string oldPartition, LiveKey live, bool dryRun, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {oldPartition}"), cancellationToken: cancellationToken))
        {
            if (!row.ContainsKey("CorpId")) rows.Add(row);
        }
        if (dryRun || rows.Count == 0) return rows.Count;

        // The status row (Harvests) goes last, so that it only moves once the rest has.
        var ordered = rows.OrderBy(r => r.RowKey == HarvestRecord.StatusRowKey ? 1 : 0).ToList();
        foreach (var chunk in ordered.Chunk(HarvestStore.MaxBatchSize))
        {
            var copies = chunk.Select(r =>
            {
                var copy = new TableEntity(r) { PartitionKey = live.PartitionKey, ["CorpId"] = live.CorpId };
                copy.Remove("odata.etag");
                copy.Remove("Timestamp");
                return new TableTransactionAction(TableTransactionActionType.UpsertReplace, copy);
            });
            await table.SubmitTransactionAsync(copies, cancellationToken);
        }
        // One of them may be deleted already (an interrupted run of the migration): TableBatches goes one by one then.
        foreach (var chunk in ordered.Chunk(HarvestStore.MaxBatchSize)) await TableBatches.DeleteAsync(table, chunk, cancellationToken);
        return rows.Count;
    }
}
