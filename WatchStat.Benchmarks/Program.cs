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
// simulator, all in one run on this machine; then the fleet (figures 11 and 13: discovery of a fleet of anchors,
// night 1 and night 2, and the stalled-run sweeper's cost); then the published app in a real Functions host
// (figure 9), when one is found. See the README's Performance section.
var repeat = IntOption("--repeat", 3);
var viewers = IntOption("--viewers", 100_000);
var smallViewers = IntOption("--small-viewers", 10_000);
var latencyViewers = IntOption("--latency-viewers", 20_000);
var hostLives = IntOption("--host-lives", 10);
// The fleet is 200 anchors × 300 lives (60,000). Against Azurite that takes about an hour, not minutes: every
// Livings row has RowKey "info", and Azurite (LokiJS) looks a row up by its RowKey index first and then scans all
// rows of that RowKey for the PartitionKey, so each point read and upsert costs time in proportion to the table's
// rows, and a night's cost grows with the square of the fleet (measured here, 2 cores: 20 anchors, nights of 20 s and
// 14 s; 60 anchors, 160 s and 143 s; 200 anchors, night 1 unfinished after 16 minutes). Storage in Azure indexes
// PartitionKey and RowKey together. So 50 anchors by default (15,000 lives, about 3.5 minutes); the WeCom call
// counts are per anchor and scale exactly: --fleet-anchors 200 for the size.
var fleetAnchors = IntOption("--fleet-anchors", 50);
var fleetLives = IntOption("--fleet-lives", 300);
var sweepFinished = IntOption("--sweep-finished", 10_000);
const int sweepFewFinished = 100;
// (12): lives × viewers through the queue path on several instances and a CLI, under a corp limit of 600 a minute
// and 6,000 an hour (the budget: 80% of both).
var loadLives = IntOption("--load-lives", 50);
var loadViewers = IntOption("--load-viewers", 2_000);
var loadInstances = IntOption("--load-instances", 4);
const int loadPerMinute = 600, loadPerHour = 6_000;
// (14): a live's report page of each size, loaded in headless Chromium, --repeat times each.
var pageViewers = (Option("--page-viewers") ?? "20000,100000").Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToList();
// --only host: the real-host figures (9, 10) and, beside them, the queue path they compare with (5). --only local: all
// but 9, 10 and the fleet's. --only fleet: the fleet's figures (11, 12, 13) alone. --only page: the report page (14).
var only = Option("--only");
if (only is not (null or "host" or "local" or "fleet" or "page"))
{
    await Console.Error.WriteLineAsync($"--only takes host, local, fleet or page, not '{only}'.");
    return 2;
}
var pages = only is null or "local" or "page";
var local = only is null or "local";
var hosted = only is null or "host";
var fleet = only is null or "fleet";
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
var launcher = hosted ? FunctionsHostLauncher.Find() : null;

AnsiConsole.MarkupLine(only == "fleet"
    ? $"[bold]WatchStat benchmark, the fleet[/]: {Markup.Escape(Report.Machine)}; each figure once; WeCom:MaxCallsPerMinute {FleetMeasurements.MaxCallsPerMinute}."
    : $"[bold]WatchStat benchmark[/]: {Markup.Escape(Report.Machine)}; {repeat} runs of each figure; WeCom:MaxCallsPerMinute 10000.");
if (hosted && launcher is null) AnsiConsole.MarkupLine($"[yellow]Figure 9 skipped.[/] {Markup.Escape(FunctionsHostLauncher.Missing)}");
var browserPath = pages ? Browser.Find() : null;
if (pages && browserPath is null) AnsiConsole.MarkupLine($"[yellow]Figure 14 skipped.[/] {Markup.Escape(Browser.Missing)}");
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
else if (hosted)
{
    await Step("warm-up (not counted)", () => measure.QueuePageOverheadMsAsync(2_000));
}
for (var run = 1; run <= repeat && (local || hosted); run++)
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

// (14) The report page: a CLI harvest of each size, then the page loaded --repeat times.
var pageLoads = new List<PageLoadFigures>();
if (browserPath is not null)
{
    var (playwright, browser) = await Browser.LaunchAsync();
    using (playwright)
    await using (browser)
    {
        foreach (var size in pageViewers)
        {
            await Step($"(14) report page of {size:N0} viewers: harvest, then {repeat} loads in headless Chromium", async () =>
            {
                var harvested = await measure.CliHarvestAsync(size);
                for (var run = 0; run < repeat; run++) pageLoads.Add(await new ReportPageLoad(app).MeasureAsync(browser, harvested.LivingId, size));
            });
        }
    }
}

// The fleet, once each (a figure takes minutes): the app's services in this process on a clock of their own, with a
// simulator of their own, on the same Azurite. Before the real host, which would compete for the two cores.
DiscoveryFigures? discovery = null;
SweepComparison? sweeps = null;
FleetLoadFigures? load = null;
if (fleet)
{
    await using var fleetPart = await FleetMeasurements.StartAsync(azurite.ConnectionString, fleetAnchors);
    // Discovery writes Livings (not reset between steps; the fleet's anchors and livingids carry a tag of this run)
    // and starts runs in Harvests; the nights are one step, the tables reset only before it.
    await Step($"(11) discovery, night 1 and night 2 a day later: {fleetAnchors:N0} anchors × {fleetLives:N0} lives over two years",
        async () => discovery = await fleetPart.DiscoveryTwoNightsAsync(fleetLives));
    await Step($"(12) {loadLives} lives × {loadViewers:N0} viewers on {loadInstances} instances and a CLI, WeCom limits {loadPerMinute}/min and {loadPerHour:N0}/h",
        async () => load = await new FleetLoad(simulator, azurite.ConnectionString).RunAsync(loadLives, loadViewers, loadInstances, loadPerMinute, loadPerHour));
    await Step($"(13) stalled-run sweeps: {sweepFewFinished:N0}, then {sweepFinished:N0} finished runs beside 5 active ones (1 stalled)",
        async () => sweeps = await fleetPart.SweepCostAsync(sweepFewFinished, sweepFinished));
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
if (queue.Count > 0)
{
    figures.Add(new("5", "queue path (imitated host), time per page beyond its WeCom call, median", [Stats.Median(queue)], "ms", "0.0", "", null));
    figures.Add(new("5", "queue path (imitated host), time per page beyond its WeCom call, p95", [Stats.Percentile(queue, 95)], "ms", "0.0", "", null));
}
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

foreach (var size in pageViewers)
{
    var of = pageLoads.Where(p => p.Viewers == size).ToList();
    if (of.Count == 0) continue;
    figures.AddRange(
    [
        new("14", $"report page, {size:N0} viewers: the route reads the status, Livings and viewer rows (Azurite)", of.Select(p => p.ReadMs).ToList(), "ms", "N0", "", null),
        new("14", $"report page, {size:N0} viewers: the route writes the page", of.Select(p => p.WriteMs).ToList(), "ms", "N0", "", null),
        new("14", $"report page, {size:N0} viewers: HTML size (ECharts and every viewer inlined)", of.Select(p => p.HtmlMegabytes).ToList(), "MB", "0.0", "", null),
        new("14", $"report page, {size:N0} viewers: navigation → first contentful paint (headless Chromium, from the page's file)", of.Select(p => p.FirstContentfulPaintMs).ToList(), "ms", "N0", "", null),
        new("14", $"report page, {size:N0} viewers: navigation → ready (charts drawn, table's first page shown)", of.Select(p => p.ReadyMs).ToList(), "ms", "N0", "", null),
        new("14", $"report page, {size:N0} viewers: route's work + ready (time to first render for its reader, transfer aside)", of.Select(p => p.ReadMs + p.WriteMs + p.ReadyMs).ToList(), "ms", "N0", "", null),
        new("14", $"report page, {size:N0} viewers: longest main-thread task while loading", of.Select(p => p.LongestTaskMs).ToList(), "ms", "N0", "", null),
        new("14", $"report page, {size:N0} viewers: JavaScript heap used when ready (after a GC)", of.Select(p => p.JsHeapMb).ToList(), "MB", "0.0", "", null),
        new("14", $"report page, {size:N0} viewers: filter by an id → table updated (150 ms debounce included)", of.Select(p => p.FilterMs).ToList(), "ms", "N0", "", null),
        new("14", $"report page, {size:N0} viewers: sort every viewer by id → first page shown", of.Select(p => p.SortMs).ToList(), "ms", "N0", "", null),
    ]);
}
if (discovery is { } d)
{
    var (night1, night2) = (d.Night1, d.Night2);
    // Night 2's bound: a get_user_all_livingid page per 100 lives listed, and a get_living_info per live that can
    // still change (scheduled, on air, or ended within the window as night 2 begins), from the simulator's data.
    var listPages = (long)Math.Ceiling(night2.Listed / 100.0);
    var bound = listPages + d.StillChanging;
    var goal = $"≤ {listPages:N0} + {d.StillChanging:N0} = {bound:N0}";
    figures.AddRange(
    [
        new("11", $"discovery night 1, {night1.Listed:N0} lives of {fleetAnchors:N0} anchors over two years, nothing stored yet: get_user_all_livingid calls", [night1.ListCalls], "", "N0", "", null),
        new("11", "night 1: get_living_info calls (every live read)", [night1.InfoCalls], "", "N0", "", null),
        new("11", "night 1: lives enqueued (ended within the window; the queue is not run)", [night1.Enqueued], "", "N0", "", null),
        new("11", "night 1: storage requests (tables and queue)", [night1.TableRequests + night1.QueueRequests], "", "N0", "", null),
        new("11", "night 1: wall time", [night1.Seconds], "s", "0.0", "", null),
        new("11", $"night 2, a day later, {night2.Listed:N0} lives listed: get_user_all_livingid calls", [night2.ListCalls], "", "N0", "", null),
        new("11", $"night 2: get_living_info calls ({night2.NotReadAgain:N0} final lives not read again); goal: lives listed ÷ 100 + lives not final or in the window", [night2.InfoCalls], "", "N0", goal, night2.InfoCalls <= bound),
        new("11", "night 2: WeCom calls in all (get_user_all_livingid + get_living_info)", [night2.ListCalls + night2.InfoCalls], "", "N0", goal, night2.ListCalls + night2.InfoCalls <= bound),
        new("11", "night 2: lives enqueued (ended within the window since night 1; night 1's runs, still queued, are left alone)", [night2.Enqueued], "", "N0", "", null),
        new("11", "night 2: storage requests (tables and queue; a Livings read per live listed)", [night2.TableRequests + night2.QueueRequests], "", "N0", "", null),
        new("11", "night 2: wall time", [night2.Seconds], "s", "0.0", "", null),
    ]);
    if (night1.Undescribed + night2.Undescribed > 0)
        figures.Add(new("11", "lives WeCom would not describe (both nights; expected none)", [night1.Undescribed + night2.Undescribed], "", "N0", "0", false));
}
if (load is { } l)
{
    var use = l.BudgetUse;
    figures.AddRange(
    [
        new("12", $"{l.Runs} lives × {loadViewers:N0} viewers ({l.Runs - 1} through the queue on {l.Instances} instances, 1 by the CLI), WeCom at {loadPerMinute}/min and {loadPerHour:N0}/h: 45009 answers", [l.Throttled45009], "", "N0", "0", l.Throttled45009 == 0),
        new("12", "runs completed with exactly the simulator's rows", [l.ExactRuns], $"of {l.Runs}", "N0", $"{l.Runs}", l.ExactRuns == l.Runs),
        new("12", $"get_watch_stat calls in each full minute while work was queued ÷ the budget ({l.BudgetPerMinute}/min)", use, "", "0.00", "≥ 0.90", use.Count > 0 && use.Min() >= 0.9),
        new("12", "get_watch_stat calls in all; wall time", [l.WatchStatCalls], $"calls in {l.Wall.TotalSeconds:0} s", "N0", "", null),
        new("12", "the budget's storage requests (queries and transactions) per WeCom call", [l.BudgetRequestsPerCall], "", "0.000", "", null),
    ]);
    if (l.Problem is { } problem) AnsiConsole.MarkupLine($"[red]Figure 12:[/] {Markup.Escape(problem)}");
}
if (sweeps is { } s)
{
    var (few, many) = (s.Few, s.Many);
    var same = few.Requests.SequenceEqual(many.Requests);
    figures.AddRange(
    [
        new("13", $"stalled-run sweep, {few.Finished:N0} finished and {few.Active} active runs (1 stalled): table transactions", [few.TableRequests], "", "N0", "", null),
        new("13", $"stalled-run sweep, {many.Finished:N0} finished and {many.Active} active runs (1 stalled): table transactions", [many.TableRequests], "", "N0",
            $"independent of finished runs (= {few.TableRequests:N0})", many.TableRequests <= few.TableRequests),
        new("13", $"stalled-run sweep, {many.Finished:N0} finished: queue transactions (the stalled run's page sent again; {few.QueueRequests:N0} with {few.Finished:N0})", [many.QueueRequests], "", "N0", "", null),
        new("13", $"stalled-run sweep, {many.Finished:N0} finished: the same requests, one by one, as with {few.Finished:N0} (1 = yes)", [same ? 1 : 0], "", "0", "1", same),
        new("13", $"stalled-run sweep, {many.Finished:N0} finished: the stalled run found and re-driven (1 = yes; {many.Redriven} re-driven in all)", [many.StalledFound ? 1 : 0], "", "0", "1", many.StalledFound && few.StalledFound),
        new("13", $"stalled-run sweep, wall time, {few.Finished:N0} finished", [few.Milliseconds], "ms", "0.0", "", null),
        new("13", $"stalled-run sweep, wall time, {many.Finished:N0} finished", [many.Milliseconds], "ms", "0.0", "", null),
    ]);
}

var fleetNote = $"figures 11 and 13 once each: the app's services in this process (Discovery, StalledRunSweeper) with a simulator of their own, "
    + $"on a clock of their own years ahead, WeCom:MaxCallsPerMinute {FleetMeasurements.MaxCallsPerMinute}.";
var header = only == "fleet"
    ? $"WatchStat benchmark, the fleet, {DateTimeOffset.Now:yyyy-MM-dd HH:mm zzz}: {Report.Machine}; Azurite in memory and the simulator on loopback; {fleetNote}"
    : $"WatchStat benchmark, {DateTimeOffset.Now:yyyy-MM-dd HH:mm zzz}: {Report.Machine}; {repeat} runs each (queue path: {queue.Count} pages); "
        + "Azurite in memory and the simulator on loopback; the CLI as its own process with WeCom:MaxCallsPerMinute 10000"
        + (launcher is null
            ? (!hosted ? "." : "; no Functions host found, figure 9 skipped.")
            : $"; figure 9 and 10: the published app in the Functions host ({launcher.Kind}), its own Azurite, host.json as shipped, WeCom:MaxCallsPerMinute 10000."
                + (hostFailure is null ? "" : $" Figure 9 FAILED: {hostFailure}"))
        + (fleet ? " The fleet, " + fleetNote : "");
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
