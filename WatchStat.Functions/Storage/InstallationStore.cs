using Azure.Data.Tables;
using WatchStat.WeCom;

namespace WatchStat.Storage;

/// <summary>One corp's installation of a suite app, as <see cref="InstallationStore"/> keeps it. No secret is ever in it.</summary>
public sealed record Installation(
    string App, string CorpId, string? CorpName, string State, DateTimeOffset? AuthorizedAt, DateTimeOffset? ChangedAt, DateTimeOffset? CancelledAt,
    IReadOnlyList<string> AnchorUserIds)
{
    public const string Authorized = "authorized";
    public const string Cancelled = "cancelled";

    public bool IsAuthorized => State == Authorized;
}

/// <summary>
/// The <c>Installations</c> table: which corps installed (authorized) each suite app, one row per app and corp
/// (PartitionKey the app's name, RowKey the corpid), written from the suite's <c>create_auth</c>,
/// <c>change_auth</c> and <c>cancel_auth</c> events, with the anchors the nightly harvest walks in that corp
/// (<c>watchstat corps anchors</c>). Permanent codes are in Key Vault (<see cref="WeCom.Suites.SuiteVault"/>), never here.
/// </summary>
public sealed class InstallationStore(StorageClients storage)
{
    public const string TableName = "Installations";

    private readonly CreateOnce _created = new(ct => storage.Tables.GetTableClient(TableName).CreateIfNotExistsAsync(ct));

    public TableClient Table { get; } = storage.Tables.GetTableClient(TableName);

    public async Task<Installation?> GetAsync(WeComApp app, string corpId, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(PartitionOf(app), TableKeys.Escape(corpId), cancellationToken: cancellationToken);
        return row.HasValue ? From(row.Value!) : null;
    }

    /// <summary>Every corp that installed the app, authorized or cancelled: one partition.</summary>
    public async Task<IReadOnlyList<Installation>> ListAsync(WeComApp app, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        var list = new List<Installation>();
        await foreach (var row in Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {PartitionOf(app)}"), cancellationToken: cancellationToken))
            list.Add(From(row));
        return list;
    }

    /// <summary>The corp authorized the app (create_auth) or changed what it granted (change_auth): merged, so its anchors stay.</summary>
    public async Task AuthorizedAsync(WeComApp app, string corpId, string? corpName, DateTimeOffset at, bool created, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        var row = new TableEntity(PartitionOf(app), TableKeys.Escape(corpId))
        {
            ["App"] = app.Name,
            ["CorpId"] = corpId,
            ["State"] = Installation.Authorized,
            [created ? "AuthorizedAt" : "ChangedAt"] = at,
        };
        if (corpName is not null) row["CorpName"] = BoundedText.Name(corpName);
        await Table.UpsertEntityAsync(row, TableUpdateMode.Merge, cancellationToken);
    }

    public async Task CancelledAsync(WeComApp app, string corpId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        await Table.UpsertEntityAsync(new TableEntity(PartitionOf(app), TableKeys.Escape(corpId))
        {
            ["App"] = app.Name, ["CorpId"] = corpId, ["State"] = Installation.Cancelled, ["CancelledAt"] = at,
        }, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Sets the anchors the nightly harvest lists lives of in this corp (the operator, through the CLI).</summary>
    public async Task SetAnchorsAsync(WeComApp app, string corpId, IReadOnlyList<string> anchorUserIds, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        await Table.UpsertEntityAsync(new TableEntity(PartitionOf(app), TableKeys.Escape(corpId))
        {
            ["App"] = app.Name, ["CorpId"] = corpId, ["AnchorUserIds"] = string.Join(",", anchorUserIds),
        }, TableUpdateMode.Merge, cancellationToken);
    }

    private static string PartitionOf(WeComApp app) => TableKeys.Escape(app.Name.ToLowerInvariant());

    private static Installation From(TableEntity row) => new(
        row.GetString("App") ?? "",
        row.GetString("CorpId") ?? TableKeys.Unescape(row.RowKey),
        row.GetString("CorpName"),
        row.GetString("State") ?? "",
        row.GetDateTimeOffset("AuthorizedAt"),
        row.GetDateTimeOffset("ChangedAt"),
        row.GetDateTimeOffset("CancelledAt"),
        (row.GetString("AnchorUserIds") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
