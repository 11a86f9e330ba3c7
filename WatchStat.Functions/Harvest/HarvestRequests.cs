using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Harvest;

/// <summary>What a harvest request did: the problem with it, or the run it started or found and the first page to send.</summary>
public sealed record HarvestRequestResult(string? Problem, HarvestStart? Start)
{
    public bool Accepted => Problem is null;

    /// <summary>The live is harvested as another app: a conflict with the stored run (HTTP 409), not bad input.</summary>
    public bool Conflict { get; init; }
}

/// <summary>
/// A request to harvest a live, from outside (a webhook through <c>POST /api/harvests</c>, an operator through
/// <c>watchstat enqueue</c>, WeCom's callback when a live ends): checked the same way, remembered as an arrival (the nightly harvest refreshes such
/// lives), and started under the no-second-chain rule. Sending the first page is the caller's part: the HTTP
/// function through its output binding, the CLI through <see cref="HarvestPageSender"/>.
/// </summary>
public sealed class HarvestRequests(WeComApps apps, LivingStore livings, HarvestStore store, HarvestRuns runs, TimeProvider time)
{
    public async Task<HarvestRequestResult> RequestAsync(string? livingId, string? appName, bool force, CancellationToken cancellationToken)
    {
        if (LivingIdRules.Check(livingId) is { } wrongId) return new HarvestRequestResult(wrongId, null);
        if (apps.Check(appName) is { } wrongApp) return new HarvestRequestResult(wrongApp, null);

        var app = apps.Get(appName);
        // Refused before anything is written; HarvestRuns checks again under the row's ETag for a race.
        if (await store.GetAsync(livingId!, cancellationToken) is { } stored && !HarvestRuns.IsSameApp(stored, app))
            return new HarvestRequestResult(HarvestRuns.OtherAppProblem(stored, app), null) { Conflict = true };
        await livings.RecordArrivalAsync(livingId!, app.Name, LivingStore.ArrivedViaHttp, time.GetUtcNow(), cancellationToken);
        var start = await runs.StartAsync(livingId!, app, force, cancellationToken);
        return start.OtherApp is null
            ? new HarvestRequestResult(null, start)
            : new HarvestRequestResult(HarvestRuns.OtherAppProblem(start.Status, app), null) { Conflict = true };
    }

    /// <summary>
    /// A live WeCom's callback says has ended: remembered as arrived through the callback, and started as a POST
    /// would start it, except that a run started since the event first arrived (<paramref name="firstReceivedAt"/>)
    /// counts as the event's own: a delivery of the same event again never starts a second run.
    /// </summary>
    public async Task<HarvestStart> RequestEndedAsync(string livingId, WeComApp app, DateTimeOffset firstReceivedAt, CancellationToken cancellationToken)
    {
        await livings.RecordArrivalAsync(livingId, app.Name, LivingStore.ArrivedViaCallback, time.GetUtcNow(), cancellationToken);
        return await runs.StartAsync(livingId, app, force: false, cancellationToken, unlessStartedSince: firstReceivedAt);
    }
}
