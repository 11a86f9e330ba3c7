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

/// <summary>One page fetched from WeCom with its rows; or the throttle, or the failure, that stopped it.</summary>
public sealed record PageFetch(int Page, WatchStatResult? Result, PageRows? Rows, WeComException? Throttled, int? FailureCode, string? Failure)
{
    public static PageFetch Failed(int page, int? errCode, string failure, bool awaitsTicket = false) =>
        new(page, null, null, null, errCode, failure) { AwaitsTicket = awaitsTicket };

    /// <summary>The failure is a suite app's want of a suite_ticket: the run goes on when WeCom pushes the next one.</summary>
    public bool AwaitsTicket { get; init; }

    public bool IsLastPage => Result?.IsLastPage == true;
}

/// <summary>
/// The page step: one page of one run, idempotent under at-least-once delivery. It reads the checkpoint,
/// fetches the page it names (<see cref="FetchAsync"/>), writes the page's rows (<see cref="WriteAsync"/>), and
/// advances the checkpoint under optimistic concurrency (<see cref="CommitAsync"/>), so of two racing deliveries
/// only one moves it and sends the successor. The queue function runs one step per message; the CLI runs the same
/// three phases in a pipeline, fetching the next page while the last one is written.
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
    public Task<StepResult> ExecuteAsync(HarvestPageMessage message, string? deliveryId, CancellationToken cancellationToken) =>
        // A null from RunAsync: the checkpoint changed between our read and our write (a racing delivery advanced it,
        // or our own write landed and its answer was lost). Read it again and decide afresh; the rows are idempotent.
        store.UpdateStatusAsync(LiveOf(message), async status =>
        {
            if (Guard(message, deliveryId, status) is { } early)
            {
                LogNoOp(message.LivingId, message.RunId, message.Page, early.Outcome, early.Reason);
                return early;
            }
            return await RunAsync(message, deliveryId, status!, cancellationToken);
        }, cancellationToken);

    /// <summary>The step proper; null when the checkpoint write lost to another writer.</summary>
    private async Task<StepResult?> RunAsync(HarvestPageMessage message, string? deliveryId, HarvestRecord status, CancellationToken cancellationToken)
    {
        var fetch = await FetchAsync(status, message.Page, status.NextKey, cancellationToken);
        if (fetch.Throttled is { } throttled) return await ThrottleAsync(status, message.Page, throttled, cancellationToken);
        if (fetch.Failure is { } failure) return await FailAsync(status, deliveryId, fetch.FailureCode, failure, cancellationToken, fetch.AwaitsTicket);
        await WriteAsync(status, fetch, cancellationToken);
        return await CommitAsync(status, [fetch], deliveryId, cancellationToken);
    }

    /// <summary>
    /// Fetches one page of a run from WeCom and turns it into rows, writing nothing. A throttle, or a failure no
    /// retry can fix (a WeCom error, a cursor that does not move, the page cap, an app no longer configured), comes
    /// back as such; transient faults throw.
    /// </summary>
    /// <param name="nextKey">The cursor of <paramref name="page"/>: the checkpoint's, or the previous page's next_key.</param>
    public async Task<PageFetch> FetchAsync(HarvestRecord status, int page, string nextKey, CancellationToken cancellationToken)
    {
        var maxPages = options.Value.MaxPages;
        if (page > maxPages)
        {
            return PageFetch.Failed(page, null,
                $"The run reached {maxPages} pages (setting Harvest:MaxPages) without WeCom's ending = 1; it was stopped instead of looping.");
        }
        if (apps.Find(status.App) is not { } app)
            return PageFetch.Failed(page, null, $"The run's WeCom app '{status.App}' is no longer configured (WeCom:Apps:{status.App}:*).");

        WatchStatResult result;
        try
        {
            result = await wecom.GetWatchStatAsync(app, status.CorpId, status.LivingId, nextKey, cancellationToken);
        }
        catch (WeComException ex) when (ex.Kind == WeComErrorKind.Throttled)
        {
            return new PageFetch(page, null, null, ex, null, null);
        }
        catch (WeComException ex) when (ex.Kind == WeComErrorKind.AwaitingSuiteTicket)
        {
            return PageFetch.Failed(page, ex.ErrCode, ex.Message, awaitsTicket: true);
        }
        catch (WeComException ex) when (!ex.IsRetryable)
        {
            return PageFetch.Failed(page, ex.ErrCode, ex.Message);
        }
        catch (SecretUnavailableException ex) when (!ex.IsRetryable)
        {
            return PageFetch.Failed(page, null, ex.Message);
        }

        if (!result.IsLastPage && (string.IsNullOrEmpty(result.NextKey) || result.NextKey == nextKey))
        {
            var how = string.IsNullOrEmpty(result.NextKey) ? "came back empty" : "came back unchanged";
            return PageFetch.Failed(page, null,
                $"WeCom's cursor did not move on page {page}: next_key {how} while ending is 0; the run was stopped instead of looping.");
        }

        // Rows carry the run's start as HarvestedAt, so every delivery of a page writes identical rows.
        return new PageFetch(page, result, ViewerRows.FromPage(status.Live, app.Name, result, status.RunId, status.StartedAt), null, null, null);
    }

    /// <summary>Writes a fetched page's rows (entity-group transactions of at most 100). Rewriting them is harmless.</summary>
    public async Task WriteAsync(HarvestRecord status, PageFetch fetch, CancellationToken cancellationToken)
    {
        var rows = fetch.Rows ?? throw new ArgumentException("Only a fetched page has rows to write.", nameof(fetch));
        await store.WriteRowsAsync(rows.Rows, cancellationToken);
        metrics.PageWritten(status.App, rows.Rows.Count);
        if (rows.SkippedWithoutId > 0) LogSkipped(status.LivingId, fetch.Page, rows.SkippedWithoutId);
    }

    /// <summary>
    /// Advances the checkpoint past <paramref name="pages"/> (consecutive, after the checkpoint, their rows written),
    /// recording their row keys in the same transaction; after the last page the run is completed with exact counts.
    /// Null when another writer moved the checkpoint since <paramref name="status"/> was read.
    /// </summary>
    public async Task<StepResult?> CommitAsync(HarvestRecord status, IReadOnlyList<PageFetch> pages, string? deliveryId, CancellationToken cancellationToken)
    {
        var last = pages[^1];
        var lastResult = last.Result!;
        var now = time.GetUtcNow();
        status.PagesDone = last.Page;
        status.Throttles = 0;
        status.NextKey = string.IsNullOrEmpty(lastResult.NextKey) ? status.NextKey : lastResult.NextKey;
        status.UpdatedAt = now;
        status.LastMessageId = deliveryId;
        var keys = pages.Select(p => (p.Page, (IReadOnlyList<string>)[.. p.Rows!.Rows.Select(HarvestStore.KeyLine)])).ToList();
        var (members, externals) = (pages.Sum(p => p.Rows!.Members), pages.Sum(p => p.Rows!.Externals));
        if (lastResult.IsLastPage)
        {
            // Exact counts: a viewer WeCom lists on two pages is one row, and counted once; the run's total watch time
            // is that of those rows (for the lives overview, which never reads viewer rows).
            (status.MembersWritten, status.ExternalWritten, status.WatchTimeSeconds) = await store.CountDistinctAsync(
                status.Live, status.RunId, pages[0].Page, keys.SelectMany(k => k.Item2),
                (status.MembersWritten + members, status.ExternalWritten + externals), cancellationToken);
            status.State = HarvestStates.Completed;
            status.CompletedAt = now;
        }
        else
        {
            status.MembersWritten += members;
            status.ExternalWritten += externals;
            status.State = HarvestStates.Running;
        }

        if (!await store.TryAdvanceAsync(status, keys, cancellationToken)) return null;

        if (lastResult.IsLastPage)
        {
            LogCompleted(status.LivingId, status.RunId, status.PagesDone, status.MembersWritten, status.ExternalWritten);
            await EndedAsync(status, cancellationToken);
            return new StepResult(StepOutcome.Completed, status, null);
        }
        LogAdvanced(status.LivingId, status.RunId, last.Page, members, externals);
        return new StepResult(StepOutcome.Advanced, status, HarvestRuns.NextPageOf(status));
    }

    /// <summary>
    /// Throttling is not failure: the page is put back for later, and the run carries on then. The delay is the
    /// throttle's own when it is known (the shared budget's window ends; WeCom's hour cap lifts at the next hour), else
    /// one that grows with each throttle in a row (45009 blocks for a minute; 45033 asks for less concurrency).
    /// </summary>
    public async Task<StepResult?> ThrottleAsync(HarvestRecord status, int page, WeComException error, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // WeCom's throttles in a row grow the back-off; a wait for WatchStat's own budget (no errcode) is no sign of that.
        if (error.ErrCode is not null)
        {
            status.Throttles++;
            status.ThrottledTotal++;
        }
        else
        {
            status.BudgetWaits++;
        }
        var delay = error.RetryAfter is { } after ? Spread(after) : ThrottleDelay(error.ErrCode ?? 45009, status.Throttles);
        status.ThrottledAt = now;
        status.ThrottledUntil = now + delay;
        status.UpdatedAt = now;
        if (!await store.TryReplaceAsync(status, cancellationToken)) return null;
        metrics.Throttled(error.Api, error.ErrCode);
        LogThrottled(status.LivingId, status.RunId, page, error.ErrCode ?? 0, delay.TotalSeconds, status.Throttles);
        return new StepResult(StepOutcome.Throttled, status, HarvestRuns.NextPageOf(status), error.Message, delay);
    }

    /// <summary>
    /// A known wait (the budget's window ends, WeCom's hour turns) and up to a tenth more, at most 5 s, so that the
    /// pages put back for the same moment do not all come back at once.
    /// </summary>
    internal static TimeSpan Spread(TimeSpan after) =>
        after + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * Math.Min(5_000, after.TotalMilliseconds / 10 + 500));

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
        var status = await store.GetAsync(LiveOf(message), cancellationToken);
        if (Guard(message, null, status) is not null) return;
        status!.LastErrorCode = error is WeComException { ErrCode: { } code } ? code : null;
        status.LastErrorMessage = error is WeComException or SecretUnavailableException ? error.Message : $"{error.GetType().Name}: {error.Message}";
        // A sign of life: the message is alive and the queue will deliver it again, so the sweeper leaves the run be.
        status.UpdatedAt = time.GetUtcNow();
        await store.TryReplaceAsync(status, cancellationToken);
    }

    /// <summary>
    /// A page's message used up its deliveries and landed in the poison queue: the run fails, with the last error.
    /// A poisoned copy of a page that was done after all, or of another run, changes nothing (false).
    /// </summary>
    public async Task<bool> FailPoisonedAsync(HarvestPageMessage message, int maxDeliveries, CancellationToken cancellationToken)
    {
        var result = await store.UpdateStatusAsync(LiveOf(message), async status =>
        {
            if (Guard(message, null, status) is { } stale) return stale;
            var last = status!.LastErrorMessage is { } error ? $" Last error: {error}" : "";
            return await FailAsync(status, null, status.LastErrorCode,
                $"Page {message.Page} failed {maxDeliveries} deliveries and was moved to {HarvestPageMessage.PoisonQueueName}.{last} "
                + "Fix the cause, then retry the run (POST /api/harvests/{livingid}/retry or watchstat retry).", cancellationToken);
        }, cancellationToken);
        return result.Outcome == StepOutcome.Failed;
    }

    /// <summary>
    /// Fails the run with the error; null when another writer moved it since it was read. A run that
    /// <paramref name="awaitsTicket"/> is noted first among the runs the suite's next suite_ticket puts back to work
    /// (<see cref="HarvestStore.MarkAwaitingTicketAsync"/>).
    /// </summary>
    public async Task<StepResult?> FailAsync(
        HarvestRecord status, string? deliveryId, int? errCode, string error, CancellationToken cancellationToken, bool awaitsTicket = false)
    {
        if (awaitsTicket) await store.MarkAwaitingTicketAsync(status, cancellationToken);
        status.State = HarvestStates.Failed;
        status.LastErrorCode = errCode;
        status.LastErrorMessage = error;
        status.UpdatedAt = time.GetUtcNow();
        status.LastMessageId = deliveryId;
        if (!await store.TryReplaceAsync(status, cancellationToken)) return null;
        LogFailed(status.LivingId, status.RunId, status.PagesDone + 1, errCode, error);
        await EndedAsync(status, cancellationToken);
        return new StepResult(StepOutcome.Failed, status, null, error);
    }

    /// <summary>
    /// A run that ended leaves the sweeper's index. Best effort: the run has ended whatever happens here, and an
    /// entry left behind is removed by the sweeper.
    /// </summary>
    private async Task EndedAsync(HarvestRecord status, CancellationToken cancellationToken)
    {
        try
        {
            await store.UnmarkActiveAsync(status, cancellationToken);
        }
        catch (Azure.RequestFailedException ex)
        {
            LogIndexLeft(status.LivingId, status.RunId, ex.Status);
        }
    }

    /// <summary>
    /// The live a message is about: its corp, or for a message from before corps were keyed, its app's. A message of
    /// an app that no longer exists names the key nothing is stored under, and its step finds no run.
    /// </summary>
    public LiveKey LiveOf(HarvestPageMessage message) =>
        new(message.CorpId ?? apps.Find(message.App)?.CorpId ?? "", message.LivingId);

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Harvest {LivingId} run {RunId} ended, but its entry in the active-run index could not be removed (HTTP {Status}); the sweeper removes it")]
    private partial void LogIndexLeft(string livingId, string runId, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Harvest {LivingId} page {Page}: {Count} viewers without an id were left out")]
    private partial void LogSkipped(string livingId, int page, int count);
}
