using Azure.Data.Tables;
using WatchStat.WeCom;

namespace WatchStat.Storage;

/// <summary>
/// The <c>Livings</c> table: one row per live (PartitionKey the escaped livingid, RowKey <c>info</c>) with WeCom's
/// details of it, refreshed on each discovery, and how it first arrived when that was through the HTTP endpoint.
/// Reports read the theme and times from here.
/// </summary>
public sealed class LivingStore(StorageClients storage)
{
    public const string TableName = "Livings";
    public const string InfoRowKey = "info";
    public const string ArrivedViaHttp = "http";

    private readonly CreateOnce _created = new(ct => storage.Tables.GetTableClient(TableName).CreateIfNotExistsAsync(ct));

    public TableClient Livings { get; } = storage.Tables.GetTableClient(TableName);

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => _created.EnsureAsync(cancellationToken);

    /// <summary>Writes WeCom's details of a live (merged, so how it arrived stays). The push URL carries a key and is left out.</summary>
    public async Task SaveInfoAsync(string livingId, string app, LivingInfo info, DateTimeOffset refreshedAt, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var row = new TableEntity(TableKeys.Escape(livingId), InfoRowKey)
        {
            ["LivingId"] = livingId,
            ["App"] = app,
            ["AnchorUserId"] = info.AnchorUserId,
            ["Theme"] = info.Theme,
            ["Description"] = info.Description,
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
        };
        foreach (var key in row.Keys.Where(k => row[k] is null).ToList()) row.Remove(key);
        await Livings.UpsertEntityAsync(row, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Notes that a live arrived through the HTTP endpoint (merged into its row; the nightly harvest refreshes such lives).</summary>
    public async Task RecordArrivalAsync(string livingId, string app, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        await Livings.UpsertEntityAsync(
            new TableEntity(TableKeys.Escape(livingId), InfoRowKey) { ["LivingId"] = livingId, ["App"] = app, ["ArrivedVia"] = ArrivedViaHttp, ["ArrivedAt"] = at },
            TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Lives that arrived through the HTTP endpoint from <paramref name="since"/> until <paramref name="until"/>.</summary>
    public async Task<IReadOnlyList<(string LivingId, string App, DateTimeOffset ArrivedAt)>> ArrivalsAsync(
        DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"RowKey eq {InfoRowKey} and ArrivedVia eq {ArrivedViaHttp} and ArrivedAt ge {since} and ArrivedAt le {until}");
        var arrivals = new List<(string, string, DateTimeOffset)>();
        await foreach (var row in Livings.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
            arrivals.Add((row.GetString("LivingId"), row.GetString("App") ?? WeComApp.DefaultName, row.GetDateTimeOffset("ArrivedAt")!.Value));
        return arrivals;
    }

    public async Task<TableEntity?> GetAsync(string livingId, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var row = await Livings.GetEntityIfExistsAsync<TableEntity>(TableKeys.Escape(livingId), InfoRowKey, cancellationToken: cancellationToken);
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
