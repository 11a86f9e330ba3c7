using Microsoft.Extensions.Logging;
using WatchStat.Storage;
using WatchStat.Telemetry;
using WatchStat.WeCom;
using WatchStat.WeCom.Callbacks;

namespace WatchStat.Harvest;

/// <summary>What a verified callback event did, and the first page to send when it started a run.</summary>
public sealed record CallbackOutcome(string Outcome, HarvestPageMessage? FirstPage)
{
    public const string Started = "started";
    public const string AlreadyRunning = "already-running";
    public const string Duplicate = "duplicate";
    public const string StatusRecorded = "status-recorded";
    public const string Ignored = "ignored";
    public const string OtherApp = "other-app";
}

/// <summary>
/// WeCom's <c>living_status_change</c> events, verified and decrypted by the callback function. Status 2 (ended)
/// starts a harvest as <c>POST /api/harvests</c> does, once per event however often WeCom delivers it; 0, 1 and 4
/// update the live's <c>Livings</c> row only. Other events and message types are acknowledged and ignored.
/// </summary>
public sealed partial class LiveStatusCallbacks(
    LivingStore livings, HarvestRequests requests, WatchStatMetrics metrics, TimeProvider time, ILogger<LiveStatusCallbacks> logger)
{
    public const string EventName = "living_status_change";

    public async Task<CallbackOutcome> HandleAsync(WeComApp app, WeComCallbackEvent callback, CancellationToken cancellationToken)
    {
        if (!string.Equals(callback.MsgType, "event", StringComparison.OrdinalIgnoreCase)
            || !string.Equals(callback.Event, EventName, StringComparison.OrdinalIgnoreCase))
        {
            LogIgnored(app.Name, callback.MsgType, callback.Event); // verified as WeCom's, so its type names are safe to log
            return Done(app, new CallbackOutcome(CallbackOutcome.Ignored, null));
        }
        if (callback.ToUserName is { } to && to != app.CorpId)
            throw new WeComCallbackException(WeComCallbackReason.WrongReceiver, "The event is addressed (ToUserName) to another corp than the app's.");
        if (LivingIdRules.Check(callback.LivingId) is { } wrongId)
            throw new WeComCallbackException(WeComCallbackReason.BadEvent, $"The living_status_change event's LivingId is not valid: {wrongId}");
        if (callback.Status is not { } status)
            throw new WeComCallbackException(WeComCallbackReason.BadEvent, "The living_status_change event has no numeric Status.");
        if (callback.CreateTime is not { } createTime || createTime <= 0)
            throw new WeComCallbackException(WeComCallbackReason.BadEvent, "The living_status_change event has no CreateTime.");

        var livingId = callback.LivingId!;
        var live = new LiveKey(app.CorpId, livingId);
        var at = DateTimeOffset.FromUnixTimeSeconds(createTime);
        await livings.ApplyStatusAsync(live, app.Name, status, at, cancellationToken);
        if (status != LivingStatus.Ended)
        {
            LogStatus(app.Name, livingId, status);
            return Done(app, new CallbackOutcome(CallbackOutcome.StatusRecorded, null));
        }

        // The event is claimed before the run starts and marked with the run after: a crash in between leaves a claim
        // whose retry finds the run started since (HarvestRuns' unlessStartedSince) instead of starting another.
        var (firstReceivedAt, runId) = await livings.ClaimEndedEventAsync(live, createTime, time.GetUtcNow(), cancellationToken);
        if (runId is not null)
        {
            LogDuplicate(app.Name, livingId, runId);
            return Done(app, new CallbackOutcome(CallbackOutcome.Duplicate, null));
        }
        var start = await requests.RequestEndedAsync(live, app, firstReceivedAt, cancellationToken);
        if (start.OtherApp is { } other)
        {
            // Acknowledged all the same: WeCom's retries would change nothing. The claim stays open, so nothing is lost.
            LogOtherApp(app.Name, livingId, other);
            return Done(app, new CallbackOutcome(CallbackOutcome.OtherApp, null));
        }
        await livings.RecordEndedEventRunAsync(live, createTime, start.Status.RunId, cancellationToken);
        LogEnded(app.Name, livingId, start.Status.RunId, start.Created ? "started" : $"already {start.Status.State}");
        return Done(app, new CallbackOutcome(start.Created ? CallbackOutcome.Started : CallbackOutcome.AlreadyRunning, start.FirstPage));
    }

    private CallbackOutcome Done(WeComApp app, CallbackOutcome outcome)
    {
        metrics.Callback(app.Name, outcome.Outcome);
        return outcome;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "WeCom callback for app {App} ignored: MsgType {MsgType}, Event {Event}")]
    private partial void LogIgnored(string app, string? msgType, string? @event);

    [LoggerMessage(Level = LogLevel.Information, Message = "WeCom callback for app {App}: live {LivingId} has status {Status}")]
    private partial void LogStatus(string app, string livingId, int status);

    [LoggerMessage(Level = LogLevel.Information, Message = "WeCom callback for app {App}: live {LivingId} ended; harvest run {RunId} {What}")]
    private partial void LogEnded(string app, string livingId, string runId, string what);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "WeCom callback for app {App}: live {LivingId} ended, but it is harvested as app {OtherApp}; no run started (its rows are that app's)")]
    private partial void LogOtherApp(string app, string livingId, string otherApp);

    [LoggerMessage(Level = LogLevel.Information, Message = "WeCom callback for app {App}: live {LivingId} ended, delivered again; run {RunId} is its harvest")]
    private partial void LogDuplicate(string app, string livingId, string runId);
}
