using System.Globalization;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Harvest;

/// <summary>
/// What starting a harvest did: the live's status row, and the first page's message when one must be sent. When the
/// live's run belongs to another WeCom app (<see cref="OtherApp"/>), nothing was started or changed.
/// </summary>
public sealed record HarvestStart(HarvestRecord Status, HarvestPageMessage? FirstPage, bool Created)
{
    /// <summary>The app of the live's stored run, when it is not the app that asked: its rows are that app's.</summary>
    public string? OtherApp { get; init; }
}

/// <summary>A retry: the run as it now stands and the message that re-drives it, or the problem when there is none.</summary>
public sealed record HarvestRetry(HarvestRecord? Status, HarvestPageMessage? Next, string? Problem);

/// <summary>Starts harvest runs; the HTTP function, the CLI and the nightly harvest all start them here.</summary>
public sealed class HarvestRuns(HarvestStore store, TimeProvider time)
{
    /// <summary>
    /// Starts a run for a live, unless one is already queued or running (then that one is returned as it is, with
    /// no message, so a live never gets a second chain) or <paramref name="force"/> is set. With
    /// <paramref name="unlessStartedSince"/>, a run started at or after that time, whatever its state, is returned
    /// in the same way: a request delivered again (a WeCom callback) finds the run its first delivery started. If the
    /// first page's message is lost after the row was written, the stalled-run sweeper sends it again.
    /// </summary>
    public Task<HarvestStart> StartAsync(
        LiveKey live, WeComApp app, bool force, CancellationToken cancellationToken, DateTimeOffset? unlessStartedSince = null) =>
        store.UpdateStatusAsync(live, async existing =>
        {
            if (existing is not null && !IsSameApp(existing, app))
                return new HarvestStart(existing, FirstPage: null, Created: false) { OtherApp = existing.App };
            if (existing is not null && !force && (HarvestStates.IsActive(existing.State) || existing.StartedAt >= unlessStartedSince))
                return new HarvestStart(existing, FirstPage: null, Created: false);

            var record = HarvestRecord.NewRun(live, app.Name, NewRunId(), time.GetUtcNow());
            // On the sweeper's index before the status row says queued: a crash in between leaves an entry it removes.
            await store.MarkActiveAsync(record, cancellationToken);
            record.ETag = existing?.ETag ?? default;
            var written = existing is null
                ? await store.TryAddAsync(record, cancellationToken)
                : await store.TryReplaceAsync(record, cancellationToken);
            // Not written: someone else started or moved a run in between; look again.
            return written ? new HarvestStart(record, FirstPageOf(record), Created: true) : null;
        }, cancellationToken);

    /// <summary>
    /// Puts a failed run back to work from its checkpoint: the page it failed on is fetched again, the pages before
    /// it are not. Returns the message to send, or why there is none (no run, or a run that has not failed).
    /// </summary>
    public Task<HarvestRetry> RetryAsync(LiveKey live, CancellationToken cancellationToken) =>
        store.UpdateStatusAsync(live, async status =>
        {
            if (status is null) return new HarvestRetry(null, null, NotRecordedProblem(live));
            if (status.State != HarvestStates.Failed)
                return new HarvestRetry(status, null, $"Run {status.RunId} of live '{live.LivingId}' is {status.State}: only a failed run can be retried.");

            status.State = status.PagesDone == 0 ? HarvestStates.Queued : HarvestStates.Running;
            status.LastErrorCode = null;
            status.LastErrorMessage = null;
            status.Throttles = 0;
            status.RedrivenAt = null;
            status.UpdatedAt = time.GetUtcNow();
            await store.MarkActiveAsync(status, cancellationToken);
            return await store.TryReplaceAsync(status, cancellationToken) ? new HarvestRetry(status, NextPageOf(status), null) : null;
        }, cancellationToken);

    public static bool IsSameApp(HarvestRecord run, WeComApp app) => string.Equals(run.App, app.Name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Why a request of <paramref name="app"/> for a live harvested as another app is refused (409, CLI exit 2).</summary>
    public static string OtherAppProblem(HarvestRecord run, WeComApp app) =>
        $"Live '{run.LivingId}' is harvested as WeCom app '{run.App}', not '{app.Name}': its status and viewer rows are that app's, and a "
        + $"run of another app would overwrite them. Name app '{run.App}' to harvest it again.";

    /// <summary>Why there is nothing to show or retry for a live (404).</summary>
    public static string NotRecordedProblem(LiveKey live) => $"No harvest is recorded for live '{live.LivingId}' of corp '{live.CorpId}'.";

    public static HarvestPageMessage FirstPageOf(HarvestRecord run) => new(run.LivingId, run.RunId, 1, "0", run.App, run.CorpId);

    /// <summary>The message that fetches the page after the checkpoint.</summary>
    public static HarvestPageMessage NextPageOf(HarvestRecord run) => new(run.LivingId, run.RunId, run.PagesDone + 1, run.NextKey, run.App, run.CorpId);

    /// <summary>Sortable and readable: <c>20261126T081500Z-3f9a1c2b</c>.</summary>
    private string NewRunId() =>
        time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
}
