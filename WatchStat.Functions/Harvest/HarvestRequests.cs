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
public sealed class HarvestRequests(WeComApps apps, LivingStore livings, InstallationStore installations, HarvestRuns runs, TimeProvider time)
{
    public async Task<HarvestRequestResult> RequestAsync(string? livingId, string? appName, string? corpId, bool force, CancellationToken cancellationToken)
    {
        if (LivingIdRules.Check(livingId) is { } wrongId) return new HarvestRequestResult(wrongId, null);
        if (apps.Check(appName) is { } wrongApp) return new HarvestRequestResult(wrongApp, null);

        var app = apps.Get(appName);
        if (WeComApps.CheckCorp(app, corpId, out var corp) is { } wrongCorp) return new HarvestRequestResult(wrongCorp, null);
        if (app.IsInstalled && await installations.GetAsync(app, corp, cancellationToken) is not { IsAuthorized: true })
            return new HarvestRequestResult($"Corp {corp} has not authorized WeCom app '{app.Name}' (no create_auth from WeCom, or it was cancelled): "
                + "WatchStat can read a corp's lives once the corp installs the app.", null);
        var start = await StartAsync(new LiveKey(corp, livingId!), app, LivingStore.ArrivedViaHttp, force, unlessStartedSince: null, cancellationToken);
        return start.OtherApp is null
            ? new HarvestRequestResult(null, start)
            : new HarvestRequestResult(HarvestRuns.OtherAppProblem(start.Status, app), null) { Conflict = true };
    }

    /// <summary>
    /// A live WeCom's callback says has ended: remembered as arrived through the callback, and started as a POST
    /// would start it, except that a run started since the event first arrived (<paramref name="firstReceivedAt"/>)
    /// counts as the event's own: a delivery of the same event again never starts a second run.
    /// </summary>
    public Task<HarvestStart> RequestEndedAsync(LiveKey live, WeComApp app, DateTimeOffset firstReceivedAt, CancellationToken cancellationToken) =>
        StartAsync(live, app, LivingStore.ArrivedViaCallback, force: false, firstReceivedAt, cancellationToken);

    /// <summary>
    /// Starts the run (which refuses, writing nothing, a live harvested as another app), then remembers the arrival.
    /// A crash in between leaves a run that completes, and a caller that gets no answer and asks again: the arrival
    /// is written then.
    /// </summary>
    private async Task<HarvestStart> StartAsync(
        LiveKey live, WeComApp app, string via, bool force, DateTimeOffset? unlessStartedSince, CancellationToken cancellationToken)
    {
        var start = await runs.StartAsync(live, app, force, cancellationToken, unlessStartedSince);
        if (start.OtherApp is null) await livings.RecordArrivalAsync(live, app.Name, via, time.GetUtcNow(), cancellationToken);
        return start;
    }
}
