using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.Secrets;
using WatchStat.Storage;
using WatchStat.Telemetry;
using WatchStat.WeCom;

namespace WatchStat.Harvest;

public enum StepOutcome
{
    /// <summary>The page was fetched and written and the checkpoint moved; the successor must be sent.</summary>
    Advanced,
    /// <summary>The last page (ending = 1) was written; the run is completed.</summary>
    Completed,
    /// <summary>The run failed for good (a WeCom error no retry can fix, a cursor that does not move, the page cap).</summary>
    Failed,
    /// <summary>The page was done by this very message before, which may have died before sending the successor: send it again.</summary>
    Resent,
    /// <summary>Nothing to do: another run's message, a page already done, a run that has ended.</summary>
    Stale,
    /// <summary>WeCom throttled the call (45009/45033): the same page must be tried again after <see cref="StepResult.RetryAfter"/>.</summary>
    Throttled,
}

/// <summary>
/// What one step did, and the message to send next when there is one: the next page, or (throttled) the same
/// page again, to be sent only after <see cref="RetryAfter"/>.
/// </summary>
public sealed record StepResult(StepOutcome Outcome, HarvestRecord? Status, HarvestPageMessage? Successor, string? Reason = null, TimeSpan? RetryAfter = null);

/// <summary>
/// The page step: one page of one run, idempotent under at-least-once delivery. It reads the checkpoint,
/// fetches the page it names, writes the page's rows, and advances the checkpoint under optimistic concurrency,
/// so of two racing deliveries only one moves it and sends the successor. The queue function runs one step per
/// message; the CLI runs the same steps in a loop.
/// </summary>
public sealed partial class HarvestStep(
    WeComClient wecom,
    WeComApps apps,
    HarvestStore store,
    TimeProvider time,
    IOptions<HarvestOptions> options,
    WatchStatMetrics metrics,
    ILogger<HarvestStep> logger)
{
    /// <param name="message">The page to fetch.</param>
    /// <param name="deliveryId">The queue message id; null when not driven by the queue (the CLI).</param>
    public async Task<StepResult> ExecuteAsync(HarvestPageMessage message, string? deliveryId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var status = await store.GetAsync(message.LivingId, cancellationToken);
            if (Guard(message, deliveryId, status) is { } early)
            {
                LogNoOp(message.LivingId, message.RunId, message.Page, early.Outcome, early.Reason);
                return early;
            }

            var result = await RunAsync(message, deliveryId, status!, cancellationToken);
            if (result is not null) return result;

            // The checkpoint changed between our read and our write: a racing delivery advanced it, or our own
            // write landed and its answer was lost. Read it again and decide afresh; the rows are already idempotent.
            if (attempt == 3) throw new InvalidOperationException(
                $"The checkpoint of live '{message.LivingId}' kept changing under page {message.Page}; the message will be retried.");
        }
    }

    /// <summary>The step proper; null when the checkpoint write lost to another writer.</summary>
    private async Task<StepResult?> RunAsync(HarvestPageMessage message, string? deliveryId, HarvestRecord status, CancellationToken cancellationToken)
    {
        var maxPages = options.Value.MaxPages;
        if (message.Page > maxPages)
        {
            return await FailAsync(status, deliveryId, null,
                $"The run reached {maxPages} pages (setting Harvest:MaxPages) without WeCom's ending = 1; it was stopped instead of looping.",
                cancellationToken);
        }

        if (apps.Find(status.App) is not { } app)
        {
            return await FailAsync(status, deliveryId, null,
                $"The run's WeCom app '{status.App}' is no longer configured (WeCom:Apps:{status.App}:*).", cancellationToken);
        }

        WatchStatResult page;
        try
        {
            page = await wecom.GetWatchStatAsync(app, message.LivingId, status.NextKey, cancellationToken);
        }
        catch (WeComException ex) when (ex.Kind == WeComErrorKind.Throttled)
        {
            return await ThrottleAsync(status, message, ex, cancellationToken);
        }
        catch (WeComException ex) when (!ex.IsRetryable)
        {
            return await FailAsync(status, deliveryId, ex.ErrCode, ex.Message, cancellationToken);
        }
        catch (SecretUnavailableException ex) when (!ex.IsRetryable)
        {
            return await FailAsync(status, deliveryId, null, ex.Message, cancellationToken);
        }

        if (!page.IsLastPage && (string.IsNullOrEmpty(page.NextKey) || page.NextKey == status.NextKey))
        {
            var how = string.IsNullOrEmpty(page.NextKey) ? "came back empty" : "came back unchanged";
            return await FailAsync(status, deliveryId, null,
                $"WeCom's cursor did not move on page {message.Page}: next_key {how} while ending is 0; the run was stopped instead of looping.",
                cancellationToken);
        }

        // Rows carry the run's start as HarvestedAt, so every delivery of a page writes identical rows.
        var rows = ViewerRows.FromPage(message.LivingId, app.Name, page, status.RunId, status.StartedAt);
        await store.WriteRowsAsync(rows.Rows, cancellationToken);
        if (rows.SkippedWithoutId > 0) LogSkipped(message.LivingId, message.Page, rows.SkippedWithoutId);

        var now = time.GetUtcNow();
        metrics.PageWritten(app.Name, rows.Rows.Count);
        status.PagesDone = message.Page;
        status.Throttles = 0;
        status.NextKey = string.IsNullOrEmpty(page.NextKey) ? status.NextKey : page.NextKey;
        status.UpdatedAt = now;
        status.LastMessageId = deliveryId;
        var keys = rows.Rows.Select(r => r.RowKey).ToList();
        if (page.IsLastPage)
        {
            // Exact counts: a viewer WeCom lists on two pages is one row, and counted once.
            (status.MembersWritten, status.ExternalWritten) =
                await store.CountDistinctAsync(message.LivingId, status.RunId, message.Page, keys, cancellationToken);
            status.State = HarvestStates.Completed;
            status.CompletedAt = now;
        }
        else
        {
            status.MembersWritten += rows.Members;
            status.ExternalWritten += rows.Externals;
            status.State = HarvestStates.Running;
        }

        if (!await store.TryAdvanceAsync(status, message.Page, keys, cancellationToken)) return null;

        if (page.IsLastPage)
        {
            LogCompleted(message.LivingId, status.RunId, status.PagesDone, status.MembersWritten, status.ExternalWritten);
            return new StepResult(StepOutcome.Completed, status, null);
        }
        LogAdvanced(message.LivingId, status.RunId, message.Page, rows.Members, rows.Externals);
        return new StepResult(StepOutcome.Advanced, status, HarvestRuns.NextPageOf(status));
    }

    /// <summary>
    /// Throttling is not failure: the page is put back for later, with a delay that grows with each throttle in a
    /// row (45009 blocks for a minute; 45033 asks for less concurrency), and the run carries on then.
    /// </summary>
    private async Task<StepResult?> ThrottleAsync(HarvestRecord status, HarvestPageMessage message, WeComException error, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        status.Throttles++;
        status.ThrottledTotal++;
        var delay = ThrottleDelay(error.ErrCode ?? 45009, status.Throttles);
        status.ThrottledAt = now;
        status.ThrottledUntil = now + delay;
        status.UpdatedAt = now;
        if (!await store.TryReplaceAsync(status, cancellationToken)) return null;
        metrics.Throttled(error.Api, error.ErrCode ?? 0);
        LogThrottled(status.LivingId, status.RunId, message.Page, error.ErrCode ?? 0, delay.TotalSeconds, status.Throttles);
        return new StepResult(StepOutcome.Throttled, status, HarvestRuns.NextPageOf(status), error.Message, delay);
    }

    /// <summary>60 s (45009) or 5 s (45033), doubled for each throttle in a row, at most 10 minutes, with ±20% jitter.</summary>
    internal static TimeSpan ThrottleDelay(int errCode, int throttlesInARow)
    {
        var first = errCode == 45033 ? 5.0 : 60.0;
        var seconds = Math.Min(600, first * Math.Pow(2, Math.Min(throttlesInARow - 1, 10)));
        return TimeSpan.FromSeconds(seconds * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }

    /// <summary>
    /// Notes on the status row why a delivery failed, so that if the message ends in the poison queue the run's
    /// failure says what went wrong. Best effort: the status of a run that moved meanwhile is left as it is.
    /// </summary>
    public async Task RecordDeliveryFailureAsync(HarvestPageMessage message, Exception error, CancellationToken cancellationToken)
    {
        var status = await store.GetAsync(message.LivingId, cancellationToken);
        if (Guard(message, null, status) is not null) return;
        status!.LastErrorCode = error is WeComException { ErrCode: { } code } ? code : null;
        status.LastErrorMessage = error is WeComException or SecretUnavailableException ? error.Message : $"{error.GetType().Name}: {error.Message}";
        await store.TryReplaceAsync(status, cancellationToken);
    }

    /// <summary>
    /// A page's message used up its deliveries and landed in the poison queue: the run fails, with the last error.
    /// A poisoned copy of a page that was done after all, or of another run, changes nothing.
    /// </summary>
    public async Task<bool> FailPoisonedAsync(HarvestPageMessage message, int maxDeliveries, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var status = await store.GetAsync(message.LivingId, cancellationToken);
            if (Guard(message, null, status) is not null) return false;
            var last = status!.LastErrorMessage is { } error ? $" Last error: {error}" : "";
            var failed = await FailAsync(status, null, status.LastErrorCode,
                $"Page {message.Page} failed {maxDeliveries} deliveries and was moved to {HarvestPageMessage.QueueName}-poison.{last} "
                + "Fix the cause, then retry the run (POST /api/harvests/{livingid}/retry or watchstat retry).", cancellationToken);
            if (failed is not null) return true;
        }
        return false;
    }

    private async Task<StepResult?> FailAsync(HarvestRecord status, string? deliveryId, int? errCode, string error, CancellationToken cancellationToken)
    {
        status.State = HarvestStates.Failed;
        status.LastErrorCode = errCode;
        status.LastErrorMessage = error;
        status.UpdatedAt = time.GetUtcNow();
        status.LastMessageId = deliveryId;
        if (!await store.TryReplaceAsync(status, cancellationToken)) return null;
        LogFailed(status.LivingId, status.RunId, status.PagesDone + 1, errCode, error);
        return new StepResult(StepOutcome.Failed, status, null, error);
    }

    /// <summary>Decides from the checkpoint whether a message has work to do; null means go ahead.</summary>
    internal static StepResult? Guard(HarvestPageMessage message, string? deliveryId, HarvestRecord? status)
    {
        if (status is null)
            return new StepResult(StepOutcome.Stale, null, null, "no harvest is recorded for this live");
        if (!string.Equals(status.RunId, message.RunId, StringComparison.Ordinal))
            return new StepResult(StepOutcome.Stale, status, null, $"the message belongs to run {message.RunId}, the live's run is {status.RunId}");
        if (!HarvestStates.IsActive(status.State))
            return new StepResult(StepOutcome.Stale, status, null, $"the run has ended ({status.State})");
        if (message.Page <= status.PagesDone)
        {
            // Only the delivery that advanced the checkpoint may have died before its successor was sent;
            // a different copy of the message knows the successor went out, so duplicates never fan out.
            if (message.Page == status.PagesDone && deliveryId is not null && deliveryId == status.LastMessageId)
                return new StepResult(StepOutcome.Resent, status, HarvestRuns.NextPageOf(status), "redelivery of the message that did this page");
            return new StepResult(StepOutcome.Stale, status, null, $"page {message.Page} is done");
        }
        if (message.Page > status.PagesDone + 1 || !string.Equals(message.NextKey, status.NextKey, StringComparison.Ordinal))
            return new StepResult(StepOutcome.Stale, status, null, $"page {message.Page} does not follow the checkpoint (page {status.PagesDone} done)");
        return null;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Harvest {LivingId} run {RunId} page {Page}: {Members} members and {Externals} external viewers written")]
    private partial void LogAdvanced(string livingId, string runId, int page, int members, int externals);

    [LoggerMessage(Level = LogLevel.Information, Message = "Harvest {LivingId} run {RunId} completed after {Pages} pages: {Members} members, {Externals} external viewers")]
    private partial void LogCompleted(string livingId, string runId, int pages, int members, int externals);

    [LoggerMessage(Level = LogLevel.Error, Message = "Harvest {LivingId} run {RunId} failed at page {Page} (errcode {ErrCode}): {Error}")]
    private partial void LogFailed(string livingId, string runId, int page, int? errCode, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Harvest {LivingId} run {RunId} page {Page}: {Outcome}, {Reason}")]
    private partial void LogNoOp(string livingId, string runId, int page, StepOutcome outcome, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Harvest {LivingId} run {RunId} page {Page}: WeCom throttled (errcode {ErrCode}); the page is tried again in {DelaySeconds:0} s ({Throttles} in a row)")]
    private partial void LogThrottled(string livingId, string runId, int page, int errCode, double delaySeconds, int throttles);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Harvest {LivingId} page {Page}: {Count} viewers without an id were left out")]
    private partial void LogSkipped(string livingId, int page, int count);
}
