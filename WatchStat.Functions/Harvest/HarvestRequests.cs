using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Harvest;

/// <summary>What a harvest request did: the problem with it, or the run it started or found and the first page to send.</summary>
public sealed record HarvestRequestResult(string? Problem, HarvestStart? Start)
{
    public bool Accepted => Problem is null;
}

/// <summary>
/// A request to harvest a live, from outside (a webhook through <c>POST /api/harvests</c>, an operator through
/// <c>watchstat enqueue</c>, WeCom's callback when a live ends): checked the same way, remembered as an arrival (the nightly harvest refreshes such
/// lives), and started under the no-second-chain rule. Sending the first page is the caller's part: the HTTP
/// function through its output binding, the CLI through <see cref="HarvestPageSender"/>.
/// </summary>
public sealed class HarvestRequests(WeComApps apps, LivingStore livings, HarvestRuns runs, TimeProvider time)
{
    public async Task<HarvestRequestResult> RequestAsync(string? livingId, string? appName, bool force, CancellationToken cancellationToken)
    {
        if (LivingIdRules.Check(livingId) is { } wrongId) return new HarvestRequestResult(wrongId, null);
        if (apps.Check(appName) is { } wrongApp) return new HarvestRequestResult(wrongApp, null);

        var app = apps.Get(appName);
        await livings.RecordArrivalAsync(livingId!, app.Name, LivingStore.ArrivedViaHttp, time.GetUtcNow(), cancellationToken);
        return new HarvestRequestResult(null, await runs.StartAsync(livingId!, app, force, cancellationToken));
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
