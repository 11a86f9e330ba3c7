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
    DiscoverySender discoverySender,
    IOptions<HarvestOptions> options,
    TimeProvider time,
    ILogger<Discovery> logger)
{
    /// <summary>How many get_living_info calls run at once.</summary>
    private const int InfoParallelism = 8;

    /// <summary>
    /// The whole night in this process (<c>watchstat discover</c>): every target of <see cref="PlanAsync"/>, one after the
    /// other, each live decided once.
    /// </summary>
    /// <param name="appName">One app, or null for every configured app.</param>
    /// <param name="dryRun">Decide and report, but write and enqueue nothing.</param>
    public async Task<IReadOnlyList<DiscoveryDecision>> RunAsync(string? appName, bool dryRun, CancellationToken cancellationToken)
    {
        var night = time.GetUtcNow();
        var decisions = new List<DiscoveryDecision>();
        var seen = new HashSet<LiveKey>();
        foreach (var target in await PlanAsync(appName, night, cancellationToken))
            decisions.AddRange(await DiscoverAsync(target, seen, dryRun, cancellationToken, maxWait: Timeout.InfiniteTimeSpan));
        if (appName is null) decisions.AddRange(await ArrivalsOfRemovedAppsAsync(night, seen, cancellationToken));

        if (!dryRun) await livings.PruneArrivalsAsync(WindowStart(night), cancellationToken);
        var (enqueued, notRead) = (decisions.Count(d => d.Enqueue), decisions.Count(d => d.Reason.EndsWith(FinalSuffix, StringComparison.Ordinal)));
        LogDone(enqueued, decisions.Count, notRead, dryRun);
        return decisions;
    }

    /// <summary>
    /// The night on the queue (the timer): one <c>discover-anchors</c> message per app, corp and anchor, and one per app
    /// for its arrivals, for <see cref="DiscoverAsync"/> to take up on any instance. Nothing long runs in the timer.
    /// </summary>
    public async Task<int> EnqueueNightAsync(CancellationToken cancellationToken)
    {
        var night = time.GetUtcNow();
        var targets = await PlanAsync(appName: null, night, cancellationToken);
        foreach (var target in targets) await discoverySender.SendAsync(target, cancellationToken);
        await livings.PruneArrivalsAsync(WindowStart(night), cancellationToken);
        LogPlanned(targets.Count, night);
        return targets.Count;
    }

    /// <summary>What a night discovers: each app's corps' anchors, then the app's arrivals (anchor null).</summary>
    public async Task<IReadOnlyList<DiscoveryMessage>> PlanAsync(string? appName, DateTimeOffset night, CancellationToken cancellationToken)
    {
        var targets = new List<DiscoveryMessage>();
        foreach (var app in appName is null ? apps.All : [apps.Get(appName)])
        {
            foreach (var (corp, anchors) in await CorpsOfAsync(app, cancellationToken))
                targets.AddRange(anchors.Select(anchor => new DiscoveryMessage(app.Name, corp, anchor, night)));
            targets.Add(new DiscoveryMessage(app.Name, "", null, night));
        }
        return targets;
    }

    /// <summary>
    /// One target of a night: an anchor's lives in a corp, or (no anchor) the lives that arrived for the app within the
    /// window. The night's start is "now" for every decision, wherever and whenever the target runs, and a run started
    /// since then is the night's own: a target delivered twice starts nothing twice.
    /// </summary>
    /// <param name="seen">Lives already decided this night, in this process (they are skipped); null to decide each.</param>
    /// <param name="maxWait">
    /// The longest throttle (a used-up budget, WeCom's 45009) waited out in this process; a longer one is thrown
    /// (<see cref="WeComErrorKind.Throttled"/> with its <see cref="WeComException.RetryAfter"/>) for the caller to come
    /// back later. <see cref="Timeout.InfiniteTimeSpan"/> waits out every throttle.
    /// </param>
    public async Task<IReadOnlyList<DiscoveryDecision>> DiscoverAsync(
        DiscoveryMessage target, HashSet<LiveKey>? seen, bool dryRun, CancellationToken cancellationToken, TimeSpan? maxWait = null)
    {
        var patience = maxWait ?? Timeout.InfiniteTimeSpan;
        seen ??= [];
        var now = target.Night;
        var windowStart = WindowStart(now);
        var decisions = new List<DiscoveryDecision>();
        if (apps.Find(target.App) is not { } app)
        {
            LogAppGone(target.App);
            return decisions;
        }

        if (target.AnchorUserId is { } anchor)
        {
            var ids = (await PatientlyAsync(ct => wecom.ListLivingIdsAsync(app, target.CorpId, anchor, ct), patience, cancellationToken)).Select(id => new LiveKey(target.CorpId, id)).Where(seen.Add).ToList();
            // Lives whose stored info is final are not read from WeCom again: what it would say cannot change the decision.
            var (toRead, final, readTonight) = await SplitFinalAsync(ids, windowStart, now, cancellationToken);
            decisions.AddRange(final.Select(f => new DiscoveryDecision(
                app.Name, anchor, f.Live.LivingId, f.Row.GetString("Theme"), f.Row.GetInt32("Status"), false, f.Reason, CorpId: f.Live.CorpId)));
            // Back at an anchor the same night (a throttle put it back): what was read is decided on as read.
            foreach (var (live, info) in readTonight)
                decisions.Add(await DecideAsync(app, anchor, live, info, null, arrival: null, windowStart, now, dryRun, cancellationToken));
            foreach (var (live, info, error) in await ReadInfosAsync(app, toRead, dryRun, now, patience, cancellationToken))
                decisions.Add(await DecideAsync(app, anchor, live, info, error, arrival: null, windowStart, now, dryRun, cancellationToken));
            return decisions;
        }

        // Lives that came in through POST /api/harvests or a callback within the window, whoever their anchor is.
        var lives = (await livings.ArrivalsAsync(windowStart, now, cancellationToken, app.Name)).Where(a => seen.Add(a.Live)).ToList();
        var infos = await ReadInfosAsync(app, [.. lives.Select(a => a.Live)], dryRun, now, patience, cancellationToken);
        for (var i = 0; i < lives.Count; i++) // the infos come in the order of the ids asked for
        {
            var (live, info, error) = infos[i];
            decisions.Add(await DecideAsync(app, null, live, info, error, (lives[i].ArrivedAt, lives[i].Via), windowStart, now, dryRun, cancellationToken));
        }
        return decisions;
    }

    /// <summary>Arrivals within the window whose app is no longer configured: reported, not harvested.</summary>
    private async Task<IEnumerable<DiscoveryDecision>> ArrivalsOfRemovedAppsAsync(DateTimeOffset night, HashSet<LiveKey> seen, CancellationToken cancellationToken) =>
        (await livings.ArrivalsAsync(WindowStart(night), night, cancellationToken))
            .Where(a => apps.Find(a.App) is null && seen.Add(a.Live))
            .Select(a => new DiscoveryDecision(a.App, null, a.Live.LivingId, null, null, false, $"its app '{a.App}' is no longer configured", CorpId: a.Live.CorpId));

    private DateTimeOffset WindowStart(DateTimeOffset night) => night.AddDays(-options.Value.LookbackDays);

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
    private async Task<(List<LiveKey> ToRead, List<(LiveKey Live, TableEntity Row, string Reason)> Final, List<(LiveKey Live, LivingInfo Info)> ReadTonight)> SplitFinalAsync(
        IReadOnlyList<LiveKey> ids, DateTimeOffset windowStart, DateTimeOffset night, CancellationToken cancellationToken)
    {
        var rows = new TableEntity?[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), new ParallelOptions { MaxDegreeOfParallelism = InfoParallelism, CancellationToken = cancellationToken },
            async (i, ct) => rows[i] = await livings.GetAsync(ids[i], ct));
        var (toRead, final, readTonight) = (new List<LiveKey>(), new List<(LiveKey, TableEntity, string)>(), new List<(LiveKey, LivingInfo)>());
        for (var i = 0; i < ids.Count; i++)
        {
            if (LivingStore.FinalReason(rows[i], windowStart, options.Value.LookbackDays) is { } reason) final.Add((ids[i], rows[i]!, reason));
            else if (LivingStore.InfoReadSince(rows[i], night) is { } info) readTonight.Add((ids[i], info));
            else toRead.Add(ids[i]);
        }
        return (toRead, final, readTonight);
    }

    private async Task<IReadOnlyList<(LiveKey Live, LivingInfo? Info, string? Error)>> ReadInfosAsync(
        WeComApp app, IReadOnlyList<LiveKey> ids, bool dryRun, DateTimeOffset now, TimeSpan patience, CancellationToken cancellationToken)
    {
        var results = new (LiveKey, LivingInfo?, string?)[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), new ParallelOptions { MaxDegreeOfParallelism = InfoParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                try
                {
                    var info = await PatientlyAsync(c => wecom.GetLivingInfoAsync(app, ids[i].CorpId, ids[i].LivingId, c), patience, ct);
                    // A live retention would delete is not stored again (its viewers are not harvested either: it ended
                    // before the lookback window, which retention exceeds).
                    if (!dryRun && !Privacy.Retention.IsExpired(info, now, options.Value)) await livings.SaveInfoAsync(ids[i], app.Name, info, now, ct);
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

    /// <summary>
    /// A WeCom call that waits out throttles up to <paramref name="patience"/> each: the budget's window end or the
    /// hour cap when known, else the page step's growing back-off. A longer wait is thrown to the caller.
    /// </summary>
    private async Task<T> PatientlyAsync<T>(Func<CancellationToken, Task<T>> call, TimeSpan patience, CancellationToken cancellationToken)
    {
        for (var throttles = 1; ; throttles++)
        {
            try
            {
                return await call(cancellationToken);
            }
            catch (WeComException ex) when (ex.Kind == WeComErrorKind.Throttled)
            {
                var delay = ex.RetryAfter is { } after ? HarvestStep.Spread(after) : HarvestStep.ThrottleDelay(ex.ErrCode ?? 45009, throttles);
                if (patience != Timeout.InfiniteTimeSpan && delay > patience) throw;
                LogThrottled(ex.Api, ex.ErrCode, delay.TotalSeconds);
                await Task.Delay(options.Value.Scaled(delay), time, cancellationToken);
            }
        }
    }

    private async Task<DiscoveryDecision> DecideAsync(
        WeComApp app, string? anchor, LiveKey live, LivingInfo? info, string? error, (DateTimeOffset At, string Via)? arrival,
        DateTimeOffset windowStart, DateTimeOffset now, bool dryRun, CancellationToken cancellationToken)
    {
        var livingId = live.LivingId;
        DiscoveryDecision Skip(string reason) => new(app.Name, anchor, livingId, info?.Theme, info?.Status, false, reason, CorpId: live.CorpId);

        // The rules of every other way in: a live no URL could name is never started.
        if (LivingIdRules.Check(livingId) is { } wrongId) return Skip(wrongId);
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
        // The night's runs start after the night does (its targets are taken up once it has begun).
        if (current is not null && current.StartedAt > now)
            return Skip($"already {current.State} this night (run {current.RunId})");
        if (current is not null && HarvestStates.IsActive(current.State))
            return Skip($"already {current.State} (run {current.RunId})");
        if (current is { State: HarvestStates.Completed }) why += "; a fresh run refreshes the completed one";
        if (dryRun) return new DiscoveryDecision(app.Name, anchor, livingId, info.Theme, info.Status, true, why, CorpId: live.CorpId);

        // A run started since the night began is the night's own (this target delivered again): it is returned, not doubled.
        var start = await runs.StartAsync(live, app, force: false, cancellationToken, unlessStartedSince: now.AddTicks(1));
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Nightly harvest of {Night:u}: {Targets} discovery messages enqueued (one per app, corp and anchor, one per app for its arrivals)")]
    private partial void LogPlanned(int targets, DateTimeOffset night);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Nightly harvest: a discovery message names app {App}, which is no longer configured; skipped")]
    private partial void LogAppGone(string app);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discovery: WeCom {Api} throttled (errcode {ErrCode}; none: the shared budget is used up); waiting {DelaySeconds:0.#} s")]
    private partial void LogThrottled(string api, int? errCode, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Nightly harvest: {Enqueued} of {Lives} lives enqueued, {Final} final ones not read again (dry run: {DryRun})")]
    private partial void LogDone(int enqueued, int lives, int final, bool dryRun);
}
