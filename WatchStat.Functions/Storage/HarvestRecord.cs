using Azure;
using Azure.Data.Tables;

namespace WatchStat.Storage;

/// <summary>The states of a harvest run, as stored (lower case) in the <c>Harvests</c> table.</summary>
public static class HarvestStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";

    public static bool IsActive(string? state) => state is Queued or Running;
}

/// <summary>
/// One row per live in the <c>Harvests</c> table: the live's latest run and its checkpoint.
/// The checkpoint (<see cref="PagesDone"/>, <see cref="NextKey"/>) only moves under optimistic concurrency,
/// so of two racing deliveries of a page only one advances it.
/// </summary>
public sealed class HarvestRecord : ITableEntity
{
    public const string TableName = "Harvests";
    public const string StatusRowKey = "status";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = StatusRowKey;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string LivingId { get; set; } = "";

    /// <summary>The corp the live belongs to: with <see cref="LivingId"/>, the live's key (<see cref="Live"/>).</summary>
    public string CorpId { get; set; } = "";

    /// <summary>The live this row is the status of.</summary>
    [System.Runtime.Serialization.IgnoreDataMember]
    public LiveKey Live => new(CorpId, LivingId);

    /// <summary>The WeCom app the run harvests as.</summary>
    public string App { get; set; } = WeCom.WeComApp.DefaultName;

    public string RunId { get; set; } = "";
    public string State { get; set; } = HarvestStates.Queued;

    /// <summary>Pages fetched and written by this run; the next page to fetch is PagesDone + 1.</summary>
    public int PagesDone { get; set; }

    /// <summary>The next_key to fetch page PagesDone + 1 with ("0" before the first page).</summary>
    public string NextKey { get; set; } = "0";

    public int MembersWritten { get; set; }
    public int ExternalWritten { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>WeCom's errcode of the failure, when WeCom gave one.</summary>
    public int? LastErrorCode { get; set; }
    /// <summary>Why the run failed or its last delivery did; at most <see cref="MaxErrorMessageLength"/> characters (<see cref="BoundedText"/>).</summary>
    public string? LastErrorMessage
    {
        get => _lastErrorMessage;
        set => _lastErrorMessage = value is null ? null : BoundedText.Cut(value, MaxErrorMessageLength);
    }

    private string? _lastErrorMessage;

    /// <summary>Far below a table property's 32K characters, and still the whole of any message WatchStat itself writes.</summary>
    public const int MaxErrorMessageLength = 4096;

    /// <summary>Throttles (45009/45033) in a row on the current page; 0 once a page goes through.</summary>
    public int Throttles { get; set; }

    /// <summary>
    /// The completed run's total watch time, seconds, over its distinct viewer rows (what the lives overview shows
    /// without reading them); null before completion, or for a run whose page records predate it.
    /// </summary>
    public long? WatchTimeSeconds { get; set; }

    /// <summary>WeCom's throttles over the whole run.</summary>
    public int ThrottledTotal { get; set; }

    /// <summary>Times the run's page waited for the shared WeCom budget (<see cref="WeCom.WeComBudget"/>) over the whole run.</summary>
    public int BudgetWaits { get; set; }

    /// <summary>When WeCom or the budget last throttled the run, and when its page is tried again.</summary>
    public DateTimeOffset? ThrottledAt { get; set; }

    public DateTimeOffset? ThrottledUntil { get; set; }

    /// <summary>When the stalled-run sweeper last sent this run's page again.</summary>
    public DateTimeOffset? RedrivenAt { get; set; }

    /// <summary>The queue message that last advanced the checkpoint: its redelivery re-sends the successor.</summary>
    public string? LastMessageId { get; set; }

    public static HarvestRecord NewRun(LiveKey live, string app, string runId, DateTimeOffset now) => new()
    {
        PartitionKey = live.PartitionKey,
        LivingId = live.LivingId,
        CorpId = live.CorpId,
        App = app,
        RunId = runId,
        State = HarvestStates.Queued,
        StartedAt = now,
        UpdatedAt = now,
    };
}
