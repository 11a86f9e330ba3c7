using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using WatchStat;
using WatchStat.Benchmarks;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

// The WatchStat benchmark: harvest speed and memory against the ceilings storage sets, on Azurite and the WeCom
// simulator, all in one run on this machine; then the published app in a real Functions host (figure 9), when one
// is found. See the README's Performance section.
var repeat = IntOption("--repeat", 3);
var viewers = IntOption("--viewers", 100_000);
var smallViewers = IntOption("--small-viewers", 10_000);
var latencyViewers = IntOption("--latency-viewers", 20_000);
var hostLives = IntOption("--host-lives", 10);
// --only host: the real-host figures (9) and, beside them, the queue path they compare with (5). --only local: all but 9.
var only = Option("--only");
if (only is not (null or "host" or "local"))
{
    await Console.Error.WriteLineAsync($"--only takes host or local, not '{only}'.");
    return 2;
}
var local = only != "host";
var output = Option("--out") ?? Path.Combine(RepoPaths.Root, "artifacts", only is null ? "benchmark.md" : $"benchmark-{only}.md");

var azurite = await Azurite.SharedAsync();
await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions());
var settings = new Dictionary<string, string?>
{
    ["WeCom:BaseUrl"] = simulator.BaseUrl.ToString(),
    ["WeCom:CorpId"] = SimulatorOptions.DefaultCorpId,
    ["WeCom:Secret"] = SimulatorOptions.DefaultSecret,
    [StorageClients.SettingName] = azurite.ConnectionString,
    // The default (2,000 a minute) is one instance's share of WeCom's 10,000 a minute when up to four Functions
    // instances harvest at once. A lone CLI may use the enterprise's whole budget, and against a simulator with no
    // latency the default share, not the storage, would be what is measured.
    ["WeCom:MaxCallsPerMinute"] = "10000",
};
var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
services.AddWatchStat();
await using var app = services.BuildServiceProvider();
var storage = app.GetRequiredService<StorageClients>();
var cli = new CliProcess(settings.ToDictionary(kv => kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value!));
var measure = new Measurements(simulator, storage, cli, app);
var launcher = only == "local" ? null : FunctionsHostLauncher.Find();

AnsiConsole.MarkupLine($"[bold]WatchStat benchmark[/]: {Markup.Escape(Report.Machine)}; {repeat} runs of each figure; WeCom:MaxCallsPerMinute 10000.");
if (only != "local" && launcher is null) AnsiConsole.MarkupLine($"[yellow]Figure 9 skipped.[/] {Markup.Escape(FunctionsHostLauncher.Missing)}");
var raw = new List<double>();
var harvests = new List<HarvestFigures>();
var small = new List<HarvestFigures>();
var naive = new List<double>();
var latency = new List<HarvestFigures>();
var queue = new List<double>();
var exportBig = new List<double>();
var exportSmall = new List<double>();
if (local)
{
    await Step("warm-up (not counted)", async () => { await measure.CliHarvestAsync(2_000); await measure.RawBatchEntitiesPerSecondAsync(2_000); });
}
else
{
    await Step("warm-up (not counted)", () => measure.QueuePageOverheadMsAsync(2_000));
}
for (var run = 1; run <= repeat; run++)
{
    if (!local)
    {
        await Step($"run {run}: (5) queue path, {latencyViewers:N0} viewers", async () => queue.AddRange(await measure.QueuePageOverheadMsAsync(latencyViewers)));
        continue;
    }
    await Step($"run {run}: (1) raw batches, {viewers:N0} entities", async () => raw.Add(await measure.RawBatchEntitiesPerSecondAsync(viewers)));
    await Step($"run {run}: (2) CLI harvest, {viewers:N0} viewers, and (8) its export", () => HarvestAndExportAsync(viewers, harvests, exportBig));
    await Step($"run {run}: (3) naive harvest, {viewers:N0} viewers", async () => naive.Add(await measure.NaiveViewersPerSecondAsync(viewers)));
    await Step($"run {run}: (4) CLI harvest at 50 ms a call, {latencyViewers:N0} viewers", async () => latency.Add(await measure.CliHarvestAsync(latencyViewers, latencyMs: 50)));
    await Step($"run {run}: (5) queue path, {latencyViewers:N0} viewers", async () => queue.AddRange(await measure.QueuePageOverheadMsAsync(latencyViewers)));
    await Step($"run {run}: (6) CLI harvest, {smallViewers:N0} viewers, and (8) its export", () => HarvestAndExportAsync(smallViewers, small, exportSmall));
}

// (9) The real host, after the rest (it would compete for the two cores): one chain, several lives at once, the
// first page after idle, per repeat; the kill -9 recovery once per benchmark run (it waits for the minute sweep).
var chains = new List<ChainFigures>();
var concurrent = new List<double>();
var idle = new List<IdleFigures>();
var workerPeaks = new List<double>();
var callbackRuns = new List<CallbackFigures>();
const int callbackSamples = 50;
RecoveryFigures? recovery = null;
var maxPolling = TimeSpan.Zero;
string? hostFailure = null;
if (launcher is not null)
{
    // A failure here (the host would not start, a harvest failed or stalled) loses figure 9, not the figures above.
    try
    {
        HostMeasurements? host = null;
        await Step("(9) publish the app, start a private Azurite and the Functions host", async () => host = await HostMeasurements.StartAsync(launcher, simulator));
        await using (host)
        {
            maxPolling = host!.MaxPollingInterval;
            await Step("(9) warm-up in the host (not counted)", () => host.OneChainAsync(2_000));
            for (var run = 1; run <= repeat; run++)
            {
                await Step($"run {run}: (9) host, one chain, {latencyViewers:N0} viewers", async () => chains.Add(await host.OneChainAsync(latencyViewers)));
                await Step($"run {run}: (9) host, {hostLives} lives of {latencyViewers:N0} viewers at once", async () => concurrent.Add(await host.ConcurrentLivesPagesPerSecondAsync(hostLives, latencyViewers)));
                await Step($"run {run}: (9) host, first page after {(maxPolling * 2).TotalSeconds:0.#} s idle", async () => idle.Add(await host.FirstPageAfterIdleAsync()));
                await Step($"run {run}: (10) host, WeCom's callback: {callbackSamples} URL checks and events, and a {latencyViewers:N0}-viewer live ended → completed",
                    async () => callbackRuns.Add(await host.CallbacksAsync(callbackSamples, latencyViewers)));
                if (host.WorkerPeakBytes() is > 0 and var peak) workerPeaks.Add(peak / 1048576.0);
            }
            await Step($"(9) host, kill -9 with a page in flight and restart, {latencyViewers:N0} viewers at 100 ms a call", async () => recovery = await host.RecoveryAfterKillAsync(latencyViewers));
        }
    }
    catch (Exception e) when (e is InvalidOperationException or TimeoutException or OperationCanceledException or HttpRequestException or IOException or Azure.RequestFailedException)
    {
        hostFailure = e.Message.Split('\n')[0];
        AnsiConsole.MarkupLine($"[red]Figure 9 failed:[/] {Markup.Escape(e.ToString())}");
    }
}

var rawMedian = Stats.Median(raw);
var ours = harvests.Select(h => h.ViewersPerSecond).ToList();
var latencyRatio = latency.Select(h => h.Harvest.TotalSeconds / (h.Pages * 0.050)).ToList();
var peakBig = harvests.Select(h => h.PeakWorkingSetBytes / 1048576.0).ToList();
var peakSmall = small.Select(h => h.PeakWorkingSetBytes / 1048576.0).ToList();
var memoryRatio = harvests.Zip(small, (b, s) => (double)b.PeakWorkingSetBytes / s.PeakWorkingSetBytes).ToList();
var callsPerPage = harvests.Concat(small).Select(h => (double)h.WatchStatCalls / h.Pages).ToList();
var tokensPerRun = harvests.Concat(small).Select(h => (double)h.TokenCalls).ToList();
var versusRaw = ours.Select(o => o / rawMedian).ToList();
var versusNaive = ours.Zip(naive, (o, n) => o / n).ToList();

var figures = new List<Figure>();
if (local)
{
    figures.AddRange(
    [
        new("1", $"storage ceiling: 100-entity upsert transactions on Azurite, one partition, {viewers:N0} entities", raw, "entities/s", "N0", "", null),
        new("2", $"CLI harvest, {viewers:N0} viewers, no simulator latency", ours, "viewers/s", "N0", "", null),
        new("2/1", "harvest throughput ÷ storage ceiling", versusRaw, "", "0.00", "≥ 0.80", Stats.Median(versusRaw) >= 0.8),
        new("3", $"naive harvest (token per call, one upsert per viewer), {viewers:N0} viewers", naive, "viewers/s", "N0", "", null),
        new("2/3", "harvest ÷ naive", versusNaive, "×", "0.0", "≥ 5", Stats.Median(versusNaive) >= 5),
        new("4", $"CLI harvest at 50 ms a WeCom call, {latencyViewers:N0} viewers: wall ÷ (pages × 50 ms)", latencyRatio, "", "0.000", "≤ 1.10", Stats.Median(latencyRatio) <= 1.10),
    ]);
}
figures.Add(new("5", "queue path (imitated host), time per page beyond its WeCom call, median", [Stats.Median(queue)], "ms", "0.0", "", null));
figures.Add(new("5", "queue path (imitated host), time per page beyond its WeCom call, p95", [Stats.Percentile(queue, 95)], "ms", "0.0", "", null));
// The real host's per-page time right under the imitation's: each value is one run's median (p95) over its pages.
var hostMedians = chains.Select(c => Stats.Median(c.OverheadsMs)).ToList();
var hostP95s = chains.Select(c => Stats.Percentile(c.OverheadsMs, 95)).ToList();
var chainPages = chains.Count > 0 ? chains[0].Pages : 0;
if (chains.Count > 0)
{
    figures.Add(new("9", $"real host, time per page beyond its WeCom call, median (one chain, {latencyViewers:N0} viewers, {chainPages} pages)", hostMedians, "ms", "0.0", "≤ 30 ms", Stats.Median(hostMedians) <= 30));
    figures.Add(new("9", "real host, time per page beyond its WeCom call, p95", hostP95s, "ms", "0.0", "", null));
    figures.Add(new("9", "real host, time per page beyond its WeCom call, max (what a chain's pages a second hides)", chains.Select(c => c.OverheadsMs.Max()).ToList(), "ms", "0", "", null));
}
if (local)
{
    figures.AddRange(
    [
        new("6", $"peak working set, CLI harvest of {smallViewers:N0} viewers", peakSmall, "MB", "0", "< 200 MB", peakSmall.Max() < 200),
        new("6", $"peak working set, CLI harvest of {viewers:N0} viewers", peakBig, "MB", "0", "< 200 MB", peakBig.Max() < 200),
        new("6", $"peak working set ratio, {viewers:N0} ÷ {smallViewers:N0}", memoryRatio, "", "0.00", "≤ 1.20", Stats.Median(memoryRatio) <= 1.2),
        new("7", "get_watch_stat calls per page", callsPerPage, "", "0.000", "exactly 1", callsPerPage.All(c => c == 1.0)),
        new("7", "gettoken calls per run", tokensPerRun, "", "0", "1", tokensPerRun.All(c => c == 1.0)),
        new("8", $"peak working set, CLI export (CSV) of {smallViewers:N0} viewers", exportSmall, "MB", "0", "", null),
        new("8", $"peak working set, CLI export (CSV) of {viewers:N0} viewers", exportBig, "MB", "0", "< 100 MB", exportBig.Max() < 100),
    ]);
}
if (chains.Count > 0)
{
    var logLines = chains.Select(c => c.LogLinesPerPage).ToList();
    figures.AddRange(
    [
        new("9", "real host, one chain: pages a second (first call to last answer)", chains.Select(c => c.PagesPerSecond).ToList(), "pages/s", "0.0", "", null),
        new("9", $"real host, {hostLives} lives of {latencyViewers:N0} viewers posted at once: all pages ÷ (first call to last answer)", concurrent, "pages/s", "0.0", "", null),
        new("9", $"real host, first page after {(maxPolling * 2).TotalSeconds:0.#} s idle: POST → first get_watch_stat (bounded by maxPollingInterval {maxPolling.TotalSeconds:0.#} s)", idle.Select(i => i.FirstPageSeconds).ToList(), "s", "0.00", "", null),
        new("9", "real host, host output lines per page (one chain; timer functions' lines not counted)", logLines, "", "0.00", "≤ 2", Stats.Median(logLines) <= 2),
        new("9", "real host, host output lines a minute while idle", idle.Select(i => i.LinesPerMinute).ToList(), "lines/min", "0", "", null),
        new("9", "real host, the worker's peak resident memory (VmHWM) since it started, after each run", workerPeaks, "MB", "0", "", null),
    ]);
}
if (callbackRuns.Count > 0)
{
    var urlChecks = callbackRuns.SelectMany(c => c.UrlCheckMs).ToList();
    var statusEvents = callbackRuns.SelectMany(c => c.StatusEventMs).ToList();
    var endedEvents = callbackRuns.SelectMany(c => c.EndedEventMs).ToList();
    figures.AddRange(
    [
        new("10", $"real host, WeCom's URL check (GET, verify and decrypt echostr), warm, median of {urlChecks.Count}", [Stats.Median(urlChecks)], "ms", "0.0", "< 200 ms", Stats.Median(urlChecks) < 200),
        new("10", "real host, WeCom's URL check, warm, p95", [Stats.Percentile(urlChecks, 95)], "ms", "0.0", "< 200 ms", Stats.Percentile(urlChecks, 95) < 200),
        new("10", $"real host, status event (live, a Livings update), warm, median of {statusEvents.Count}", [Stats.Median(statusEvents)], "ms", "0.0", "", null),
        new("10", "real host, status event, warm, p95", [Stats.Percentile(statusEvents, 95)], "ms", "0.0", "", null),
        new("10", $"real host, ended event (starts a run; WeCom allows 5 s), warm, median of {endedEvents.Count}", [Stats.Median(endedEvents)], "ms", "0.0", "", null),
        new("10", "real host, ended event, warm, p95", [Stats.Percentile(endedEvents, 95)], "ms", "0.0", "< 5000 ms", Stats.Percentile(endedEvents, 95) < 5000),
        new("10", $"real host, live ended in WeCom → run completed, {latencyViewers:N0} viewers ({callbackRuns[0].Pages} pages)", callbackRuns.Select(c => c.EndedToCompletedSeconds).ToList(), "s", "0.0", "", null),
    ]);
}
if (recovery is { } r)
{
    figures.AddRange(
    [
        new("9", $"real host, kill -9 with a page in flight (after {r.PagesBeforeKill} pages, 100 ms a call), once: restart → the run's next get_watch_stat", [r.RecoverySeconds], "s", "0.0", "≤ 180 s", r.RecoverySeconds <= 180),
        new("9", "real host, kill -9, once: restart → the run completed", [r.CompletedSeconds], "s", "0.0", "", null),
    ]);
}

var header = $"WatchStat benchmark, {DateTimeOffset.Now:yyyy-MM-dd HH:mm zzz}: {Report.Machine}; {repeat} runs each (queue path: {queue.Count} pages); "
    + "Azurite in memory and the simulator on loopback; the CLI as its own process with WeCom:MaxCallsPerMinute 10000"
    + (launcher is null
        ? (only == "local" ? "." : "; no Functions host found, figure 9 skipped.")
        : $"; figure 9 and 10: the published app in the Functions host ({launcher.Kind}), its own Azurite, host.json as shipped, WeCom:MaxCallsPerMinute 10000."
            + (hostFailure is null ? "" : $" Figure 9 FAILED: {hostFailure}"));
figures.RemoveAll(f => f.Values.Count == 0);
Report.Print(figures, header);
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
await File.WriteAllTextAsync(output, Report.Markdown(figures, header, "./bench.sh " + string.Join(' ', args)));
AnsiConsole.MarkupLine($"Written to [bold]{Markup.Escape(output)}[/].");
return figures.All(f => f.Met != false) && hostFailure is null ? 0 : 1;

// A CLI harvest of a new live, then the CLI's export of that live (the step's tables hold nothing else).
async Task HarvestAndExportAsync(int size, List<HarvestFigures> harvested, List<double> exportPeaksMb)
{
    var harvest = await measure.CliHarvestAsync(size);
    harvested.Add(harvest);
    exportPeaksMb.Add(await measure.CliExportPeakAsync(harvest.LivingId, harvest.Viewers) / 1048576.0);
}

async Task Step(string name, Func<Task> work)
{
    await measure.ResetTablesAsync();
    var clock = System.Diagnostics.Stopwatch.StartNew();
    await work();
    AnsiConsole.MarkupLine($"  {Markup.Escape(name)} [grey]({clock.Elapsed.TotalSeconds:N1} s)[/]");
}

string? Option(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

int IntOption(string name, int fallback) => Option(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
