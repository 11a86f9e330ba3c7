using System.Globalization;
using Azure.Data.Tables;
using WatchStat.WeCom;

namespace WatchStat.Storage;

/// <summary>
/// The <c>Livings</c> table: one row per live (PartitionKey the live's, <see cref="LiveKey"/>; RowKey <c>info</c>) with WeCom's
/// details of it, refreshed on each discovery and by WeCom's status callbacks, and how it last arrived when that was
/// through the HTTP endpoint or a callback. Reports read the theme and times from here. Beside it in the live's
/// partition, one row per "ended" callback event (<see cref="EndedEventRowKey"/>) remembers which run it started.
/// </summary>
public sealed class LivingStore(StorageClients storage)
{
    public const string TableName = "Livings";
    public const string InfoRowKey = "info";
    public const string ArrivedViaHttp = "http";
    public const string ArrivedViaCallback = "callback";
    /// <summary>An operator's <c>watchstat harvest</c>: dated (for the overview and retention), not on the arrivals index.</summary>
    public const string ArrivedViaCli = "cli";

    private readonly CreateOnce _created = new(ct => storage.Tables.GetTableClient(TableName).CreateIfNotExistsAsync(ct));

    public TableClient Livings { get; } = storage.Tables.GetTableClient(TableName);

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => _created.EnsureAsync(cancellationToken);

    /// <summary>Writes WeCom's details of a live (merged, so how it arrived stays). The push URL carries a key and is left out.</summary>
    public async Task SaveInfoAsync(LiveKey live, string app, LivingInfo info, DateTimeOffset refreshedAt, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var row = new TableEntity(live.PartitionKey, InfoRowKey)
        {
            ["LivingId"] = live.LivingId,
            ["CorpId"] = live.CorpId,
            ["App"] = app,
            ["AnchorUserId"] = info.AnchorUserId,
            ["Theme"] = BoundedText.Name(info.Theme),
            ["Description"] = BoundedText.Name(info.Description),
            ["Status"] = info.Status,
            ["StatusName"] = StatusName(info.Status),
            ["LivingStart"] = FromUnix(info.LivingStart),
            ["LivingDurationSeconds"] = info.LivingDuration,
            ["LivingEnd"] = info.Status == LivingStatus.Ended ? FromUnix(info.LivingStart + info.LivingDuration) : null,
            ["ReserveStart"] = FromUnix(info.ReserveStart),
            ["ReserveLivingDurationSeconds"] = info.ReserveLivingDuration,
            ["MainDepartment"] = info.MainDepartment,
            ["ViewerNum"] = info.ViewerNum,
            ["CommentNum"] = info.CommentNum,
            ["MicNum"] = info.MicNum,
            ["OpenReplay"] = info.OpenReplay == 1,
            ["ReplayStatus"] = info.ReplayStatus,
            ["Type"] = info.Type,
            ["OnlineCount"] = info.OnlineCount,
            ["SubscribeCount"] = info.SubscribeCount,
            ["RefreshedAt"] = refreshedAt,
            ["StatusAt"] = refreshedAt,
        };
        foreach (var key in row.Keys.Where(k => row[k] is null).ToList()) row.Remove(key);
        await Livings.UpsertEntityAsync(row, TableUpdateMode.Merge, cancellationToken);
        if ((FromUnix(info.LivingStart) ?? FromUnix(info.ReserveStart)) is { } date)
            await Livings.UpsertEntityAsync(DateEntry(live, app, date), TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>
    /// Notes that a live arrived from outside, through the HTTP endpoint (<see cref="ArrivedViaHttp"/>) or WeCom's
    /// callback (<see cref="ArrivedViaCallback"/>): merged into its row; the nightly harvest refreshes such lives. One
    /// harvested by the CLI (<see cref="ArrivedViaCli"/>) is noted and dated the same way but is not put on the arrivals
    /// index: the nightly harvest leaves an operator's one-off alone.
    /// </summary>
    public async Task RecordArrivalAsync(LiveKey live, string app, string via, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        await Livings.UpsertEntityAsync(
            new TableEntity(live.PartitionKey, InfoRowKey)
            {
                ["LivingId"] = live.LivingId, ["CorpId"] = live.CorpId, ["App"] = app, ["ArrivedVia"] = via, ["ArrivedAt"] = at,
            },
            TableUpdateMode.Merge, cancellationToken);
        if (via != ArrivedViaCli) await Livings.UpsertEntityAsync(ArrivalEntry(live, app, via, at), TableUpdateMode.Replace, cancellationToken);
        await Livings.UpsertEntityAsync(DateEntry(live, app, at), TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>
    /// PartitionKey of the index of arrivals, in <c>Livings</c>: one row per arrival (RowKey its time, 19 digits of
    /// ticks, then the live's PartitionKey), so the nightly harvest reads the arrivals of its window as one range of one
    /// partition instead of scanning the table. No live's partition can be called this (escaping writes <c>%</c> only
    /// before two upper-case hex digits).
    /// </summary>
    public const string ArrivalsPartition = "%arrivals";

    public static TableEntity ArrivalEntry(LiveKey live, string app, string via, DateTimeOffset at) =>
        new(ArrivalsPartition, ArrivalRowKey(at) + live.PartitionKey)
        {
            ["LivingId"] = live.LivingId, ["CorpId"] = live.CorpId, ["App"] = app, ["ArrivedVia"] = via, ["ArrivedAt"] = at,
        };

    private static string ArrivalRowKey(DateTimeOffset at) => at.UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + "|";

    /// <summary>
    /// Lives that arrived from outside (the HTTP endpoint or a callback) from <paramref name="since"/> until
    /// <paramref name="until"/>, each once with its latest arrival: a range of the arrivals index, whose cost grows with
    /// the window's arrivals, not with the table.
    /// </summary>
    /// <param name="app">Only this app's arrivals (filtered by the service), or null for every app's.</param>
    public async Task<IReadOnlyList<(LiveKey Live, string App, DateTimeOffset ArrivedAt, string Via)>> ArrivalsAsync(
        DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken, string? app = null)
    {
        await EnsureCreatedAsync(cancellationToken);
        var range = TableClient.CreateQueryFilter(
            $"PartitionKey eq {ArrivalsPartition} and RowKey ge {ArrivalRowKey(since)} and RowKey lt {ArrivalRowKey(until.AddTicks(1))}");
        var filter = app is null ? range : range + " and " + TableClient.CreateQueryFilter($"App eq {app}");
        var latest = new Dictionary<LiveKey, (LiveKey, string, DateTimeOffset, string)>();
        await foreach (var row in Livings.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            var live = new LiveKey(row.GetString("CorpId") ?? "", row.GetString("LivingId"));
            latest[live] = (live, row.GetString("App") ?? WeComApp.DefaultName, row.GetDateTimeOffset("ArrivedAt")!.Value, row.GetString("ArrivedVia") ?? ArrivedViaHttp);
        }
        return [.. latest.Values];
    }

    /// <summary>
    /// PartitionKey of the index of lives by date, in <c>Livings</c>: one row per live and date (RowKey the date, 19
    /// digits of ticks, then the live's PartitionKey), written with its info (the date: its start, else its reserved
    /// start) and with its arrival (the arrival's time). The lives overview reads a date range of it, never the table.
    /// A live whose date changed (it started at another time than reserved, or its info came after its arrival) leaves
    /// an entry whose date is no longer the live's: readers skip those (<see cref="DateOf"/>) and remove them.
    /// </summary>
    public const string DatesPartition = "%dates";

    public static TableEntity DateEntry(LiveKey live, string app, DateTimeOffset date) =>
        new(DatesPartition, ArrivalRowKey(date) + live.PartitionKey)
        {
            ["LivingId"] = live.LivingId, ["CorpId"] = live.CorpId, ["App"] = app, ["Date"] = date,
        };

    /// <summary>A live's date for the overview: its start, else its reserved start, else when it arrived; null for none.</summary>
    public static DateTimeOffset? DateOf(TableEntity row) =>
        row.GetDateTimeOffset("LivingStart") ?? row.GetDateTimeOffset("ReserveStart") ?? row.GetDateTimeOffset("ArrivedAt");

    /// <summary>The index entries of lives dated from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive), stale ones included.</summary>
    public async Task<IReadOnlyList<(LiveKey Live, string App, DateTimeOffset Date, TableEntity Entry)>> DatedAsync(
        DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {DatesPartition} and RowKey ge {ArrivalRowKey(from)} and RowKey lt {ArrivalRowKey(to)}");
        var entries = new List<(LiveKey, string, DateTimeOffset, TableEntity)>();
        await foreach (var row in Livings.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            entries.Add((new LiveKey(row.GetString("CorpId") ?? "", row.GetString("LivingId")), row.GetString("App") ?? WeComApp.DefaultName,
                row.GetDateTimeOffset("Date")!.Value, row));
        }
        return entries;
    }

    /// <summary>Removes an index entry whose date is no longer its live's; best effort (another reader may have done it).</summary>
    public Task ForgetDateAsync(TableEntity entry, CancellationToken cancellationToken) =>
        TableBatches.DeleteIfExistsAsync(Livings, entry.PartitionKey, entry.RowKey, cancellationToken);

    /// <summary>Deletes the arrivals index's entries from before <paramref name="before"/>: no window reaches back to them any more.</summary>
    public async Task<int> PruneArrivalsAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        return await TableBatches.DeleteAsync(
            Livings, TableClient.CreateQueryFilter($"PartitionKey eq {ArrivalsPartition} and RowKey lt {ArrivalRowKey(before)}"), cancellationToken);
    }

    /// <summary>
    /// The info a row holds when it was read from WeCom at or after <paramref name="since"/> (its <c>RefreshedAt</c>):
    /// a night's discovery that comes back to an anchor (after a throttle) decides on it instead of reading it again.
    /// Null when the row is older, or holds no info.
    /// </summary>
    public static LivingInfo? InfoReadSince(TableEntity? row, DateTimeOffset since)
    {
        if (row?.GetDateTimeOffset("RefreshedAt") is not { } refreshed || refreshed < since || row.GetInt32("Status") is not { } status) return null;
        static long Unix(DateTimeOffset? at) => at?.ToUnixTimeSeconds() ?? 0;
        return new LivingInfo
        {
            Theme = row.GetString("Theme"),
            Description = row.GetString("Description"),
            AnchorUserId = row.GetString("AnchorUserId"),
            StatusValue = status,
            LivingStart = Unix(row.GetDateTimeOffset("LivingStart")),
            LivingDuration = row.GetInt32("LivingDurationSeconds") ?? 0,
            ReserveStart = Unix(row.GetDateTimeOffset("ReserveStart")),
            ReserveLivingDuration = row.GetInt32("ReserveLivingDurationSeconds") ?? 0,
            MainDepartment = row.GetInt64("MainDepartment") ?? row.GetInt32("MainDepartment") ?? 0,
            ViewerNum = row.GetInt32("ViewerNum") ?? 0,
            CommentNum = row.GetInt32("CommentNum") ?? 0,
            MicNum = row.GetInt32("MicNum") ?? 0,
            OpenReplay = row.GetBoolean("OpenReplay") == true ? 1 : 0,
            ReplayStatus = row.GetInt32("ReplayStatus") ?? 0,
            Type = row.GetInt32("Type") ?? 0,
        };
    }

    /// <summary>
    /// What the stored info of a live says of reading it again: a reason when it is final (expired, cancelled, or ended
    /// before <paramref name="windowStart"/>: WeCom's answer can no longer change anything), null when it must be read.
    /// </summary>
    public static string? FinalReason(TableEntity? row, DateTimeOffset windowStart, int lookbackDays)
    {
        if (row?.GetInt32("Status") is not { } status) return null;
        return status switch
        {
            LivingStatus.Expired or LivingStatus.Cancelled => $"{StatusName(status)} (status {status}, as stored): final, not read again",
            LivingStatus.Ended when row.GetDateTimeOffset("LivingEnd") is { } end && end < windowStart =>
                $"ended {end:yyyy-MM-dd}, before the {lookbackDays}-day window (as stored): final, not read again",
            _ => null,
        };
    }

    /// <summary>
    /// Applies a status WeCom reported at <paramref name="at"/> (a <c>living_status_change</c> callback): Status,
    /// StatusName and StatusAt, unless the row already holds a newer one (a later event, or a later read of the
    /// live's info), so that a late retry of an old event never turns an ended live back into a live one. False when
    /// it was older.
    /// </summary>
    public async Task<bool> ApplyStatusAsync(LiveKey live, string app, int status, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var partition = live.PartitionKey;
        var outcome = await OptimisticConcurrency.UpdateAsync($"The Livings row of live '{live}'", async () =>
        {
            var existing = await Livings.GetEntityIfExistsAsync<TableEntity>(partition, InfoRowKey, cancellationToken: cancellationToken);
            var row = existing.HasValue ? existing.Value : null;
            if ((row?.GetDateTimeOffset("StatusAt") ?? row?.GetDateTimeOffset("RefreshedAt")) > at) return Applied.No;
            var update = new TableEntity(partition, InfoRowKey)
            {
                ["LivingId"] = live.LivingId,
                ["CorpId"] = live.CorpId,
                ["App"] = app,
                ["Status"] = status,
                ["StatusName"] = StatusName(status),
                ["StatusAt"] = at,
            };
            var written = await OptimisticConcurrency.TryWriteAsync(() => row is null
                ? Livings.AddEntityAsync(update, cancellationToken)
                : Livings.UpdateEntityAsync(update, row.ETag, TableUpdateMode.Merge, cancellationToken));
            return written ? Applied.Yes : null;
        });
        return outcome == Applied.Yes;
    }

    /// <summary>
    /// RowKey of the row that remembers one "ended" callback event of a live (its CreateTime): when it first arrived,
    /// and the run it started. WeCom delivers an event again when an answer is late, so the same event must not
    /// start a second run.
    /// </summary>
    public static string EndedEventRowKey(long createTime) => "ended-event-" + createTime.ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>
    /// Claims an "ended" event: the first delivery writes when it arrived; every delivery gets that time back, and
    /// the run the event started once one did (<see cref="RecordEndedEventRunAsync"/>).
    /// </summary>
    public async Task<(DateTimeOffset FirstReceivedAt, string? RunId)> ClaimEndedEventAsync(
        LiveKey live, long createTime, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var claim = new TableEntity(live.PartitionKey, EndedEventRowKey(createTime))
        {
            ["LivingId"] = live.LivingId, ["CorpId"] = live.CorpId, ["FirstReceivedAt"] = now,
        };
        if (await OptimisticConcurrency.TryWriteAsync(() => Livings.AddEntityAsync(claim, cancellationToken))) return (now, null);
        TableEntity existing = await Livings.GetEntityAsync<TableEntity>(claim.PartitionKey, claim.RowKey, cancellationToken: cancellationToken);
        return (existing.GetDateTimeOffset("FirstReceivedAt") ?? now, existing.GetString("RunId"));
    }

    /// <summary>Notes the run an "ended" event started (or found running): later deliveries of it are duplicates.</summary>
    public async Task RecordEndedEventRunAsync(LiveKey live, long createTime, string runId, CancellationToken cancellationToken) =>
        await Livings.UpsertEntityAsync(
            new TableEntity(live.PartitionKey, EndedEventRowKey(createTime)) { ["CorpId"] = live.CorpId, ["RunId"] = runId },
            TableUpdateMode.Merge, cancellationToken);

    private sealed record Applied(bool Value)
    {
        public static readonly Applied Yes = new(true);
        public static readonly Applied No = new(false);
    }

    public async Task<TableEntity?> GetAsync(LiveKey live, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var row = await Livings.GetEntityIfExistsAsync<TableEntity>(live.PartitionKey, InfoRowKey, cancellationToken: cancellationToken);
        return row.HasValue ? row.Value : null;
    }

    public static string StatusName(int status) => status switch
    {
        LivingStatus.Scheduled => "scheduled",
        LivingStatus.Live => "live",
        LivingStatus.Ended => "ended",
        LivingStatus.Expired => "expired",
        LivingStatus.Cancelled => "cancelled",
        _ => $"unknown ({status})",
    };

    private static DateTimeOffset? FromUnix(long seconds) => seconds > 0 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
}

/// <summary>living_info.status.</summary>
public static class LivingStatus
{
    public const int Scheduled = 0;
    public const int Live = 1;
    public const int Ended = 2;
    public const int Expired = 3;
    public const int Cancelled = 4;
}
