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
// simulator, all in one run on this machine. See the README's Performance section.
var repeat = IntOption("--repeat", 3);
var viewers = IntOption("--viewers", 100_000);
var smallViewers = IntOption("--small-viewers", 10_000);
var latencyViewers = IntOption("--latency-viewers", 20_000);
var output = Option("--out") ?? Path.Combine(RepoPaths.Root, "artifacts", "benchmark.md");

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

AnsiConsole.MarkupLine($"[bold]WatchStat benchmark[/]: {Markup.Escape(Report.Machine)}; {repeat} runs of each figure; WeCom:MaxCallsPerMinute 10000.");
var raw = new List<double>();
var harvests = new List<HarvestFigures>();
var small = new List<HarvestFigures>();
var naive = new List<double>();
var latency = new List<HarvestFigures>();
var queue = new List<double>();
var exportBig = new List<double>();
var exportSmall = new List<double>();
await Step("warm-up (not counted)", async () => { await measure.CliHarvestAsync(2_000); await measure.RawBatchEntitiesPerSecondAsync(2_000); });
for (var run = 1; run <= repeat; run++)
{
    await Step($"run {run}: (1) raw batches, {viewers:N0} entities", async () => raw.Add(await measure.RawBatchEntitiesPerSecondAsync(viewers)));
    await Step($"run {run}: (2) CLI harvest, {viewers:N0} viewers, and (8) its export", () => HarvestAndExportAsync(viewers, harvests, exportBig));
    await Step($"run {run}: (3) naive harvest, {viewers:N0} viewers", async () => naive.Add(await measure.NaiveViewersPerSecondAsync(viewers)));
    await Step($"run {run}: (4) CLI harvest at 50 ms a call, {latencyViewers:N0} viewers", async () => latency.Add(await measure.CliHarvestAsync(latencyViewers, latencyMs: 50)));
    await Step($"run {run}: (5) queue path, {latencyViewers:N0} viewers", async () => queue.AddRange(await measure.QueuePageOverheadMsAsync(latencyViewers)));
    await Step($"run {run}: (6) CLI harvest, {smallViewers:N0} viewers, and (8) its export", () => HarvestAndExportAsync(smallViewers, small, exportSmall));
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

Figure[] figures =
[
    new("1", $"storage ceiling: 100-entity upsert transactions on Azurite, one partition, {viewers:N0} entities", raw, "entities/s", "N0", "", null),
    new("2", $"CLI harvest, {viewers:N0} viewers, no simulator latency", ours, "viewers/s", "N0", "", null),
    new("2/1", "harvest throughput ÷ storage ceiling", versusRaw, "", "0.00", "≥ 0.80", Stats.Median(versusRaw) >= 0.8),
    new("3", $"naive harvest (token per call, one upsert per viewer), {viewers:N0} viewers", naive, "viewers/s", "N0", "", null),
    new("2/3", "harvest ÷ naive", versusNaive, "×", "0.0", "≥ 5", Stats.Median(versusNaive) >= 5),
    new("4", $"CLI harvest at 50 ms a WeCom call, {latencyViewers:N0} viewers: wall ÷ (pages × 50 ms)", latencyRatio, "", "0.000", "≤ 1.10", Stats.Median(latencyRatio) <= 1.10),
    new("5", "queue path, time per page beyond its WeCom call, median", [Stats.Median(queue)], "ms", "0.0", "", null),
    new("5", "queue path, time per page beyond its WeCom call, p95", [Stats.Percentile(queue, 95)], "ms", "0.0", "", null),
    new("6", $"peak working set, CLI harvest of {smallViewers:N0} viewers", peakSmall, "MB", "0", "< 200 MB", peakSmall.Max() < 200),
    new("6", $"peak working set, CLI harvest of {viewers:N0} viewers", peakBig, "MB", "0", "< 200 MB", peakBig.Max() < 200),
    new("6", $"peak working set ratio, {viewers:N0} ÷ {smallViewers:N0}", memoryRatio, "", "0.00", "≤ 1.20", Stats.Median(memoryRatio) <= 1.2),
    new("7", "get_watch_stat calls per page", callsPerPage, "", "0.000", "exactly 1", callsPerPage.All(c => c == 1.0)),
    new("7", "gettoken calls per run", tokensPerRun, "", "0", "1", tokensPerRun.All(c => c == 1.0)),
    new("8", $"peak working set, CLI export (CSV) of {smallViewers:N0} viewers", exportSmall, "MB", "0", "", null),
    new("8", $"peak working set, CLI export (CSV) of {viewers:N0} viewers", exportBig, "MB", "0", "< 100 MB", exportBig.Max() < 100),
];

var header = $"WatchStat benchmark, {DateTimeOffset.Now:yyyy-MM-dd HH:mm zzz}: {Report.Machine}; {repeat} runs each (queue path: {queue.Count} pages); "
    + "Azurite in memory and the simulator on loopback; the CLI as its own process with WeCom:MaxCallsPerMinute 10000.";
Report.Print(figures, header);
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
await File.WriteAllTextAsync(output, Report.Markdown(figures, header, "./bench.sh " + string.Join(' ', args)));
AnsiConsole.MarkupLine($"Written to [bold]{Markup.Escape(output)}[/].");
return figures.All(f => f.Met != false) ? 0 : 1;

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
