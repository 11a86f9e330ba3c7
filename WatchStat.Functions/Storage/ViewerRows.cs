using Azure.Data.Tables;
using WatchStat.WeCom;

namespace WatchStat.Storage;

/// <summary>
/// Rows of the <c>WatchStats</c> table: one per viewer per live (the data contract in the README).
/// PartitionKey is the live's (<see cref="LiveKey"/>: <c>{corpid}|{livingid}</c>); RowKey is <c>m:{userid}</c> for members and <c>x:{external_userid}</c>
/// for external viewers (escaped), so the two kinds can never collide.
/// </summary>
public static class ViewerRows
{
    public const string TableName = "WatchStats";
    public const string Member = "member";
    public const string External = "external";
    public const string MemberPrefix = "m:";
    public const string ExternalPrefix = "x:";

    public static string MemberRowKey(string userId) => MemberPrefix + TableKeys.Escape(userId);
    public static string ExternalRowKey(string externalUserId) => ExternalPrefix + TableKeys.Escape(externalUserId);

    /// <summary>
    /// The rows of one page, each viewer once: a viewer listed twice in a page is collapsed (the later listing
    /// wins, as a later page's listing wins over an earlier page's), since a repeated RowKey fails a whole batch.
    /// Viewers without an id cannot be keyed and are left out.
    /// </summary>
    public static PageRows FromPage(LiveKey live, string app, WatchStatResult page, string runId, DateTimeOffset harvestedAt)
    {
        var (partitionKey, livingId, corpId) = (live.PartitionKey, live.LivingId, live.CorpId);
        var rows = new Dictionary<string, TableEntity>(page.Users.Count + page.ExternalUsers.Count, StringComparer.Ordinal);
        var skipped = 0;
        foreach (var user in page.Users)
        {
            if (string.IsNullOrEmpty(user.UserId)) { skipped++; continue; }
            var row = new TableEntity(partitionKey, MemberRowKey(user.UserId))
            {
                ["LivingId"] = livingId,
                ["CorpId"] = corpId,
                ["ViewerType"] = Member,
                ["UserId"] = user.UserId,
            };
            rows[row.RowKey] = Complete(row, user.WatchTime, user.IsComment, user.IsMic, user.InvitorUserId, user.InvitorExternalUserId, app, runId, harvestedAt);
        }
        foreach (var user in page.ExternalUsers)
        {
            if (string.IsNullOrEmpty(user.ExternalUserId)) { skipped++; continue; }
            var row = new TableEntity(partitionKey, ExternalRowKey(user.ExternalUserId))
            {
                ["LivingId"] = livingId,
                ["CorpId"] = corpId,
                ["ViewerType"] = External,
                ["ExternalUserId"] = user.ExternalUserId,
                ["ExternalType"] = user.Type,
            };
            if (user.Name is not null) row["Name"] = BoundedText.Name(user.Name);
            rows[row.RowKey] = Complete(row, user.WatchTime, user.IsComment, user.IsMic, user.InvitorUserId, user.InvitorExternalUserId, app, runId, harvestedAt);
        }
        return new PageRows([.. rows.Values], skipped);
    }

    private static TableEntity Complete(
        TableEntity row, int watchTime, int isComment, int isMic, string? invitorUserId, string? invitorExternalUserId, string app, string runId, DateTimeOffset harvestedAt)
    {
        row["WatchTimeSeconds"] = watchTime;
        row["IsComment"] = isComment == 1;
        row["IsMic"] = isMic == 1;
        if (invitorUserId is not null) row["InvitorUserId"] = invitorUserId;
        if (invitorExternalUserId is not null) row["InvitorExternalUserId"] = invitorExternalUserId;
        row["App"] = app;
        row["RunId"] = runId;
        row["HarvestedAt"] = harvestedAt;
        return row;
    }

    public static bool IsMemberRowKey(string rowKey) => rowKey.StartsWith(MemberPrefix, StringComparison.Ordinal);
}

/// <summary>A page's rows, each viewer once, and how many listings had no id.</summary>
public sealed record PageRows(IReadOnlyList<TableEntity> Rows, int SkippedWithoutId)
{
    public int Members => Rows.Count(r => ViewerRows.IsMemberRowKey(r.RowKey));
    public int Externals => Rows.Count - Members;
}
