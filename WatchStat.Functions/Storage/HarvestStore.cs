using Azure;
using Azure.Data.Tables;

namespace WatchStat.Storage;

/// <summary>
/// The harvester's two tables: <c>Harvests</c> (one status row and checkpoint per live) and <c>WatchStats</c>
/// (one row per viewer per live). Table clients are made once; the tables are created once per process.
/// </summary>
public sealed class HarvestStore(StorageClients storage)
{
    /// <summary>Most operations Azure allows in one entity-group transaction.</summary>
    public const int MaxBatchSize = 100;

    private readonly CreateOnce _created = new(ct => Task.WhenAll(
        storage.Tables.GetTableClient(HarvestRecord.TableName).CreateIfNotExistsAsync(ct),
        storage.Tables.GetTableClient(ViewerRows.TableName).CreateIfNotExistsAsync(ct)));

    public TableClient Harvests { get; } = storage.Tables.GetTableClient(HarvestRecord.TableName);
    public TableClient WatchStats { get; } = storage.Tables.GetTableClient(ViewerRows.TableName);

    /// <summary>Creates the tables once per process.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => _created.EnsureAsync(cancellationToken);

    public async Task<HarvestRecord?> GetAsync(LiveKey live, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var response = await Harvests.GetEntityIfExistsAsync<HarvestRecord>(live.PartitionKey, HarvestRecord.StatusRowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// A live's status row under <see cref="OptimisticConcurrency"/>: read it, let <paramref name="attempt"/> decide and
    /// write under the row's ETag (<see cref="TryAddAsync"/>, <see cref="TryReplaceAsync"/>, <see cref="TryAdvanceAsync"/>),
    /// and when another writer got there first (<paramref name="attempt"/> answers null) read it again and decide afresh.
    /// </summary>
    public Task<T> UpdateStatusAsync<T>(LiveKey live, Func<HarvestRecord?, Task<T?>> attempt, CancellationToken cancellationToken)
        where T : class =>
        OptimisticConcurrency.UpdateAsync($"The status row of live '{live}'", async () => await attempt(await GetAsync(live, cancellationToken)));

    /// <summary>Adds a live's first status row; false when another writer added one first.</summary>
    public async Task<bool> TryAddAsync(HarvestRecord record, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        return await OptimisticConcurrency.TryWriteAsync(async () =>
        {
            var response = await Harvests.AddEntityAsync(record, cancellationToken);
            record.ETag = response.Headers.ETag ?? default;
            return response;
        });
    }

    /// <summary>Replaces the status row if nobody wrote it since <paramref name="record"/> was read (its ETag); false otherwise.</summary>
    public Task<bool> TryReplaceAsync(HarvestRecord record, CancellationToken cancellationToken) =>
        OptimisticConcurrency.TryWriteAsync(async () =>
        {
            var response = await Harvests.UpdateEntityAsync(record, record.ETag, TableUpdateMode.Replace, cancellationToken);
            record.ETag = response.Headers.ETag ?? default;
            return response;
        });

    /// <summary>
    /// PartitionKey of the index of runs that may be active, in <c>Harvests</c>: one row per live (RowKey the
    /// live's PartitionKey) from a run's start to its end, so the stalled-run sweeper reads one partition instead of
    /// scanning the table. <see cref="TableKeys.Escape"/> never writes a <c>%</c> that two upper-case hex digits do
    /// not follow, so no live's partition can be called this.
    /// </summary>
    public const string ActivePartition = "%active";

    /// <summary>Notes a run as active before its status row says so (a start or a retry): the sweeper will look at it.</summary>
    public async Task MarkActiveAsync(HarvestRecord run, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        await Harvests.UpsertEntityAsync(
            new TableEntity(ActivePartition, run.PartitionKey) { ["LivingId"] = run.LivingId, ["CorpId"] = run.CorpId, ["RunId"] = run.RunId },
            TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>
    /// Takes an ended run off the index, unless a newer run of the live has taken its place there. Best effort: an
    /// entry left behind costs the sweeper one read until it removes it (<see cref="RemoveIndexEntryAsync"/>).
    /// </summary>
    public async Task UnmarkActiveAsync(HarvestRecord run, CancellationToken cancellationToken)
    {
        var entry = await Harvests.GetEntityIfExistsAsync<TableEntity>(ActivePartition, run.PartitionKey, cancellationToken: cancellationToken);
        if (entry.HasValue && entry.Value!.GetString("RunId") == run.RunId) await RemoveIndexEntryAsync(entry.Value, cancellationToken);
    }

    /// <summary>
    /// PartitionKey of the runs that failed for want of a suite_ticket, in <c>Harvests</c>: one row per live (RowKey
    /// the live's PartitionKey), so that the suite's next ticket puts them back to work without a scan.
    /// </summary>
    public const string AwaitingTicketPartition = "%awaiting-ticket";

    public async Task MarkAwaitingTicketAsync(HarvestRecord run, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        await Harvests.UpsertEntityAsync(
            new TableEntity(AwaitingTicketPartition, run.PartitionKey) { ["App"] = run.App, ["LivingId"] = run.LivingId, ["CorpId"] = run.CorpId, ["RunId"] = run.RunId },
            TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>The runs of an app waiting for its suite's next ticket (of one corp, when given).</summary>
    public IAsyncEnumerable<TableEntity> AwaitingTicketAsync(string app, string? corpId, CancellationToken cancellationToken) =>
        Harvests.QueryAsync<TableEntity>(corpId is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {AwaitingTicketPartition} and App eq {app}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {AwaitingTicketPartition} and App eq {app} and CorpId eq {corpId}"),
            cancellationToken: cancellationToken);

    /// <summary>The index of runs that may be active: one partition, a row per live.</summary>
    public IAsyncEnumerable<TableEntity> ActiveEntriesAsync(CancellationToken cancellationToken) =>
        Harvests.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {ActivePartition}"), cancellationToken: cancellationToken);

    /// <summary>Deletes an index entry (of runs active, or awaiting a ticket) as it was read (its ETag): an entry a newer start rewrote meanwhile stays.</summary>
    public async Task RemoveIndexEntryAsync(TableEntity entry, CancellationToken cancellationToken)
    {
        try
        {
            await Harvests.DeleteEntityAsync(entry.PartitionKey, entry.RowKey, entry.ETag, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // Gone already, or rewritten by a newer run: either way not ours to delete.
        }
    }

    /// <summary>
    /// Upserts a page's rows (one PartitionKey, each RowKey once) as entity-group transactions of at most 100;
    /// each transaction is atomic, and writing the same rows again gives the same table.
    /// </summary>
    public async Task WriteRowsAsync(IReadOnlyList<TableEntity> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        await EnsureCreatedAsync(cancellationToken);
        if (rows.Count <= MaxBatchSize)
        {
            await SubmitAsync(rows, cancellationToken);
            return;
        }
        await Task.WhenAll(rows.Chunk(MaxBatchSize).Select(chunk => SubmitAsync(chunk, cancellationToken)));
    }

    private async Task SubmitAsync(IEnumerable<TableEntity> rows, CancellationToken cancellationToken) =>
        await WatchStats.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), cancellationToken);

    /// <summary>Every viewer row of a live, streamed page by page from the table (never all held at once).</summary>
    public IAsyncEnumerable<TableEntity> ReadRowsAsync(LiveKey live, CancellationToken cancellationToken) =>
        WatchStats.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {live.PartitionKey}"), maxPerPage: 1000, cancellationToken: cancellationToken);

    /// <summary>
    /// Advances the checkpoint and records which rows the pages wrote (one page record each), in one transaction on
    /// the live's partition of <c>Harvests</c>: all land or none. False when someone wrote the status row since it
    /// was read (its ETag).
    /// </summary>
    public async Task<bool> TryAdvanceAsync(
        HarvestRecord status, IReadOnlyList<(int Page, IReadOnlyList<string> RowKeys)> pages, CancellationToken cancellationToken)
    {
        if (pages.Count >= MaxBatchSize)
            throw new ArgumentException($"At most {MaxBatchSize - 1} pages can be recorded with one checkpoint.", nameof(pages));
        var actions = new List<TableTransactionAction>(pages.Count + 1)
        {
            new(TableTransactionActionType.UpdateReplace, status, status.ETag),
        };
        foreach (var (page, rowKeys) in pages)
        {
            var manifest = new TableEntity(status.PartitionKey, PageRowKey(page)) { ["CorpId"] = status.CorpId, ["RunId"] = status.RunId, ["Page"] = page };
            var chunk = 0;
            foreach (var part in JoinKeys(rowKeys)) manifest[chunk++ == 0 ? "Keys" : $"Keys{chunk}"] = part;
            actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, manifest));
        }
        try
        {
            var response = await Harvests.SubmitTransactionAsync(actions, cancellationToken);
            status.ETag = response.Value[0].Headers.ETag ?? default;
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return false;
        }
    }

    /// <summary>
    /// The distinct viewers a run wrote, by kind, from the page records of its pages before <paramref name="page"/>
    /// and the keys of the pages from <paramref name="page"/> on: exact, whatever WeCom repeated across pages.
    /// <paramref name="expected"/> (the running counts) sizes the sets once instead of growing them.
    /// </summary>
    public async Task<(int Members, int Externals, long? WatchTimeSeconds)> CountDistinctAsync(
        LiveKey live, string runId, int page, IEnumerable<string> pageRowKeys, (int Members, int Externals) expected, CancellationToken cancellationToken)
    {
        // Keys are kept as 128-bit hashes (a collision among a live's viewers is a 1 in 10^30 event), so counting a
        // 100,000-viewer live holds a few MB, not every key; members and externals are told apart before hashing.
        // Each key's watch time is the one of its last page (the row that page wrote is the one that stays).
        var members = new Dictionary<UInt128, int>(Math.Max(0, expected.Members));
        var externals = new Dictionary<UInt128, int>(Math.Max(0, expected.Externals));
        var watchKnown = true;
        void Add(ReadOnlySpan<char> line)
        {
            var tab = line.IndexOf('\t');
            var key = tab < 0 ? line : line[..tab];
            var watch = 0;
            if (tab < 0 || !int.TryParse(line[(tab + 1)..], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out watch))
                watchKnown = false; // a page record written before watch times were kept
            (key.StartsWith(ViewerRows.MemberPrefix, StringComparison.Ordinal) ? members : externals)[Hash(key)] = watch;
        }

        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {live.PartitionKey} and RowKey gt {PageRowPrefix} and RowKey lt {PageRowEnd}");
        // Small query pages: a page record holds a page's keys, and a thousand at once would be megabytes. They come
        // in page order (the RowKey), before the pages not recorded yet, so a later page's watch time wins.
        await foreach (var manifest in Harvests.QueryAsync<TableEntity>(filter, maxPerPage: 100, cancellationToken: cancellationToken))
        {
            if (manifest.GetString("RunId") != runId || manifest.GetInt32("Page") >= page) continue;
            foreach (var (name, value) in manifest.OrderBy(p => KeysOrder(p.Key)))
            {
                if (!name.StartsWith("Keys", StringComparison.Ordinal) || value is not string text) continue;
                foreach (var range in text.AsSpan().Split('\n'))
                {
                    if (range.End.Value > range.Start.Value) Add(text.AsSpan()[range]);
                }
            }
        }
        foreach (var line in pageRowKeys) Add(line);
        return (members.Count, externals.Count, watchKnown ? members.Values.Sum(w => (long)w) + externals.Values.Sum(w => (long)w) : null);
    }

    /// <summary>
    /// Takes one viewer's line (its RowKey) out of every page record of a live, whatever run wrote it, so that counts
    /// made from the records (<see cref="CountDistinctAsync"/>) agree with the rows once that viewer's row is deleted.
    /// Each record is rewritten under its ETag; a record the page step rewrote meanwhile is read again. Returns the
    /// records rewritten (0 when none holds the line: running it again changes nothing).
    /// </summary>
    public async Task<int> RemoveFromPageRecordsAsync(LiveKey live, string rowKey, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {live.PartitionKey} and RowKey gt {PageRowPrefix} and RowKey lt {PageRowEnd}");
        var rewritten = 0;
        await foreach (var manifest in Harvests.QueryAsync<TableEntity>(filter, maxPerPage: 100, cancellationToken: cancellationToken))
        {
            var record = manifest;
            await OptimisticConcurrency.UpdateAsync($"A page record of live '{live}'", async () =>
            {
                var changed = false;
                foreach (var name in record.Keys.Where(k => k.StartsWith("Keys", StringComparison.Ordinal)).ToList())
                {
                    if (record[name] is not string text) continue;
                    var lines = text.Split('\n');
                    var kept = lines.Where(line => KeyOf(line) != rowKey).ToArray();
                    if (kept.Length == lines.Length) continue;
                    record[name] = string.Join('\n', kept);
                    changed = true;
                }
                if (!changed) return (object)false;
                if (await OptimisticConcurrency.TryWriteAsync(() => Harvests.UpdateEntityAsync(record, record.ETag, TableUpdateMode.Replace, cancellationToken)))
                {
                    rewritten++;
                    return true;
                }
                var again = await Harvests.GetEntityIfExistsAsync<TableEntity>(record.PartitionKey, record.RowKey, cancellationToken: cancellationToken);
                if (!again.HasValue) return false; // gone (a retention pass): nothing left to change
                record = again.Value!;
                return null;
            });
        }
        return rewritten;

        static string KeyOf(string line) => line.IndexOf('\t') is var tab and >= 0 ? line[..tab] : line;
    }

    /// <summary>The order of a page record's key properties: Keys, Keys2, Keys3...</summary>
    private static int KeysOrder(string name) =>
        name == "Keys" ? 1 : name.StartsWith("Keys", StringComparison.Ordinal) && int.TryParse(name.AsSpan(4), out var n) ? n : int.MaxValue;

    /// <summary>A viewer row's line in a page record: its RowKey, a tab (escaped keys never hold one) and its watch time.</summary>
    public static string KeyLine(TableEntity row) =>
        row.RowKey + "\t" + (row.GetInt32("WatchTimeSeconds") ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static UInt128 Hash(ReadOnlySpan<char> key) => System.IO.Hashing.XxHash128.HashToUInt128(System.Runtime.InteropServices.MemoryMarshal.AsBytes(key));

    /// <summary>RowKey of a page record: <c>page|000042</c>. Escaped keys never contain a newline, which joins them.</summary>
    public static string PageRowKey(int page) => PageRowPrefix + page.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    public const string PageRowPrefix = "page|";
    private const string PageRowEnd = "page}";

    /// <summary>Newline-joined keys in strings under the 32K-character limit of a table property.</summary>
    private static IEnumerable<string> JoinKeys(IEnumerable<string> keys)
    {
        var builder = new System.Text.StringBuilder();
        foreach (var key in keys)
        {
            if (builder.Length > 0 && builder.Length + key.Length + 1 > 30_000)
            {
                yield return builder.ToString();
                builder.Clear();
            }
            if (builder.Length > 0) builder.Append('\n');
            builder.Append(key);
        }
        yield return builder.ToString();
    }
}
