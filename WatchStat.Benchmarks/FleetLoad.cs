using System.Diagnostics;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WatchStat.Functions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Benchmarks;

/// <summary>What (12) measured: many lives through the queue path on several instances and a CLI, under one corp's limits.</summary>
public sealed record FleetLoadFigures(
    int Lives, int Instances, long WatchStatCalls, long Throttled45009, int Completed, int ExactRuns, int Runs,
    IReadOnlyList<long> CallsPerFullMinute, int BudgetPerMinute, long BudgetRequests, TimeSpan Wall, string? Problem)
{
    /// <summary>Each full calendar minute's get_watch_stat calls as a share of the minute's budget.</summary>
    public IReadOnlyList<double> BudgetUse => [.. CallsPerFullMinute.Select(c => (double)c / BudgetPerMinute)];

    /// <summary>Storage requests to the budget's table per WeCom call.</summary>
    public double BudgetRequestsPerCall => (double)BudgetRequests / Math.Max(1, WatchStatCalls);
}

/// <summary>
/// (12) Many lives at once under one corp's WeCom limits: <paramref name="lives"/> lives of
/// <paramref name="viewers"/> viewers harvested through the queue path by <paramref name="instances"/> separate
/// instances (each its own service provider: its own budget, token cache and pacing, sharing only storage, as Functions
/// instances do, each driven by the tests' queue driver) while one CLI process harvests one more live, with the
/// simulator enforcing <paramref name="limitPerMinute"/> a minute and <paramref name="limitPerHour"/> an hour for the
/// corp (45009 beyond), and the app's budget at its default 80% of them. A corp of its own, so no other figure's
/// calls count against its limits.
/// </summary>
public sealed class FleetLoad(RunningSimulator simulator, string storageConnectionString)
{
    public async Task<FleetLoadFigures> RunAsync(int lives, int viewers, int instances, int limitPerMinute, int limitPerHour)
    {
        var corp = $"ww-fleet-{Guid.NewGuid().ToString("N")[..8]}";
        const string secret = "fleet-secret-0123456789abcdef";
        simulator.State.SetSecret(corp, secret);
        var settings = new Dictionary<string, string?>
        {
            ["WeCom:BaseUrl"] = simulator.BaseUrl.ToString(),
            ["WeCom:CorpId"] = corp,
            ["WeCom:Secret"] = secret,
            ["WeCom:CorpLimitPerMinute"] = limitPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["WeCom:CorpLimitPerHour"] = limitPerHour.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [StorageClients.SettingName] = storageConnectionString,
        };
        var providers = Enumerable.Range(0, instances).Select(_ => Instance(settings)).ToList();
        var cli = new CliProcess(settings.ToDictionary(kv => kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value!));
        var members = viewers * 6 / 10;
        var liveIds = Enumerable.Range(0, lives).Select(i => $"fleet-{Guid.NewGuid().ToString("N")[..6]}-{i:D2}-{members}m{viewers - members}x").ToList();
        var cliLive = $"fleet-cli-{Guid.NewGuid().ToString("N")[..6]}-{members}m{viewers - members}x";

        var storage = providers[0].GetRequiredService<StorageClients>();
        var queue = storage.Queues.GetQueueClient(HarvestPageMessage.QueueName);
        var poison = storage.Queues.GetQueueClient(HarvestPageMessage.QueueName + "-poison");
        foreach (var q in new[] { queue, poison })
        {
            await q.CreateIfNotExistsAsync();
            await q.ClearMessagesAsync();
        }

        var limits = simulator.State.Options;
        (limits.CorpCallsPerMinute, limits.CorpCallsPerHour) = (limitPerMinute, limitPerHour);
        var before45009 = simulator.State.Counters.Errors(45009);
        var beforeCalls = simulator.State.Counters.Calls(WeComClient.GetWatchStatApi);
        var samples = new List<(DateTimeOffset At, long Calls)>();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        try
        {
            // Every live started as POST /api/harvests starts it: a status row and its first page on the queue.
            var runs = providers[0].GetRequiredService<HarvestRuns>();
            var app = providers[0].GetRequiredService<WeComApps>().Get(null);
            foreach (var id in liveIds)
            {
                var started = await runs.StartAsync(new LiveKey(corp, id), app, force: false, default);
                await queue.SendMessageAsync(started.FirstPage!.ToJson());
            }

            var sampling = SampleAsync(samples, stop.Token);
            var drivers = providers.Select(p => new QueueDriver(queue, poison,
                ActivatorUtilities.CreateInstance<HarvestPageFunction>(p), ActivatorUtilities.CreateInstance<HarvestPoisonFunction>(p))).ToList();
            var draining = drivers.Select(d => Task.Run(() => d.DrainAsync(TimeSpan.FromMinutes(30)))).ToList();
            var cliRun = cli.RunAsync("harvest", cliLive, "--json");
            await Task.WhenAll(draining);
            var cliResult = await cliRun;
            var wall = clock.Elapsed;
            await stop.CancelAsync();
            await sampling;

            // Every run: completed, with exactly the simulator's viewers.
            var store = providers[0].GetRequiredService<HarvestStore>();
            var (completed, exact) = (0, 0);
            string? problem = cliResult.ExitCode == 0 ? null : $"the CLI harvest exited {cliResult.ExitCode}: {cliResult.Output}";
            foreach (var id in liveIds.Append(cliLive))
            {
                var live = new LiveKey(corp, id);
                var status = await store.GetAsync(live, default);
                if (status?.State != HarvestStates.Completed)
                {
                    problem ??= $"{id} is {status?.State ?? "missing"}: {status?.LastErrorMessage}";
                    continue;
                }
                completed++;
                var rows = new List<TableEntity>();
                await foreach (var row in store.ReadRowsAsync(live, default)) rows.Add(row);
                if (Mismatch(simulator.State.FindLive(id, corp)!, rows, status) is { } mismatch) problem ??= $"{id}: {mismatch}";
                else exact++;
            }

            return new FleetLoadFigures(
                lives + 1, instances,
                simulator.State.Counters.Calls(WeComClient.GetWatchStatApi) - beforeCalls,
                simulator.State.Counters.Errors(45009) - before45009,
                completed, exact, lives + 1,
                FullMinutes(samples), providers[0].GetRequiredService<WeComBudget>().PerMinute,
                providers.Sum(p => p.GetRequiredService<WeComBudget>().StorageRequests), wall, problem);
        }
        finally
        {
            (limits.CorpCallsPerMinute, limits.CorpCallsPerHour) = (0, 0);
            foreach (var provider in providers) await provider.DisposeAsync();
        }
    }

    /// <summary>How the rows differ from the simulator's viewers (key, watch time, comment, mic, inviters), or null.</summary>
    private static string? Mismatch(SimulatedLive live, List<TableEntity> rows, HarvestRecord status)
    {
        var expected = live.ExpectedViewers();
        if (rows.Count != expected.Count || status.MembersWritten + status.ExternalWritten != expected.Count)
            return $"{rows.Count} rows and {status.MembersWritten + status.ExternalWritten} counted for {expected.Count} viewers";
        var byKey = rows.ToDictionary(r => r.RowKey, StringComparer.Ordinal);
        foreach (var viewer in expected)
        {
            if (!byKey.TryGetValue((viewer.IsMember ? "m:" : "x:") + TableKeys.Escape(viewer.Id), out var row)) return $"no row for viewer {viewer.Id}";
            if (row.GetInt32("WatchTimeSeconds") != viewer.WatchTime || row.GetBoolean("IsComment") != (viewer.IsComment == 1) || row.GetBoolean("IsMic") != (viewer.IsMic == 1)
                || row.GetString("InvitorUserId") != viewer.InvitorUserId || row.GetString("InvitorExternalUserId") != viewer.InvitorExternalUserId
                || row.GetString("RunId") != status.RunId)
                return $"viewer {viewer.Id}'s row differs";
        }
        return null;
    }

    /// <summary>One instance: the app's own registration over the shared storage.</summary>
    private static ServiceProvider Instance(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddWatchStat();
        return services.BuildServiceProvider();
    }

    /// <summary>The simulator's get_watch_stat count, every 200 ms, with the time.</summary>
    private async Task SampleAsync(List<(DateTimeOffset At, long Calls)> samples, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            samples.Add((DateTimeOffset.UtcNow, simulator.State.Counters.Calls(WeComClient.GetWatchStatApi)));
            try
            {
                await Task.Delay(200, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        samples.Add((DateTimeOffset.UtcNow, simulator.State.Counters.Calls(WeComClient.GetWatchStatApi)));
    }

    /// <summary>
    /// The calls in each calendar minute the work spanned from start to end: the minutes after the first call's and
    /// before the last call's (work was queued throughout them).
    /// </summary>
    private static List<long> FullMinutes(List<(DateTimeOffset At, long Calls)> samples)
    {
        var calling = samples.Where((s, i) => i > 0 && s.Calls > samples[i - 1].Calls).ToList();
        if (calling.Count == 0) return [];
        var first = Truncate(calling[0].At).AddMinutes(1);
        var last = Truncate(calling[^1].At);
        var minutes = new List<long>();
        for (var minute = first; minute < last; minute = minute.AddMinutes(1))
        {
            // The count at the minute's start and end: the last sample taken before each.
            long At(DateTimeOffset t) => samples.Where(s => s.At <= t).Select(s => s.Calls).DefaultIfEmpty(samples[0].Calls).Last();
            minutes.Add(At(minute.AddMinutes(1)) - At(minute));
        }
        return minutes;
    }

    private static DateTimeOffset Truncate(DateTimeOffset at) => new(at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);
}
