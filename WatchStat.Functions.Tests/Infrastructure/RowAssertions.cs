using Azure.Data.Tables;
using WatchStat.Storage;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Infrastructure;

/// <summary>Compares the WatchStats rows of a live with the simulator's ground truth, field by field.</summary>
public static class RowAssertions
{
    private static readonly string[] DataContract =
    [
        "LivingId", "CorpId", "ViewerType", "UserId", "ExternalUserId", "ExternalType", "Name", "WatchTimeSeconds", "IsComment", "IsMic",
        "InvitorUserId", "InvitorExternalUserId", "App", "RunId", "HarvestedAt",
    ];

    /// <summary>Every expected viewer has exactly one row whose every field equals the simulator's data, and nothing else is there.</summary>
    public static void MatchSimulator(SimulatedLive live, IReadOnlyCollection<TableEntity> rows, string runId, string app = "default", string corpId = SimulatorOptions.DefaultCorpId)
    {
        var expected = live.ExpectedViewers();
        Assert.Equal(expected.Count, rows.Count);
        var byKey = rows.ToDictionary(r => r.RowKey, StringComparer.Ordinal);
        foreach (var viewer in expected)
        {
            var key = (viewer.IsMember ? "m:" : "x:") + TableKeys.Escape(viewer.Id);
            Assert.True(byKey.TryGetValue(key, out var row), $"no row for {(viewer.IsMember ? "member" : "external")} viewer #{key}");
            Assert.Equal(new LiveKey(corpId, live.LivingId).PartitionKey, row!.PartitionKey);
            Assert.Equal(live.LivingId, row.GetString("LivingId"));
            Assert.Equal(corpId, row.GetString("CorpId"));
            Assert.Equal(viewer.IsMember ? "member" : "external", row.GetString("ViewerType"));
            Assert.Equal(viewer.IsMember ? viewer.Id : null, row.GetString("UserId"));
            Assert.Equal(viewer.IsMember ? null : viewer.Id, row.GetString("ExternalUserId"));
            Assert.Equal(viewer.IsMember ? null : viewer.Type, row.GetInt32("ExternalType"));
            Assert.Equal(viewer.Name, row.GetString("Name"));
            Assert.Equal(viewer.WatchTime, row.GetInt32("WatchTimeSeconds"));
            Assert.Equal(viewer.IsComment == 1, row.GetBoolean("IsComment"));
            Assert.Equal(viewer.IsMic == 1, row.GetBoolean("IsMic"));
            Assert.Equal(viewer.InvitorUserId, row.GetString("InvitorUserId"));
            Assert.Equal(viewer.InvitorExternalUserId, row.GetString("InvitorExternalUserId"));
            Assert.Equal(viewer.InvitorUserId is not null, row.ContainsKey("InvitorUserId"));
            Assert.Equal(viewer.InvitorExternalUserId is not null, row.ContainsKey("InvitorExternalUserId"));
            Assert.Equal(app, row.GetString("App"));
            Assert.Equal(runId, row.GetString("RunId"));
            Assert.NotNull(row.GetDateTimeOffset("HarvestedAt"));
            var unknown = row.Keys.Except(DataContract).Except(["PartitionKey", "RowKey", "Timestamp", "odata.etag"]).ToList();
            Assert.True(unknown.Count == 0, $"row {key} has properties outside the data contract: {string.Join(", ", unknown)}");
        }
    }

    /// <summary>The rows' data without what differs between runs (RunId, HarvestedAt, Timestamp, ETag).</summary>
    public static List<string> Content(IEnumerable<TableEntity> rows) =>
        [.. rows.Select(r => string.Join("|", r.Keys
                .Where(k => k is not ("RunId" or "HarvestedAt" or "Timestamp" or "odata.etag"))
                .OrderBy(k => k, StringComparer.Ordinal)
                .Select(k => $"{k}={r[k]}")))
            .OrderBy(s => s, StringComparer.Ordinal)];
}
