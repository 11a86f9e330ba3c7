using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using WatchStat.Functions;
using WatchStat.Storage;
using WatchStat.Telemetry;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;
using Xunit.Abstractions;

namespace WatchStat.Tests.Resilience;

/// <summary>
/// WeCom and storage faults: a harvest ends with exactly the rows of a fault-free run, or fails with a clear reason.
/// Retries are fast here (20 ms first delay, 1 s attempt timeout, throttle waits scaled by 1/1000); the policy is the
/// production one.
/// </summary>
public sealed class FaultToleranceTests(ITestOutputHelper output) : PipelineTest
{
    private static readonly FaultKind[] Transient =
    [
        FaultKind.SystemBusy, FaultKind.FrequencyLimit, FaultKind.ConcurrencyLimit, FaultKind.InvalidToken, FaultKind.TokenExpired,
        FaultKind.Http500, FaultKind.Http502, FaultKind.Http504, FaultKind.Slow, FaultKind.TruncatedJson, FaultKind.InvalidJson,
        FaultKind.CloseConnection,
    ];

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:AttemptTimeoutSeconds"] = "1",
        ["WeCom:RetryDelayMilliseconds"] = "20",
        ["Harvest:DelayScale"] = "0.001",
    };

    private MetricCollector<long> Retries() => new(Host.Get<System.Diagnostics.Metrics.IMeterFactory>(), WatchStatMetrics.MeterName, "watchstat.wecom.retries");

    [Fact]
    public async Task A_harvest_with_a_fifth_of_WeCom_calls_faulted_and_every_message_delivered_twice_writes_exactly_the_clean_rows()
    {
        var livingId = NewLiveId("3000m2000x"); // 5,000 viewers, 50 pages
        var clock = Stopwatch.StartNew();
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        var cleanTime = clock.Elapsed;
        var cleanRows = RowAssertions.Content(await RowsAsync(livingId));
        var cleanCalls = WeCom.Calls(WeComClient.GetWatchStatApi) + WeCom.Calls(WeComClient.GetTokenApi);
        WeCom.Reset();

        Simulator.State.Faults.Set([new FaultRule { Kinds = Transient, Rate = 0.2, SlowMilliseconds = 1500 }], seed: 20261126);
        using var retries = Retries();
        clock.Restart();
        var runId = (await PostHarvestAsync(livingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        var driver = NewDriver();
        driver.Plan = m => m.DequeueCount == 1 ? Delivery.Twice : Delivery.Normal;
        await driver.DrainAsync(TimeSpan.FromMinutes(5));
        var chaosTime = clock.Elapsed;

        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, runId, 50, 3000, 2000), (status.State, status.RunId, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        var rows = await RowsAsync(livingId);
        Assert.Equal(cleanRows, RowAssertions.Content(rows));
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, rows, runId);
        Assert.Equal(0, driver.Poisoned);
        Assert.True(Simulator.State.Faults.InjectedTotal >= 10, $"only {Simulator.State.Faults.InjectedTotal} faults were injected");

        var faults = Simulator.State.Faults.InjectedSnapshot();
        output.WriteLine($"clean run: {cleanCalls} WeCom calls, {cleanTime.TotalSeconds:0.0} s");
        output.WriteLine($"chaos run: {WeCom.Calls(WeComClient.GetWatchStatApi) + WeCom.Calls(WeComClient.GetTokenApi)} WeCom calls "
            + $"({WeCom.Calls(WeComClient.GetWatchStatApi)} get_watch_stat, {WeCom.Calls(WeComClient.GetTokenApi)} gettoken), "
            + $"{Simulator.State.Faults.InjectedTotal} faults ({string.Join(", ", faults.OrderBy(f => f.Key).Select(f => $"{f.Key} {f.Value}"))}), "
            + $"{retries.GetMeasurementSnapshot().Sum(m => m.Value)} client retries, {status.ThrottledTotal} throttled pages put back, "
            + $"{driver.FailedInvocations} failed deliveries retried by the queue, {driver.Invocations} deliveries, {chaosTime.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task A_throttle_storm_of_90_simulated_seconds_delays_the_run_without_poison_or_retries()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions(), time);
        await using var host = AppHost.Create(simulator, time, Azurite.ConnectionString, Settings);
        var livingId = NewLiveId("600m400x"); // 10 pages
        var start = await host.Activate<StartHarvestFunction>().Run(HttpCall.Request("POST", $$"""{"livingid":"{{livingId}}"}"""), default);
        foreach (var message in start.Messages) await Queue.SendMessageAsync(message);
        var now = time.GetUtcNow();
        simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.FrequencyLimit], Api = WeComClient.GetWatchStatApi, From = now.AddSeconds(-1), Until = now.AddSeconds(90) }]);
        using var retries = new MetricCollector<long>(host.Get<System.Diagnostics.Metrics.IMeterFactory>(), WatchStatMetrics.MeterName, "watchstat.wecom.retries");
        var store = host.Get<HarvestStore>();
        var driver = new QueueDriver(Queue, Poison, host.Activate<HarvestPageFunction>(), host.Activate<HarvestPoisonFunction>())
        {
            // The simulated clock follows the backoff: when the page is put back, time moves to when it is due.
            AfterDelivery = () =>
            {
                var status = store.GetAsync(Lives.Sim(livingId), default).GetAwaiter().GetResult()!;
                if (status.ThrottledUntil is { } due && due > time.GetUtcNow()) time.SetUtcNow(due);
            },
        };

        await driver.DrainAsync();

        var status = (await store.GetAsync(Lives.Sim(livingId), default))!;
        Assert.Equal((HarvestStates.Completed, 10, 0), (status.State, status.PagesDone, status.Throttles));
        // 60 s; then either the 45009 of a call more than 60 s on (past WeCom's minute block: the hour cap, the page waits
        // for the next hour) or, sooner, 120 s more: either way the storm is over.
        Assert.InRange(status.ThrottledTotal, 2, 3);
        Assert.True(time.GetUtcNow() - now >= TimeSpan.FromSeconds(90));
        Assert.Equal((0, 0, 1L), (driver.Poisoned, driver.FailedInvocations, driver.MaxDequeueCountSeen));
        Assert.Empty(retries.GetMeasurementSnapshot());
        Assert.Equal(status.ThrottledTotal, simulator.State.Counters.Errors(45009));
    }

    [Fact]
    public async Task An_untrusted_IP_fails_the_run_at_once_saying_which_list_to_fix()
    {
        Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.IpNotTrusted], Api = WeComClient.GetWatchStatApi }]);
        var livingId = NewLiveId("10m10x");

        await PostHarvestAsync(livingId);
        var driver = NewDriver();
        await driver.DrainAsync();

        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Failed, 60020), (status.State, status.LastErrorCode));
        Assert.Contains("trusted IPs (企业可信IP)", status.LastErrorMessage);
        Assert.Equal(1, WeCom.Calls(WeComClient.GetWatchStatApi));
        Assert.Equal((0, 1), (driver.FailedInvocations, driver.Invocations));
    }

    [Fact]
    public async Task A_wrong_corpid_fails_the_run_at_once()
    {
        await using var host = AppHost.Create(Simulator, null, Azurite.ConnectionString,
            new Dictionary<string, string?> { ["WeCom:CorpId"] = "ww-no-such-corp", ["WeCom:RetryDelayMilliseconds"] = "20" });
        var livingId = NewLiveId("10m10x");
        var start = await host.Activate<StartHarvestFunction>().Run(HttpCall.Request("POST", $$"""{"livingid":"{{livingId}}"}"""), default);
        foreach (var message in start.Messages) await Queue.SendMessageAsync(message);

        var driver = new QueueDriver(Queue, Poison, host.Activate<HarvestPageFunction>(), host.Activate<HarvestPoisonFunction>());
        await driver.DrainAsync();

        var status = (await host.Get<HarvestStore>().GetAsync(new LiveKey("ww-no-such-corp", livingId), default))!;
        Assert.Equal((HarvestStates.Failed, 40013), (status.State, status.LastErrorCode));
        Assert.Contains("CorpId", status.LastErrorMessage);
        Assert.Equal((1L, 0L), (WeCom.Calls(WeComClient.GetTokenApi), WeCom.Calls(WeComClient.GetWatchStatApi)));
        Assert.Equal((0, 1), (driver.FailedInvocations, driver.Invocations));
    }

    [Fact]
    public async Task A_page_that_keeps_failing_lands_in_poison_fails_the_run_and_a_retry_finishes_it_from_the_checkpoint()
    {
        var livingId = NewLiveId("1200m800x"); // 20 pages
        // Calls 8 on answer 502 until the faults are cleared: page 8 uses up its attempts and deliveries.
        Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.Http502], Api = WeComClient.GetWatchStatApi, FromCall = 8 }]);
        await PostHarvestAsync(livingId);
        var driver = NewDriver();
        await driver.DrainAsync();

        var failed = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Failed, 7, 1), (failed.State, failed.PagesDone, driver.Poisoned));
        Assert.Contains("Page 8 failed 5 deliveries", failed.LastErrorMessage);
        Assert.Contains("HTTP 502", failed.LastErrorMessage);
        Assert.Equal(5, driver.FailedInvocations);
        Assert.Equal(7 + 5 * 5, WeCom.Calls(WeComClient.GetWatchStatApi)); // each delivery: one attempt and four retries

        Simulator.State.Faults.Clear();
        WeCom.Reset();
        var retry = await Host.Activate<RetryHarvestFunction>().Run(HttpCall.Request("POST"), livingId, default);
        var answer = await HttpCall.RenderAsync(retry.Result);
        foreach (var message in retry.Messages) await Queue.SendMessageAsync(message);
        await NewDriver().DrainAsync();

        Assert.Equal(202, answer.Status);
        Assert.Equal("running", answer.Json.GetProperty("state").GetString());
        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, failed.RunId, 20, 1200, 800), (status.State, status.RunId, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.Equal(13, WeCom.Calls(WeComClient.GetWatchStatApi)); // pages 8-20 only: not from page 1
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, await RowsAsync(livingId), failed.RunId);
        Assert.Null(status.LastErrorMessage);
    }

    [Fact]
    public async Task Retry_is_404_for_a_live_never_harvested_and_409_for_a_run_that_has_not_failed()
    {
        var function = Host.Activate<RetryHarvestFunction>();
        var livingId = NewLiveId("10m10x");

        var unknown = await HttpCall.RenderAsync((await function.Run(HttpCall.Request("POST"), livingId, default)).Result);
        await PostHarvestAsync(livingId);
        var queued = await function.Run(HttpCall.Request("POST"), livingId, default);

        Assert.Equal(404, unknown.Status);
        Assert.Equal(409, (await HttpCall.RenderAsync(queued.Result)).Status);
        Assert.Empty(queued.Messages);
    }

    [Fact]
    public async Task Storage_throttling_is_retried_by_the_SDK_and_the_page_goes_through()
    {
        var livingId = NewLiveId("300m200x");
        await PostHarvestAsync(livingId);
        // Five failures in a row of one rows transaction: more than the SDK's default three retries allow.
        TransportFaults.FailNth(2, StorageFaults.IsRowsWrite, times: 5);
        var driver = NewDriver();

        await driver.DrainAsync();

        Assert.Equal(5, TransportFaults.Injected);
        Assert.Equal(0, driver.FailedInvocations);
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, await RowsAsync(livingId), (await StatusAsync(livingId)).RunId);
    }
}
