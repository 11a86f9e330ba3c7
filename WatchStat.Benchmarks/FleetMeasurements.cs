using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Benchmarks;

/// <summary>
/// (11) One night of discovery (<see cref="Discovery.RunAsync"/>, the path <c>watchstat discover</c> takes): the lives
/// listed, the WeCom calls it made (get_user_all_livingid, get_living_info), the lives it enqueued, the lives whose
/// stored info was final and so not read again, its wall time, and the storage requests it made (tables, queues).
/// </summary>
public sealed record NightFigures(
    int Listed, long ListCalls, long InfoCalls, int Enqueued, int NotReadAgain, int Undescribed, double Seconds, long TableRequests, long QueueRequests);

/// <summary>
/// (11) Two nights a day apart. <see cref="StillChanging"/>: the lives night 2 must read, from the simulator's data as
/// night 2 begins: scheduled, on air, or ended within the window (every other live's stored info is final).
/// </summary>
public sealed record DiscoveryFigures(NightFigures Night1, NightFigures Night2, int StillChanging);

/// <summary>
/// (13) One sweep (<see cref="StalledRunSweeper.SweepAsync"/>) over <see cref="Finished"/> finished runs and
/// <see cref="Active"/> active ones: the storage requests it made (each one "METHOD /path", in order, in
/// <see cref="Requests"/>), whether it found the stalled run, and its wall time.
/// </summary>
public sealed record SweepFigures(
    int Finished, int Active, long TableRequests, long QueueRequests, IReadOnlyList<string> Requests, bool StalledFound, int Redriven, double Milliseconds);

/// <summary>(13) The same sweep over few finished runs and over many.</summary>
public sealed record SweepComparison(SweepFigures Few, SweepFigures Many);

/// <summary>
/// The fleet part of the benchmark: the app's own services (<see cref="WatchStatServiceCollectionExtensions.AddWatchStat"/>)
/// in this process, on the benchmark's Azurite and a WeCom simulator of its own, both on a clock of their own
/// (<see cref="FleetClock"/>) years from now, as NightlyHarvestTests has it: discovery can be moved a night on, and no
/// live, arrival or run of the rest of the benchmark falls into its window. Every livingid and anchor carries a tag of
/// this run. Storage requests are counted at the transport (<see cref="RequestCounter"/>, per attempt: what storage
/// bills). Nothing here asserts: the goals are judged by <see cref="Report"/>.
/// </summary>
public sealed class FleetMeasurements : IAsyncDisposable
{
    /// <summary>
    /// WeCom:MaxCallsPerMinute here: the client's ceiling (100,000), so that the client's limiter is not what is timed.
    /// At WeCom's own 10,000 a minute, the night 1 (60,000 get_living_info calls) would take six minutes in
    /// calls alone; this figure counts the calls rather than wait for them.
    /// </summary>
    public const int MaxCallsPerMinute = 100_000;

    private readonly FleetClock _clock;
    private readonly RunningSimulator _simulator;
    private readonly ServiceProvider _app;
    private readonly RequestCounter _tables;
    private readonly RequestCounter _queues;
    private readonly string _tag;
    private readonly IReadOnlyList<string> _anchors;

    private FleetMeasurements(FleetClock clock, RunningSimulator simulator, ServiceProvider app, RequestCounter tables, RequestCounter queues, string tag, IReadOnlyList<string> anchors)
    {
        _clock = clock;
        _simulator = simulator;
        _app = app;
        _tables = tables;
        _queues = queues;
        _tag = tag;
        _anchors = anchors;
    }

    /// <summary>Starts the simulator and builds the app's services, configured with <paramref name="anchors"/> anchors (their lives are made by figure 11).</summary>
    public static async Task<FleetMeasurements> StartAsync(string storageConnectionString, int anchors)
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var clock = new FleetClock(new DateTimeOffset(2030, 1, 1, 18, 0, 0, TimeSpan.Zero).AddDays(14 * Random.Shared.Next(0, 5_000)));
        // Per-corp rate limits of the simulator stay off (its default): the calls are counted, not throttled.
        var simulator = await SimulatorHost.StartAsync(new SimulatorOptions(), clock);
        var anchorIds = Enumerable.Range(0, anchors).Select(i => $"fleet{tag}a{i:D4}").ToList();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["WeCom:BaseUrl"] = simulator.BaseUrl.ToString(),
            ["WeCom:CorpId"] = SimulatorOptions.DefaultCorpId,
            ["WeCom:Secret"] = SimulatorOptions.DefaultSecret,
            ["WeCom:MaxCallsPerMinute"] = MaxCallsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["WeCom:Apps:default:AnchorUserIds"] = string.Join(",", anchorIds),
            [StorageClients.SettingName] = storageConnectionString,
        }).Build();
        var (tables, queues) = (new RequestCounter(), new RequestCounter());
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        // Registered before the app's own (which only adds what is missing): the clock, and storage clients that count.
        services.AddSingleton<TimeProvider>(clock);
        services.AddSingleton(StorageClients.FromConfiguration(configuration,
            configureTables: o => o.AddPolicy(tables, HttpPipelinePosition.PerRetry),
            configureQueues: o => o.AddPolicy(queues, HttpPipelinePosition.PerRetry)));
        services.AddWatchStat();
        return new FleetMeasurements(clock, simulator, services.BuildServiceProvider(), tables, queues, tag, anchorIds);
    }

    private T Get<T>() where T : notnull => _app.GetRequiredService<T>();

    private IEnumerable<SimulatedLivingInfo> AllLives => _anchors.SelectMany(_simulator.State.Anchors.LivesOf);

    /// <summary>
    /// (11) Each anchor gets <paramref name="livesPerAnchor"/> lives spread over two years (the simulator's generator:
    /// by index, one in ten scheduled, one on air, one expired, one cancelled, six ended). During the day before each
    /// night one live on air per anchor ends, so each night has lives that ended within its window to enqueue; the
    /// rest of the ended ones lie long before it. Night 1 finds nothing stored and reads every live; the clock moves a
    /// day on; night 2 reads only what can still change. Discovery enqueues the first page of each run it starts
    /// (as it does); the queue is not run, and is emptied afterwards.
    /// </summary>
    public async Task<DiscoveryFigures> DiscoveryTwoNightsAsync(int livesPerAnchor)
    {
        var spacing = TimeSpan.FromDays(2 * 365.0 / Math.Max(1, livesPerAnchor)); // 58.4 hours for 300 lives
        foreach (var anchor in _anchors) _simulator.State.Anchors.Add(anchor, livesPerAnchor, spacing);
        var lookbackDays = Get<IOptions<HarvestOptions>>().Value.LookbackDays;

        EndOneLiveOnAirPerAnchor(index: 1);
        var night1 = await NightAsync(_anchors.Count * livesPerAnchor);

        _clock.Advance(TimeSpan.FromDays(1));
        EndOneLiveOnAirPerAnchor(index: 11);
        // As night 2 begins (the window's edge is days from any live's end, so the moment Discovery reads its clock is no different).
        var windowStart = _clock.GetUtcNow().AddDays(-lookbackDays);
        var stillChanging = AllLives.Count(l => l.Status is 0 or 1 || (l.Status == 2 && l.EndedAt >= windowStart));
        var night2 = await NightAsync(_anchors.Count * livesPerAnchor);

        await Get<HarvestPageSender>().Client.ClearMessagesAsync();
        return new DiscoveryFigures(night1, night2, stillChanging);
    }

    /// <summary>The anchor's live of that index, generated on air (status 1), ends now (as WeCom's status callback would announce it).</summary>
    private void EndOneLiveOnAirPerAnchor(int index)
    {
        foreach (var anchor in _anchors)
        {
            var lives = _simulator.State.Anchors.LivesOf(anchor);
            if (lives.Count > index && lives[index].Status == 1) _simulator.State.Anchors.SetStatus(lives[index].LivingId, null, 2);
        }
    }

    private async Task<NightFigures> NightAsync(int expectedListed)
    {
        var counters = _simulator.State.Counters;
        counters.Reset();
        _tables.Reset();
        _queues.Reset();
        var clock = Stopwatch.StartNew();
        var decisions = await Get<Discovery>().RunAsync(appName: null, dryRun: false, default);
        var seconds = clock.Elapsed.TotalSeconds;
        var listed = decisions.Count(d => d.AnchorUserId is not null);
        if (listed != expectedListed)
            throw new InvalidOperationException($"Discovery listed {listed:N0} lives of the fleet's anchors, not {expectedListed:N0}.");
        return new NightFigures(
            listed,
            counters.Calls(WeComClient.GetUserAllLivingIdApi),
            counters.Calls(WeComClient.GetLivingInfoApi),
            decisions.Count(d => d.Enqueue),
            decisions.Count(d => d.Reason.EndsWith("not read again", StringComparison.Ordinal)),
            decisions.Count(d => d.Reason.StartsWith("WeCom would not describe it", StringComparison.Ordinal)),
            seconds,
            _tables.Count,
            _queues.Count);
    }

    /// <summary>
    /// (13) The <c>Harvests</c> table with <paramref name="few"/> finished runs and five active ones, the first of them
    /// stalled (its first page's message lost), then with <paramref name="many"/> finished runs: one sweep's storage
    /// requests each time. Active runs are started as the app starts them (<see cref="HarvestRuns.StartAsync"/>);
    /// finished ones are written as the page step leaves a completed run (a status row and a page record, as
    /// StalledRunSweeperTests writes them), not harvested. Before each counted sweep the clock moves a stall period
    /// on and the four live runs show a sign of life (their status row written, as each page does), so every sweep
    /// finds the same: four alive, one stalled (again), which it re-drives. A first sweep, not counted, warms up.
    /// </summary>
    public async Task<SweepComparison> SweepCostAsync(int few, int many)
    {
        var store = Get<HarvestStore>();
        await store.EnsureCreatedAsync();
        await Get<HarvestPageSender>().EnsureCreatedAsync();
        var app = Get<WeComApps>().Get(null);
        var runs = Get<HarvestRuns>();
        var active = new List<LiveKey>();
        for (var i = 0; i < 5; i++)
        {
            var live = new LiveKey(app.CorpId, $"lv-{_tag}-active-{i}-3m2x");
            await runs.StartAsync(live, app, force: false, default); // no message sent: each one's first page is lost
            active.Add(live);
        }
        var (stalled, alive) = (active[0], active[1..]);

        await WriteFinishedRunsAsync(store, 0, few);
        await SweepAsync(store, stalled, alive, few, active.Count); // warm-up
        var fewSweep = await SweepAsync(store, stalled, alive, few, active.Count);
        await WriteFinishedRunsAsync(store, few, many - few);
        var manySweep = await SweepAsync(store, stalled, alive, many, active.Count);
        await Get<HarvestPageSender>().Client.ClearMessagesAsync();
        return new SweepComparison(fewSweep, manySweep);
    }

    private async Task<SweepFigures> SweepAsync(HarvestStore store, LiveKey stalled, IReadOnlyList<LiveKey> alive, int finished, int active)
    {
        _clock.Advance(Get<IOptions<HarvestOptions>>().Value.StallAfter + TimeSpan.FromSeconds(1));
        foreach (var live in alive)
        {
            var run = await store.GetAsync(live, default) ?? throw new InvalidOperationException($"The run of {live.LivingId} is gone.");
            run.UpdatedAt = _clock.GetUtcNow();
            if (!await store.TryReplaceAsync(run, default)) throw new InvalidOperationException($"The run of {live.LivingId} was written meanwhile.");
        }
        _tables.Reset(record: true);
        _queues.Reset(record: true);
        var clock = Stopwatch.StartNew();
        var redriven = await Get<StalledRunSweeper>().SweepAsync(default);
        var milliseconds = clock.Elapsed.TotalMilliseconds;
        var requests = _tables.Requests.Select(r => "table " + r).Concat(_queues.Requests.Select(r => "queue " + r)).ToList();
        return new SweepFigures(finished, active, _tables.Count, _queues.Count, requests,
            redriven.Any(r => r.LivingId == stalled.LivingId), redriven.Count, milliseconds);
    }

    /// <summary>Completed runs as the page step leaves them: a status row and a page record each, in one transaction (eight at once).</summary>
    private async Task WriteFinishedRunsAsync(HarvestStore store, int from, int count)
    {
        var now = _clock.GetUtcNow();
        var corpId = Get<WeComApps>().Get(null).CorpId;
        await Parallel.ForEachAsync(Enumerable.Range(from, Math.Max(0, count)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var run = HarvestRecord.NewRun(new LiveKey(corpId, $"lv-{_tag}-finished-{i:D6}-3m2x"), WeComApp.DefaultName, $"run-{i}", now);
            run.State = HarvestStates.Completed;
            run.PagesDone = 1;
            run.MembersWritten = 3;
            run.ExternalWritten = 2;
            run.CompletedAt = now;
            await store.Harvests.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Add, run),
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(run.PartitionKey, HarvestStore.PageRowKey(1))
                    { ["CorpId"] = run.CorpId, ["RunId"] = run.RunId, ["Page"] = 1, ["Keys"] = "m:a\nm:b\nm:c\nx:d\nx:e" }),
            ], ct);
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _simulator.DisposeAsync();
    }
}

/// <summary>
/// The fleet's clock: starts where it is told and is moved on by <see cref="Advance"/>, as the tests' FakeTimeProvider,
/// but keeps ticking with real time in between, so the app's real waits (retry delays, timeouts) still end.
/// </summary>
public sealed class FleetClock(DateTimeOffset start) : TimeProvider
{
    private long _offsetTicks = (start - System.GetUtcNow()).Ticks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}

/// <summary>
/// Counts the requests a storage client sends, every attempt (placed per retry, as StalledRunSweeperTests counts
/// them with its pipeline policy); while recording, each one as "METHOD /path" (query left out), in order.
/// </summary>
public sealed class RequestCounter : HttpPipelineSynchronousPolicy
{
    private readonly ConcurrentQueue<string> _requests = new();
    private long _count;
    private volatile bool _record;

    public long Count => Interlocked.Read(ref _count);

    public IReadOnlyList<string> Requests => [.. _requests];

    public void Reset(bool record = false)
    {
        _record = false;
        _requests.Clear();
        Interlocked.Exchange(ref _count, 0);
        _record = record;
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        Interlocked.Increment(ref _count);
        if (_record) _requests.Enqueue($"{message.Request.Method} {message.Request.Uri.Path}");
    }
}
