using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Harvest;

/// <summary>What the nightly harvest decided about one live, and why.</summary>
public sealed record DiscoveryDecision(
    string App, string? AnchorUserId, string LivingId, string? Theme, int? Status, bool Enqueue, string Reason, string? RunId = null, string? CorpId = null);

/// <summary>
/// The nightly harvest: for every app and anchor, list the anchor's lives, read the details of each one that can
/// still change (not expired, cancelled or ended before the window, as stored) into <c>Livings</c>, and start a harvest for each live that ended within the lookback window, plus the lives that
/// arrived through the HTTP endpoint or WeCom's callback within it. A live already queued or running is left alone; a completed one
/// gets a fresh run (watch time grows with replay viewing).
/// </summary>
public sealed partial class Discovery(
    WeComClient wecom,
    WeComApps apps,
    LivingStore livings,
    InstallationStore installations,
    HarvestStore store,
    HarvestRuns runs,
    HarvestPageSender sender,
    IOptions<HarvestOptions> options,
    TimeProvider time,
    ILogger<Discovery> logger)
{
    /// <summary>How many get_living_info calls run at once.</summary>
    private const int InfoParallelism = 8;

    /// <param name="appName">One app, or null for every configured app.</param>
    /// <param name="dryRun">Decide and report, but write and enqueue nothing.</param>
    public async Task<IReadOnlyList<DiscoveryDecision>> RunAsync(string? appName, bool dryRun, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var windowStart = now.AddDays(-options.Value.LookbackDays);
        var targets = appName is null ? apps.All : [apps.Get(appName)];
        var decisions = new List<DiscoveryDecision>();
        var seen = new HashSet<LiveKey>();

        foreach (var app in targets)
        {
            foreach (var (corp, anchors) in await CorpsOfAsync(app, cancellationToken))
            {
                foreach (var anchor in anchors)
                {
                    var ids = (await wecom.ListLivingIdsAsync(app, corp, anchor, cancellationToken)).Select(id => new LiveKey(corp, id)).Where(seen.Add).ToList();
                    // Lives whose stored info is final are not read from WeCom again: what it would say cannot change the decision.
                    var (toRead, final) = await SplitFinalAsync(ids, windowStart, cancellationToken);
                    decisions.AddRange(final.Select(f => new DiscoveryDecision(
                        app.Name, anchor, f.Live.LivingId, f.Row.GetString("Theme"), f.Row.GetInt32("Status"), false, f.Reason, CorpId: f.Live.CorpId)));
                    var infos = await ReadInfosAsync(app, toRead, dryRun, now, cancellationToken);
                    foreach (var (live, info, error) in infos)
                        decisions.Add(await DecideAsync(app, anchor, live, info, error, arrival: null, windowStart, now, dryRun, cancellationToken));
                }
            }
        }

        // Lives that came in through POST /api/harvests within the window, whoever their anchor is.
        var arrivals = (await livings.ArrivalsAsync(windowStart, now, cancellationToken))
            .Where(a => (appName is null || string.Equals(a.App, appName, StringComparison.OrdinalIgnoreCase)) && seen.Add(a.Live))
            .ToList();
        foreach (var group in arrivals.GroupBy(a => a.App, StringComparer.OrdinalIgnoreCase))
        {
            if (apps.Find(group.Key) is not { } app)
            {
                decisions.AddRange(group.Select(a => new DiscoveryDecision(
                    group.Key, null, a.Live.LivingId, null, null, false, $"its app '{group.Key}' is no longer configured", CorpId: a.Live.CorpId)));
                continue;
            }
            var lives = group.ToList();
            var infos = await ReadInfosAsync(app, [.. lives.Select(a => a.Live)], dryRun, now, cancellationToken);
            for (var i = 0; i < lives.Count; i++) // the infos come in the order of the ids asked for
            {
                var (live, info, error) = infos[i];
                decisions.Add(await DecideAsync(app, null, live, info, error, (lives[i].ArrivedAt, lives[i].Via), windowStart, now, dryRun, cancellationToken));
            }
        }

        if (!dryRun) await livings.PruneArrivalsAsync(windowStart, cancellationToken);
        var (enqueued, notRead) = (decisions.Count(d => d.Enqueue), decisions.Count(d => d.Reason.EndsWith(FinalSuffix, StringComparison.Ordinal)));
        LogDone(enqueued, decisions.Count, notRead, dryRun);
        return decisions;
    }

    /// <summary>
    /// The corps an app harvests in, each with the anchors whose lives it lists: an app's own corp and anchors, or
    /// every corp that installed it and has not cancelled, with the anchors the operator set for it
    /// (<c>watchstat corps anchors</c>).
    /// </summary>
    private async Task<IReadOnlyList<(string CorpId, IReadOnlyList<string> Anchors)>> CorpsOfAsync(WeComApp app, CancellationToken cancellationToken)
    {
        if (!app.IsInstalled) return [(app.CorpId, app.AnchorUserIds)];
        return [.. (await installations.ListAsync(app, cancellationToken)).Where(i => i.IsAuthorized).Select(i => (i.CorpId, i.AnchorUserIds))];
    }

    private const string FinalSuffix = "not read again";

    /// <summary>
    /// Splits listed lives into those to read from WeCom and those whose stored info is final (expired, cancelled, or
    /// ended before the window): one point read of <c>Livings</c> each, in parallel, instead of a WeCom call.
    /// </summary>
    private async Task<(List<LiveKey> ToRead, List<(LiveKey Live, TableEntity Row, string Reason)> Final)> SplitFinalAsync(
        IReadOnlyList<LiveKey> ids, DateTimeOffset windowStart, CancellationToken cancellationToken)
    {
        var rows = new TableEntity?[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), new ParallelOptions { MaxDegreeOfParallelism = InfoParallelism, CancellationToken = cancellationToken },
            async (i, ct) => rows[i] = await livings.GetAsync(ids[i], ct));
        var (toRead, final) = (new List<LiveKey>(), new List<(LiveKey, TableEntity, string)>());
        for (var i = 0; i < ids.Count; i++)
        {
            if (LivingStore.FinalReason(rows[i], windowStart, options.Value.LookbackDays) is { } reason) final.Add((ids[i], rows[i]!, reason));
            else toRead.Add(ids[i]);
        }
        return (toRead, final);
    }

    private async Task<IReadOnlyList<(LiveKey Live, LivingInfo? Info, string? Error)>> ReadInfosAsync(
        WeComApp app, IReadOnlyList<LiveKey> ids, bool dryRun, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var results = new (LiveKey, LivingInfo?, string?)[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), new ParallelOptions { MaxDegreeOfParallelism = InfoParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                try
                {
                    var info = await wecom.GetLivingInfoAsync(app, ids[i].CorpId, ids[i].LivingId, ct);
                    if (!dryRun) await livings.SaveInfoAsync(ids[i], app.Name, info, now, ct);
                    results[i] = (ids[i], info, null);
                }
                catch (WeComException ex) when (!ex.IsRetryable)
                {
                    // One live WeCom will not describe must not stop the others.
                    results[i] = (ids[i], null, $"WeCom would not describe it: errcode {ex.ErrCode}, {ex.ErrMsg}");
                }
            });
        return results;
    }

    private async Task<DiscoveryDecision> DecideAsync(
        WeComApp app, string? anchor, LiveKey live, LivingInfo? info, string? error, (DateTimeOffset At, string Via)? arrival,
        DateTimeOffset windowStart, DateTimeOffset now, bool dryRun, CancellationToken cancellationToken)
    {
        var livingId = live.LivingId;
        DiscoveryDecision Skip(string reason) => new(app.Name, anchor, livingId, info?.Theme, info?.Status, false, reason, CorpId: live.CorpId);

        if (info is null) return Skip(error ?? "no details");
        if (info.Status != LivingStatus.Ended)
            return Skip($"{LivingStore.StatusName(info.Status)} (status {info.Status}): only ended lives are harvested");

        var endedAt = DateTimeOffset.FromUnixTimeSeconds(info.LivingStart + info.LivingDuration);
        string why;
        if (arrival is { } arrived)
        {
            var how = arrived.Via == LivingStore.ArrivedViaCallback ? "WeCom's callback" : "the HTTP endpoint";
            why = $"arrived through {how} {Ago(now - arrived.At)} ago";
        }
        else if (endedAt < windowStart)
        {
            return Skip($"ended {Ago(now - endedAt)} ago, before the {options.Value.LookbackDays}-day window");
        }
        else
        {
            why = $"ended {Ago(now - endedAt)} ago";
        }

        var current = await store.GetAsync(live, cancellationToken);
        if (current is not null && !HarvestRuns.IsSameApp(current, app))
            return Skip($"harvested as app '{current.App}' (run {current.RunId}): its rows are that app's");
        if (current is not null && HarvestStates.IsActive(current.State))
            return Skip($"already {current.State} (run {current.RunId})");
        if (current is { State: HarvestStates.Completed }) why += "; a fresh run refreshes the completed one";
        if (dryRun) return new DiscoveryDecision(app.Name, anchor, livingId, info.Theme, info.Status, true, why, CorpId: live.CorpId);

        var start = await runs.StartAsync(live, app, force: false, cancellationToken);
        if (start.OtherApp is { } other) return Skip($"harvested as app '{other}' (run {start.Status.RunId}): its rows are that app's");
        if (!start.Created) return Skip($"already {start.Status.State} (run {start.Status.RunId})");
        await sender.SendAsync(HarvestRuns.FirstPageOf(start.Status), delay: null, cancellationToken);
        LogEnqueued(livingId, live.CorpId, app.Name, start.Status.RunId, why);
        return new DiscoveryDecision(app.Name, anchor, livingId, info.Theme, info.Status, true, why, start.Status.RunId, live.CorpId);
    }

    private static string Ago(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{span.TotalDays:0.#} days" : span.TotalHours >= 1 ? $"{span.TotalHours:0.#} hours" : $"{Math.Max(0, span.TotalMinutes):0} minutes";

    [LoggerMessage(Level = LogLevel.Information, Message = "Nightly harvest: live {LivingId} of corp {CorpId}, app {App}, enqueued as run {RunId}: {Reason}")]
    private partial void LogEnqueued(string livingId, string corpId, string app, string runId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Nightly harvest: {Enqueued} of {Lives} lives enqueued, {Final} final ones not read again (dry run: {DryRun})")]
    private partial void LogDone(int enqueued, int lives, int final, bool dryRun);
}
