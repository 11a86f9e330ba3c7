using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Benchmarks;

/// <summary>(9) One chain in the real host: each page's time beyond its WeCom call, pages a second, host log lines a page.</summary>
public sealed record ChainFigures(IReadOnlyList<double> OverheadsMs, int Pages, double PagesPerSecond, double LogLinesPerPage);

/// <summary>(9) An idle host: POST → the live's first WeCom call, and the host's output lines a minute while idle.</summary>
public sealed record IdleFigures(double FirstPageSeconds, double LinesPerMinute);

/// <summary>(9) kill -9 with a page in flight: restart → the run's next WeCom call, and restart → the run completed.</summary>
public sealed record RecoveryFigures(double RecoverySeconds, double CompletedSeconds, int PagesBeforeKill);

/// <summary>
/// (10) WeCom's callback in the real host, as the simulator (WeCom) sees it, warm: the URL check's round trip, a status
/// event's (a Livings update), an ended event's (which starts a run), each in ms; and for one big live, "live ended"
/// (the event leaves WeCom) → its run completed, in seconds.
/// </summary>
public sealed record CallbackFigures(IReadOnlyList<double> UrlCheckMs, IReadOnlyList<double> StatusEventMs, IReadOnlyList<double> EndedEventMs, double EndedToCompletedSeconds, int Pages);

/// <summary>
/// The real-host part of the benchmark: the published app in a real Azure Functions host (<see cref="FunctionsHost"/>),
/// with its own Azurite (nothing else touches its queue) and the benchmark's simulator. The app is driven only the
/// way a client drives it, <c>POST /api/harvests</c>, and observed from outside: the simulator's timeline of
/// get_watch_stat calls (<see cref="SimulatorCounters.WatchStatTimeline"/>), the <c>Harvests</c> table read directly
/// (polling the status over HTTP would add host log lines of its own), the host's output, and /proc.
/// host.json and every setting but the few below are the app's own, as shipped.
/// </summary>
public sealed class HostMeasurements : IAsyncDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    private readonly RunningSimulator _simulator;
    private readonly FunctionsHost _host;
    private readonly HttpClient _client;
    private readonly StorageClients _storage;
    private readonly HarvestStore _store;
    private int _startedAtLine;

    private HostMeasurements(RunningSimulator simulator, FunctionsHost host, StorageClients storage, TimeSpan maxPollingInterval)
    {
        _simulator = simulator;
        _host = host;
        _client = host.CreateClient();
        _storage = storage;
        _store = new HarvestStore(storage);
        MaxPollingInterval = maxPollingInterval;
    }

    /// <summary>host.json's <c>extensions.queues.maxPollingInterval</c> of the published app (the extension's default, 1 min, if absent).</summary>
    public TimeSpan MaxPollingInterval { get; }

    /// <summary>Publishes the app (once), starts a private Azurite and the host, and waits until the host serves.</summary>
    public static async Task<HostMeasurements> StartAsync(FunctionsHostLauncher launcher, RunningSimulator simulator)
    {
        var azurite = await Azurite.StartPrivateAsync();
        var settings = new Dictionary<string, string>
        {
            [StorageClients.SettingName] = azurite.ConnectionString,
            ["WeCom:BaseUrl"] = simulator.BaseUrl.ToString(),
            ["WeCom:CorpId"] = SimulatorOptions.DefaultCorpId,
            ["WeCom:Secret"] = SimulatorOptions.DefaultSecret,
            // Timer schedules are read by the host through %Harvest:...%, so they must be app settings: the app's own
            // defaults. Recovery after a crash is measured with the production sweep and stall period.
            ["Harvest:NightlySchedule"] = HarvestOptions.DefaultNightlySchedule,
            ["Harvest:SweepSchedule"] = HarvestOptions.DefaultSweepSchedule,
            // As for the CLI figures: the default (2,000 a minute) is one instance's share of WeCom's 10,000 a minute
            // when four instances harvest at once. Against a simulator with no latency that share, not the host's
            // per-page work, would be what ten lives at once measure; one instance alone may use the whole budget.
            ["WeCom:MaxCallsPerMinute"] = "10000",
            ["WeCom:CallbackToken"] = CallbackToken,
            ["WeCom:EncodingAesKey"] = EncodingAesKey,
        };
        var app = await FunctionsHost.PublishedAppAsync();
        var host = await FunctionsHost.StartAsync(launcher, "bench", settings);
        return new HostMeasurements(simulator, host, azurite.Clients(), ReadMaxPollingInterval(Path.Combine(app, "host.json")));
    }

    /// <summary>
    /// (9) One live of <paramref name="viewers"/> harvested by the host, no WeCom latency: the time from each page's
    /// answer to the next page's call (what the host and the app do between two WeCom calls), pages a second from
    /// the first call to the last answer, and the host's output lines a page (timer functions' lines left out).
    /// </summary>
    public async Task<ChainFigures> OneChainAsync(int viewers)
    {
        await PrepareAsync(latencyMs: 0);
        var livingId = Measurements.NewLive(viewers * 6 / 10, viewers * 4 / 10);
        var linesBefore = _host.OutputLines;
        await StartHarvestAsync(livingId);
        var status = await WaitForCompletedAsync(livingId, TimeSpan.FromMinutes(3));
        await OutputSettledAsync();
        var lines = CountHarvestLines(_host.OutputSince(linesBefore));

        var calls = Timeline(livingId, status.PagesDone);
        var overheads = calls.Zip(calls.Skip(1), (page, next) => Stopwatch.GetElapsedTime(page.Answered, next.Arrived).TotalMilliseconds).ToList();
        var wall = Stopwatch.GetElapsedTime(calls[0].Arrived, calls[^1].Answered);
        return new ChainFigures(overheads, status.PagesDone, status.PagesDone / wall.TotalSeconds, (double)lines / status.PagesDone);
    }

    /// <summary>(9) <paramref name="lives"/> lives of <paramref name="viewers"/> posted together: all their pages ÷ (first call → last answer).</summary>
    public async Task<double> ConcurrentLivesPagesPerSecondAsync(int lives, int viewers)
    {
        await PrepareAsync(latencyMs: 0);
        var ids = Enumerable.Range(0, lives).Select(_ => Measurements.NewLive(viewers * 6 / 10, viewers * 4 / 10)).ToList();
        await Task.WhenAll(ids.Select(StartHarvestAsync));
        var done = await Task.WhenAll(ids.Select(id => WaitForCompletedAsync(id, TimeSpan.FromMinutes(5))));
        var calls = ids.Zip(done, (id, status) => Timeline(id, status.PagesDone)).SelectMany(c => c).ToList();
        var wall = Stopwatch.GetElapsedTime(calls.Min(c => c.Arrived), calls.Max(c => c.Answered));
        return calls.Count / wall.TotalSeconds;
    }

    /// <summary>
    /// (9) After the host has had nothing to do for twice its <see cref="MaxPollingInterval"/> (its queue listener has
    /// backed off all the way), the time from <c>POST /api/harvests</c> to the live's first get_watch_stat call, in
    /// seconds. A one-page live, finished before this returns. Also the host's output lines a minute while it idled.
    /// </summary>
    public async Task<IdleFigures> FirstPageAfterIdleAsync()
    {
        await PrepareAsync(latencyMs: 0);
        await OutputSettledAsync(); // the lines of what ran before (a run's "completed" line trails its status row) are not idle lines
        var idleLines = _host.OutputLines;
        var idle = Stopwatch.StartNew();
        await Task.Delay(MaxPollingInterval * 2 + TimeSpan.FromMilliseconds(500));
        var linesPerMinute = (_host.OutputLines - idleLines) / idle.Elapsed.TotalMinutes;
        var livingId = Measurements.NewLive(50, 50);
        var posted = Stopwatch.GetTimestamp();
        await StartHarvestAsync(livingId);
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        IReadOnlyList<WatchStatCall> calls;
        while ((calls = _simulator.State.Counters.WatchStatTimeline(livingId)).Count == 0)
        {
            if (DateTime.UtcNow > until) throw Failure($"The first page of {livingId} was not fetched within 2 minutes.");
            await Task.Delay(20);
        }
        await WaitForCompletedAsync(livingId, TimeSpan.FromMinutes(1));
        return new IdleFigures(Stopwatch.GetElapsedTime(posted, calls[0].Arrived).TotalSeconds, linesPerMinute);
    }

    /// <summary>
    /// (9) kill -9 of host and worker while a page is in flight, then an immediate restart, with the production
    /// recovery settings (host.json's queue settings, <c>Harvest:StallSeconds</c> and the sweep schedule as shipped).
    /// The simulator answers in <paramref name="latencyMs"/>; its call number <paramref name="killAtCall"/> is held
    /// (a Slow fault) and the host is killed as soon as the simulator has it. Recovery: restart → the run's first
    /// get_watch_stat call after it; completed: restart → the run's status <c>completed</c>. The message being handled
    /// stays invisible for the listener's 10 minutes, so the stalled-run sweeper is what resumes the run: at the first
    /// sweep (every minute, once the timers' listener lock is free) that finds no sign of life for StallSeconds.
    /// </summary>
    public async Task<RecoveryFigures> RecoveryAfterKillAsync(int viewers, int latencyMs = 100, int killAtCall = 20)
    {
        await PrepareAsync(latencyMs);
        var faults = _simulator.State.Faults;
        faults.Set([new FaultRule { Api = WeComClient.GetWatchStatApi, Kinds = [FaultKind.Slow], SlowMilliseconds = 600_000, FromCall = killAtCall, ToCall = killAtCall }]);
        var livingId = Measurements.NewLive(viewers * 6 / 10, viewers * 4 / 10);
        try
        {
            await StartHarvestAsync(livingId);
            var until = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (faults.Injected(FaultKind.Slow) == 0)
            {
                if (DateTime.UtcNow > until) throw Failure($"get_watch_stat call {killAtCall} of {livingId} did not come within 2 minutes.");
                await Task.Delay(5);
            }
            _host.Kill();
        }
        finally
        {
            faults.Clear();
        }
        var pagesBeforeKill = _simulator.State.Counters.WatchStatTimeline(livingId).Count;

        _startedAtLine = _host.OutputLines;
        var restarted = Stopwatch.GetTimestamp();
        await _host.RestartAsync();
        await WaitForCompletedAsync(livingId, TimeSpan.FromMinutes(6));
        var completed = Stopwatch.GetElapsedTime(restarted);
        var resumed = _simulator.State.Counters.WatchStatTimeline(livingId).FirstOrDefault(c => c.Arrived > restarted)
            ?? throw Failure($"{livingId} completed with no get_watch_stat call after the restart.");
        _simulator.State.Options.LatencyMilliseconds = 0;
        return new RecoveryFigures(Stopwatch.GetElapsedTime(restarted, resumed.Arrived).TotalSeconds, completed.TotalSeconds, pagesBeforeKill);
    }

    private const string CallbackToken = "BenchToken2026";
    private const string EncodingAesKey = "bEnChMaRkKeY0123456789abcdefghijklmnopqrstE";

    /// <summary>
    /// (10) WeCom's callback: the simulator, as WeCom, registers the app's callback URL (its URL check), then sends
    /// <paramref name="samples"/> URL checks, status-1 events and status-2 events, one at a time, after 10 of each
    /// not counted (the first requests of a route JIT its code); the ended events' one-page runs are harvested by the
    /// host meanwhile, as they would be. Then one live of <paramref name="viewers"/> ends: the time from the event's
    /// send to the run's <c>CompletedAt</c> (both this machine's clock).
    /// </summary>
    public async Task<CallbackFigures> CallbacksAsync(int samples, int viewers)
    {
        await PrepareAsync(latencyMs: 0);
        var callbacks = _simulator.State.Callbacks;
        var check = await callbacks.RegisterCallbackAsync(SimulatorOptions.DefaultCorpId, new Uri(_host.BaseUrl, "api/wecom/callback/default").ToString(),
            CallbackToken, EncodingAesKey);
        if (check is not { Verified: true }) throw Failure($"The host failed WeCom's URL check: {check}");

        async Task<List<double>> SampleAsync(Func<Task<(bool Ok, double Ms, string What)>> once)
        {
            var values = new List<double>();
            for (var i = -10; i < samples; i++)
            {
                var (ok, ms, what) = await once();
                if (!ok) throw Failure($"A callback failed: {what}");
                if (i >= 0) values.Add(ms);
            }
            return values;
        }
        var urlChecks = await SampleAsync(async () =>
        {
            var c = await callbacks.VerifyCallbackAsync(SimulatorOptions.DefaultCorpId);
            return (c.Verified, c.ElapsedMs, c.ToString());
        });
        async Task<(bool, double, string)> EventAsync(int status)
        {
            var sent = await callbacks.ChangeStatusAsync(Measurements.NewLive(1, 1), status, SimulatorOptions.DefaultCorpId);
            var delivery = sent.Deliveries.Single();
            return (delivery.Status == 200, delivery.ElapsedMs, delivery.ToString());
        }
        var statusEvents = await SampleAsync(() => EventAsync(1));
        var endedEvents = await SampleAsync(() => EventAsync(2));

        var livingId = Measurements.NewLive(viewers * 6 / 10, viewers * 4 / 10);
        var ended = DateTimeOffset.UtcNow;
        var end = await callbacks.ChangeStatusAsync(livingId, 2, SimulatorOptions.DefaultCorpId);
        if (end.Deliveries.Single().Status != 200) throw Failure($"The ended event of {livingId} was answered {end.Deliveries.Single()}");
        var status = await WaitForCompletedAsync(livingId, TimeSpan.FromMinutes(3));
        return new CallbackFigures(urlChecks, statusEvents, endedEvents, (status.CompletedAt!.Value - ended).TotalSeconds, status.PagesDone);
    }

    /// <summary>The worker's (the app's process, a child of the host) peak resident memory (VmHWM) in bytes; 0 if not found.</summary>
    public long WorkerPeakBytes()
    {
        var marker = Encoding.UTF8.GetBytes($"FUNCTIONS_SECRETS_PATH={_host.SecretsPath}\0");
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (!commandLine.Contains("WatchStat.Functions.dll", StringComparison.Ordinal)) continue;
                if (File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(marker) < 0) continue;
                return CliProcess.HighWaterMark(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours.
            }
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    /// <summary>
    /// Empty tables (as every other figure starts from: Azurite's in-memory tables slow down as they fill, and ten
    /// lives write 200,000 rows) and a simulator with this latency, no faults and no calls counted. The host is
    /// idle here, and Azurite lets a table be created again at once, so the app's tables, made once per process,
    /// are there again before its next write.
    /// </summary>
    private async Task PrepareAsync(int latencyMs)
    {
        foreach (var name in new[] { ViewerRows.TableName, HarvestRecord.TableName })
        {
            await _storage.Tables.DeleteTableAsync(name);
            await _storage.Tables.CreateTableIfNotExistsAsync(name);
        }
        _simulator.State.Options.LatencyMilliseconds = latencyMs;
        _simulator.State.Faults.Clear();
        _simulator.State.Counters.Reset();
    }

    private async Task StartHarvestAsync(string livingId)
    {
        using var body = new StringContent(JsonSerializer.Serialize(new { livingid = livingId }), Encoding.UTF8, "application/json");
        using var response = await _client.PostAsync("api/harvests", body);
        if (response.StatusCode != HttpStatusCode.Accepted)
            throw Failure($"POST /api/harvests for {livingId} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Reads the run's status row from storage until it is completed; a failed run or the timeout throws.</summary>
    private async Task<HarvestRecord> WaitForCompletedAsync(string livingId, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await _store.GetAsync(new LiveKey(WeComSimulator.SimulatorOptions.DefaultCorpId, livingId), default) is { } status)
            {
                if (status.State == HarvestStates.Completed) return status;
                if (status.State == HarvestStates.Failed) throw Failure($"The harvest of {livingId} failed: {status.LastErrorCode} {status.LastErrorMessage}");
            }
            if (DateTime.UtcNow > until) throw Failure($"The harvest of {livingId} did not complete within {timeout.TotalSeconds:0} s.");
            EnsureHostRuns();
            await Task.Delay(Poll);
        }
    }

    /// <summary>
    /// A host stopped or restarted by something else is a failure now, not a harvest that never completes: a SIGTERM
    /// from outside, or the host's own restart when the published app changes under it.
    /// </summary>
    private void EnsureHostRuns()
    {
        var output = _host.OutputSince(_startedAtLine);
        if (output.Contains("Application is shutting down", StringComparison.Ordinal))
            throw Failure("The Functions host was stopped (SIGTERM) by something outside the benchmark.");
        if (output.Contains("Job host stopped", StringComparison.Ordinal))
            throw Failure("The Functions host restarted its job host (did the published app change under it?).");
    }

    /// <summary>The live's calls, one a page: a page fetched twice (a redelivery) would make the overheads wrong, so it is an error here.</summary>
    private List<WatchStatCall> Timeline(string livingId, int pages)
    {
        var calls = _simulator.State.Counters.WatchStatTimeline(livingId).OrderBy(c => c.Arrived).ToList();
        if (calls.Count != pages)
            throw Failure($"{livingId}: {pages} pages done but {calls.Count} get_watch_stat calls answered (a page fetched twice, or more than the "
                + $"simulator's timeline keeps: {SimulatorCounters.TimelineCapacity:N0} calls).");
        return calls;
    }

    /// <summary>Waits until the host has printed nothing for a second (at most 10 s): a page's lines may follow its status row.</summary>
    private async Task OutputSettledAsync()
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var lines = _host.OutputLines;
        while (DateTime.UtcNow < until)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (_host.OutputLines == lines) return;
            lines = _host.OutputLines;
        }
    }

    /// <summary>
    /// Output lines but those of timer-function entries (the minute sweep runs whether a harvest does or not): an
    /// entry is a line <c>HH:mm:ss.fff level: category[id]</c> and the indented lines after it.
    /// </summary>
    private static int CountHarvestLines(string output)
    {
        var count = 0;
        var timer = false;
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && char.IsAsciiDigit(line[0]))
                timer = line.Contains("StalledRunSweep", StringComparison.Ordinal) || line.Contains("NightlyHarvest", StringComparison.Ordinal) || line.Contains("Host.Triggers.Timer", StringComparison.Ordinal);
            if (!timer) count++;
        }
        return count;
    }

    private static TimeSpan ReadMaxPollingInterval(string hostJson)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(hostJson), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return document.RootElement.TryGetProperty("extensions", out var extensions)
            && extensions.TryGetProperty("queues", out var queues)
            && queues.TryGetProperty("maxPollingInterval", out var value)
            && value.GetString() is { } text
            ? TimeSpan.Parse(text, CultureInfo.InvariantCulture)
            : TimeSpan.FromMinutes(1);
    }

    private InvalidOperationException Failure(string message) => new($"{message}\nHost output (last lines):\n{_host.Tail(40)}");
}
