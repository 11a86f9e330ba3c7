using Azure.Data.Tables;
using Microsoft.Extensions.Time.Testing;
using WatchStat.Functions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;
using Xunit.Abstractions;

namespace WatchStat.Tests.WeCom;

/// <summary>
/// The shared WeCom budget (<see cref="WeComBudget"/>) against real Azurite: several processes' worth of claimers
/// (each its own service provider, as separate instances are) never spend more than a window's budget between them,
/// a crashed claimer's block lapses with its window, and a used-up hour (the budget's, or WeCom's hour cap behind a
/// 45009) delays a harvest to the next hour without failing it. Each test has a corp of its own: the counts are shared
/// through the table, as they are in Azure.
/// </summary>
public sealed class WeComBudgetTests(ITestOutputHelper output) : PipelineTest
{
    private const string WatchStatApi = WeComClient.GetWatchStatApi;

    // 09:10:30 UTC: the minute turns at 09:11:00, the hour at 10:00:00.
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 10, 30, TimeSpan.Zero);

    private static string NewCorp() => $"ww-budget-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>WeCom's limits as a test sets them: 400 a minute, 100,000 an hour; 80% of it is the budget (320 a minute, blocks of 8).</summary>
    private static Dictionary<string, string?> Limits(string corp, int perMinute = 400, int perHour = 100_000) => new()
    {
        ["WeCom:CorpId"] = corp,
        ["WeCom:CorpLimitPerMinute"] = perMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["WeCom:CorpLimitPerHour"] = perHour.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["WeCom:RetryDelayMilliseconds"] = "20",
        ["Harvest:DelayScale"] = "0.001",
    };

    /// <summary>Takes calls from <paramref name="budget"/> on <paramref name="lanes"/> lanes at once until it refuses; the calls taken and the refusals.</summary>
    private static async Task<(int Taken, List<WeComException> Refusals)> SpendAsync(WeComBudget budget, string corp, int lanes)
    {
        var taken = 0;
        var refusals = new List<WeComException>();
        await Task.WhenAll(Enumerable.Range(0, lanes).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    await budget.AcquireAsync(corp, WatchStatApi, default);
                    Interlocked.Increment(ref taken);
                }
                catch (WeComException refused)
                {
                    lock (refusals) refusals.Add(refused);
                    return;
                }
            }
        })));
        return (taken, refusals);
    }

    private async Task<TableEntity> RowAsync(string corp, string rowKey) =>
        (await Host.Get<StorageClients>().Tables.GetTableClient(WeComBudget.TableName).GetEntityAsync<TableEntity>(TableKeys.Scoped(corp, WatchStatApi), rowKey)).Value;

    [Fact]
    public async Task Four_instances_claiming_at_once_spend_exactly_the_minutes_budget_and_no_more_then_the_next_minutes()
    {
        var corp = NewCorp();
        var time = new FakeTimeProvider(T0);
        var hosts = Enumerable.Range(0, 4).Select(_ => AppHost.Create(Simulator, time, Azurite.ConnectionString, Limits(corp))).ToList();
        try
        {
            var budgets = hosts.Select(h => h.Get<WeComBudget>()).ToList();
            Assert.Equal((320, 8), (budgets[0].PerMinute, budgets[0].BlockSize));

            var spent = await Task.WhenAll(budgets.Select(b => SpendAsync(b, corp, lanes: 3)));

            // Never more than the window's budget between them, and nothing of it lost: every block was spent.
            Assert.Equal(320, spent.Sum(s => s.Taken));
            Assert.Equal(320, (await RowAsync(corp, WeComBudget.MinuteRow)).GetInt32("Used"));
            var refusals = spent.SelectMany(s => s.Refusals).ToList();
            Assert.All(refusals, r => Assert.Equal((WeComErrorKind.Throttled, (int?)null, TimeSpan.FromSeconds(30)), (r.Kind, r.ErrCode, r.RetryAfter)));
            Assert.Contains("used up for this minute", refusals[0].Message);
            // Claimed in blocks: 40 blocks of 8, and at most one more round trip per instance to learn the minute is used up.
            var claims = budgets.Sum(b => b.Claims);
            Assert.InRange(claims, 40, 48);
            output.WriteLine($"320 calls from 4 instances × 3 lanes: {claims} claims ({2.0 * claims / 320:0.000} storage transactions a call)");

            // The next minute is a new window with the whole budget again; the hour counts both.
            time.Advance(TimeSpan.FromSeconds(30));
            var next = await Task.WhenAll(budgets.Select(b => SpendAsync(b, corp, lanes: 3)));
            Assert.Equal(320, next.Sum(s => s.Taken));
            Assert.Equal(640, (await RowAsync(corp, WeComBudget.HourRow)).GetInt32("Used"));
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_crashed_claimers_unspent_block_lapses_with_its_window()
    {
        var corp = NewCorp();
        var time = new FakeTimeProvider(T0);
        await using var survivor = AppHost.Create(Simulator, time, Azurite.ConnectionString, Limits(corp));
        var crashed = AppHost.Create(Simulator, time, Azurite.ConnectionString, Limits(corp));
        await crashed.Get<WeComBudget>().AcquireAsync(corp, WatchStatApi, default); // claims a block of 8, spends 1
        await crashed.DisposeAsync(); // and is gone with 7 unspent

        var (taken, _) = await SpendAsync(survivor.Get<WeComBudget>(), corp, lanes: 2);
        Assert.Equal(320 - 8, taken); // this minute, the crashed block stays claimed

        time.Advance(TimeSpan.FromMinutes(1));
        (taken, _) = await SpendAsync(survivor.Get<WeComBudget>(), corp, lanes: 2);
        Assert.Equal(320, taken); // the next minute owes it nothing
    }

    [Fact]
    public async Task A_used_up_hour_puts_the_page_back_until_the_next_hour_and_the_run_completes_with_no_45009()
    {
        var corp = NewCorp();
        var time = new FakeTimeProvider(T0);
        // WeCom (the simulator) allows 50 calls an hour; the budget is 80% of it: 40.
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            Apps = [new SimulatedApp { CorpId = corp, Secret = SimulatorOptions.DefaultSecret }],
            CorpCallsPerHour = 50,
        }, time);
        await using var host = AppHost.Create(simulator, time, Azurite.ConnectionString, Limits(corp, perMinute: 10_000, perHour: 50));
        var livingId = NewLiveId("6000m0x"); // 60 pages
        var status = await HarvestThroughTheQueueAsync(host, time, livingId);

        Assert.Equal((HarvestStates.Completed, 60, 6000), (status.State, status.PagesDone, status.MembersWritten));
        Assert.Equal(0, simulator.State.Counters.Errors(45009));
        Assert.Equal((0, 60), (status.ThrottledTotal, simulator.State.Counters.Calls(WatchStatApi)));
        // 40 pages in the first hour, 20 in the next: the page waited for the hour once.
        Assert.Equal(1, status.BudgetWaits);
        Assert.True(time.GetUtcNow() >= T0.Date.AddHours(10), $"the run went on at {time.GetUtcNow():HH:mm:ss}, before the hour turned");
        RowAssertions.MatchSimulator(simulator.State.FindLive(livingId, corp)!, await RowsOfAsync(host, corp, livingId), status.RunId, corpId: corp);
    }

    [Fact]
    public async Task WeComs_hour_cap_is_understood_the_second_45009_past_the_minute_block_waits_for_the_next_hour()
    {
        var corp = NewCorp();
        var time = new FakeTimeProvider(T0);
        // WeCom allows 30 calls an hour, which the budget (WeCom's real limits here) does not know: the other systems
        // of the corp spent the rest.
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            Apps = [new SimulatedApp { CorpId = corp, Secret = SimulatorOptions.DefaultSecret }],
            CorpCallsPerHour = 30,
        }, time);
        await using var host = AppHost.Create(simulator, time, Azurite.ConnectionString, Limits(corp, perMinute: 10_000, perHour: 150_000));
        var livingId = NewLiveId("5000m0x"); // 50 pages
        var status = await HarvestThroughTheQueueAsync(host, time, livingId);

        Assert.Equal((HarvestStates.Completed, 50), (status.State, status.PagesDone));
        // The first 45009 backs off as a minute block (60 s, ±20%); one more than 60 s after it (the next, or the one
        // after a doubled back-off when the first came back within the minute block) is the hour cap: the page waits
        // for 10:00 instead of doubling back-offs through the rest of the hour (60, 120, 240, 480, 600, 600... s: 8 more).
        var throttles = simulator.State.Counters.Errors(45009);
        Assert.InRange(throttles, 2, 3);
        Assert.Equal(throttles, status.ThrottledTotal);
        Assert.InRange(time.GetUtcNow(), T0.Date.AddHours(10), T0.Date.AddHours(10).AddMinutes(2));
        Assert.Equal(50 + throttles, simulator.State.Counters.Calls(WatchStatApi));
        RowAssertions.MatchSimulator(simulator.State.FindLive(livingId, corp)!, await RowsOfAsync(host, corp, livingId), status.RunId, corpId: corp);
    }

    [Fact]
    public async Task Discovery_that_uses_up_the_hour_puts_its_anchor_back_for_the_next_hour_and_starts_each_live_once()
    {
        var corp = NewCorp();
        var anchor = "anchor" + Guid.NewGuid().ToString("N")[..6];
        var time = new FakeTimeProvider(T0);
        // WeCom allows 25 get_living_info calls an hour (the budget: 20); the anchor has 40 lives 6 hours apart (17 of
        // them ended within the week's window): a first night reads all 40, two hours' worth.
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            Apps = [new SimulatedApp { CorpId = corp, Secret = SimulatorOptions.DefaultSecret }],
            CorpCallsPerHour = 25,
        }, time);
        simulator.State.Anchors.Add(anchor, 40, TimeSpan.FromHours(6), corp);
        var settings = Limits(corp, perMinute: 10_000, perHour: 25);
        settings["WeCom:Apps:default:AnchorUserIds"] = anchor;
        await using var host = AppHost.Create(simulator, time, Azurite.ConnectionString, settings);
        var discoverQueue = host.Get<DiscoverySender>().Client;
        await host.Get<DiscoverySender>().EnsureCreatedAsync();
        await discoverQueue.ClearMessagesAsync();
        await Queue.ClearMessagesAsync();
        var night = time.GetUtcNow();
        var body = new DiscoveryMessage("default", corp, anchor, night).ToJson();
        time.Advance(TimeSpan.FromSeconds(1));

        var function = host.Activate<DiscoverAnchorFunction>();
        var passes = new List<(DateTimeOffset At, long InfoCalls)>();
        while (true)
        {
            var before = simulator.State.Counters.Calls(WeComClient.GetLivingInfoApi);
            await function.Run(body, default); // a used-up hour is no failure of the delivery
            passes.Add((time.GetUtcNow(), simulator.State.Counters.Calls(WeComClient.GetLivingInfoApi) - before));
            var waiting = (await discoverQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
            if (waiting == 0) break;
            Assert.Equal(1, waiting); // the same anchor, back for the next hour
            Assert.True(passes.Count < 6, "discovery never finished");
            body = (await ReceiveWhenVisibleAsync(discoverQueue)).Body.ToString();
            time.SetUtcNow(new DateTimeOffset(time.GetUtcNow().Date.AddHours(time.GetUtcNow().Hour + 1), TimeSpan.Zero).AddSeconds(5));
        }

        output.WriteLine(string.Join("; ", passes.Select(p => $"{p.At:HH:mm:ss}: {p.InfoCalls} get_living_info")));
        Assert.True(passes.Count >= 2, "the hour was never used up: the test proves nothing");
        Assert.All(passes, p => Assert.InRange(p.InfoCalls, 0, 20));
        Assert.Equal(0, simulator.State.Counters.Errors(45009));
        var expected = simulator.State.Anchors.LivesOf(anchor, corp).Where(l => l.Status == 2 && l.EndedAt >= night.AddDays(-7)).Select(l => l.LivingId).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(17, expected.Count);
        var started = new List<string>();
        foreach (var message in (await Queue.ReceiveMessagesAsync(32)).Value) started.Add(HarvestPageMessage.Parse(message.Body.ToString()).LivingId);
        Assert.Equal(expected, started.Order(StringComparer.Ordinal)); // each once, whichever pass decided it
    }

    private static async Task<Azure.Storage.Queues.Models.QueueMessage> ReceiveWhenVisibleAsync(Azure.Storage.Queues.QueueClient queue)
    {
        for (var tries = 0; tries < 200; tries++)
        {
            if ((await queue.ReceiveMessagesAsync(1)).Value is [var message])
            {
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                return message;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("the anchor's message did not come back");
    }

    /// <summary>POSTs the live and drains the queue, moving the clock to each put-back page's due time as it goes.</summary>
    private async Task<HarvestRecord> HarvestThroughTheQueueAsync(AppHost host, FakeTimeProvider time, string livingId)
    {
        var start = await host.Activate<StartHarvestFunction>().Run(HttpCall.Request("POST", $$"""{"livingid":"{{livingId}}"}"""), default);
        foreach (var message in start.Messages) await Queue.SendMessageAsync(message);
        var store = host.Get<HarvestStore>();
        var live = new LiveKey(host.App.CorpId, livingId);
        var driver = new QueueDriver(Queue, Poison, host.Activate<HarvestPageFunction>(), host.Activate<HarvestPoisonFunction>())
        {
            AfterDelivery = () =>
            {
                var status = store.GetAsync(live, default).GetAwaiter().GetResult()!;
                if (status.ThrottledUntil is { } due && due > time.GetUtcNow()) time.SetUtcNow(due);
            },
        };
        await driver.DrainAsync();
        Assert.Equal((0, 0), (driver.Poisoned, driver.FailedInvocations));
        return (await store.GetAsync(live, default))!;
    }

    private static async Task<List<TableEntity>> RowsOfAsync(AppHost host, string corp, string livingId)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in host.Get<HarvestStore>().ReadRowsAsync(new LiveKey(corp, livingId), default)) rows.Add(row);
        return rows;
    }
}
