using WatchStat.Storage;

namespace WatchStat.Harvest;

/// <summary>A live's harvest status as the HTTP API and the CLI show it.</summary>
public sealed record HarvestStatusView(
    string LivingId,
    string CorpId,
    string App,
    string RunId,
    string State,
    int PagesDone,
    int MembersWritten,
    int ExternalWritten,
    int ViewersWritten,
    DateTimeOffset StartedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? CompletedAt,
    HarvestErrorView? LastError,
    long? WatchTimeSeconds = null)
{
    public static HarvestStatusView From(HarvestRecord record) => new(
        record.LivingId,
        record.CorpId,
        record.App,
        record.RunId,
        record.State,
        record.PagesDone,
        record.MembersWritten,
        record.ExternalWritten,
        record.MembersWritten + record.ExternalWritten,
        record.StartedAt,
        record.UpdatedAt,
        record.CompletedAt,
        record.LastErrorMessage is null ? null : new HarvestErrorView(record.LastErrorCode, record.LastErrorMessage),
        record.WatchTimeSeconds);
}

/// <summary>Why a run failed: WeCom's errcode when it gave one, and the message (never a token).</summary>
public sealed record HarvestErrorView(int? ErrCode, string Message);
