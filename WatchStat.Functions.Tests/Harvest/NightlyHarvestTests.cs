using Microsoft.Extensions.Time.Testing;
using WatchStat.Functions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Harvest;

/// <summary>
/// The nightly harvest's discovery with the clock injected: three anchors of 150 lives each, every status.
/// The tables outlive a test, so each test has anchors of its own and a clock of its own, years from any other
/// test's, so no other test's lives fall into its window.
/// </summary>
public sealed class NightlyHarvestTests(Xunit.Abstractions.ITestOutputHelper output) : PipelineTest
{
    private readonly string[] Anchors = [.. new[] { "zhangwei", "lina", "wangfang" }.Select(a => a + Guid.NewGuid().ToString("N")[..6])];
    private readonly FakeTimeProvider _time = new(
        new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero).AddDays(14 * Random.Shared.Next(0, 50_000)));

    protected override TimeProvider? Time => _time;

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:Apps:default:AnchorUserIds"] = string.Join(",", Anchors),
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        foreach (var anchor in Anchors) Simulator.State.Anchors.Add(anchor, 150);
        // Lives of other tests' runs share the tables; nothing of this test's anchors is there yet.
    }

    private IReadOnlyList<SimulatedLivingInfo> AllLives => [.. Anchors.SelectMany(Simulator.State.Anchors.LivesOf)];

    private List<string> ExpectedToEnqueue(int lookbackDays = 7) =>
        [.. AllLives.Where(l => l.Status == 2 && l.EndedAt >= _time.GetUtcNow().AddDays(-lookbackDays)).Select(l => l.LivingId).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Exactly_the_lives_that_ended_within_the_window_are_enqueued_with_reasons_for_the_rest()
    {
        var decisions = await Host.Get<Discovery>().RunAsync(appName: null, dryRun: false, default);

        var expected = ExpectedToEnqueue();
        Assert.InRange(expected.Count, 10, 100); // the window cuts through the anchors' histories
        Assert.True(decisions.Count == 450, string.Join("\n", decisions.Where(d => d.AnchorUserId is null).Select(d => $"{d.LivingId} {d.Reason}")));
        Assert.Equal(expected, decisions.Where(d => d.Enqueue).Select(d => d.LivingId).Order(StringComparer.Ordinal));
        Assert.Equal(expected.Count, await QueueLengthAsync());
        foreach (var live in AllLives)
        {
            var decision = decisions.Single(d => d.LivingId == live.LivingId);
            var reason = decision.Reason;
            switch (live.Status)
            {
                case 0: Assert.StartsWith("scheduled", reason); break;
                case 1: Assert.StartsWith("live", reason); break;
                case 3: Assert.StartsWith("expired", reason); break;
                case 4: Assert.StartsWith("cancelled", reason); break;
                default: Assert.Contains(decision.Enqueue ? "ago" : "before the 7-day window", reason); break;
            }
            Assert.Equal(live.AnchorUserId, decision.AnchorUserId);
        }

        // One get_user_all_livingid per 100 lives per anchor, one get_living_info per live, one token.
        Assert.Equal(6, WeCom.Calls("living/get_user_all_livingid"));
        Assert.Equal(450, WeCom.Calls("living/get_living_info"));
        Assert.Equal(1, WeCom.Calls("gettoken"));
    }

    [Fact]
    public async Task Every_live_discovered_is_recorded_in_Livings_with_its_details()
    {
        await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);

        var livings = Host.Get<LivingStore>();
        foreach (var live in AllLives.Where((_, i) => i % 37 == 0))
        {
            var row = await livings.GetAsync(Lives.Sim(live.LivingId), default);
            Assert.NotNull(row);
            Assert.Equal((live.Theme, live.AnchorUserId, live.Status, live.ViewerNum), (row.GetString("Theme"), row.GetString("AnchorUserId"), row.GetInt32("Status"), row.GetInt32("ViewerNum")));
            Assert.Equal(live.Status == 2 ? live.EndedAt : null, row.GetDateTimeOffset("LivingEnd"));
            Assert.False(row.ContainsKey("PushStreamUrl"), "the push URL carries the stream's key and must not be stored");
        }
    }

    [Fact]
    public async Task Running_discovery_twice_enqueues_nothing_the_second_time_while_those_runs_are_queued()
    {
        var first = await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);
        var queued = await QueueLengthAsync();

        var second = await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);

        Assert.Equal(ExpectedToEnqueue().Count, first.Count(d => d.Enqueue));
        Assert.DoesNotContain(second, d => d.Enqueue);
        Assert.Equal(queued, await QueueLengthAsync());
        Assert.All(second.Where(d => ExpectedToEnqueue().Contains(d.LivingId)), d => Assert.StartsWith("already queued", d.Reason));
    }

    [Fact]
    public async Task A_completed_live_gets_a_fresh_run_the_next_night_and_the_runs_complete()
    {
        await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);
        await NewDriver().DrainAsync();
        var someLive = ExpectedToEnqueue()[0];
        var firstRun = (await StatusAsync(someLive)).RunId;
        Assert.Equal(HarvestStates.Completed, (await StatusAsync(someLive)).State);

        _time.Advance(TimeSpan.FromHours(1));
        var again = await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);
        await NewDriver().DrainAsync();

        var decision = again.Single(d => d.LivingId == someLive);
        Assert.True(decision.Enqueue);
        Assert.Contains("fresh run", decision.Reason);
        var status = await StatusAsync(someLive);
        Assert.Equal(HarvestStates.Completed, status.State);
        Assert.NotEqual(firstRun, status.RunId);
        RowAssertions.MatchSimulator(Simulator.State.FindLive(someLive)!, await RowsAsync(someLive), status.RunId);
    }

    [Fact]
    public async Task A_dry_run_decides_the_same_but_writes_and_enqueues_nothing()
    {
        var dry = await Host.Get<Discovery>().RunAsync(null, dryRun: true, default);

        Assert.Equal(ExpectedToEnqueue(), dry.Where(d => d.Enqueue).Select(d => d.LivingId).Order(StringComparer.Ordinal));
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Null(await Host.Get<LivingStore>().GetAsync(Lives.Sim(AllLives[5].LivingId), default));
        Assert.Null(await Store.GetAsync(Lives.Sim(ExpectedToEnqueue()[0]), default));
    }

    [Fact]
    public async Task A_live_that_arrived_over_HTTP_within_the_window_is_refreshed_whoever_its_anchor_is()
    {
        var livingId = NewLiveId("30m20x");
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        _time.Advance(TimeSpan.FromDays(2));

        var decisions = await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);

        var decision = decisions.Single(d => d.LivingId == livingId);
        Assert.True(decision.Enqueue, decision.Reason);
        Assert.Null(decision.AnchorUserId);
        Assert.Contains("arrived through the HTTP endpoint 2 days ago", decision.Reason);
    }

    [Fact]
    public async Task The_second_night_reads_only_the_lives_that_can_still_change_and_decides_as_a_full_read_would()
    {
        await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);
        Assert.Equal(450, WeCom.Calls("living/get_living_info"));
        await NewDriver().DrainAsync();
        _time.Advance(TimeSpan.FromDays(1));
        WeCom.Reset();

        var night2 = await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);

        // Read again: scheduled and live ones, and those that ended within the window as it now stands. Not read:
        // expired, cancelled, and ended before the window (as stored on night 1).
        var windowStart = _time.GetUtcNow().AddDays(-7);
        var stillChanging = AllLives.Count(l => l.Status is 0 or 1 || (l.Status == 2 && l.EndedAt >= windowStart));
        Assert.InRange(stillChanging, 60, 200);
        output.WriteLine($"night 2: {WeCom.Calls("living/get_user_all_livingid")} get_user_all_livingid, {WeCom.Calls("living/get_living_info")} get_living_info "
            + $"for {night2.Count} lives listed ({night2.Count(d => d.Reason.EndsWith("not read again", StringComparison.Ordinal))} final ones not read), "
            + $"{night2.Count(d => d.Enqueue)} enqueued");
        Assert.Equal(stillChanging, WeCom.Calls("living/get_living_info"));
        Assert.Equal(6, WeCom.Calls("living/get_user_all_livingid"));
        Assert.Equal(450, night2.Count);
        // The decisions a full read would make: the lives ended within the window get a fresh run, nothing else.
        Assert.Equal(ExpectedToEnqueue(), night2.Where(d => d.Enqueue).Select(d => d.LivingId).Order(StringComparer.Ordinal));
        foreach (var live in AllLives.Where(l => l.Status is 3 or 4 || (l.Status == 2 && l.EndedAt < windowStart)))
            Assert.EndsWith("not read again", night2.Single(d => d.LivingId == live.LivingId).Reason);
    }

    [Fact]
    public async Task The_timer_fans_the_night_out_per_anchor_and_the_queue_function_decides_as_in_process_even_when_delivered_twice()
    {
        var arrived = NewLiveId("3m2x"); // an arrival of the window, whoever its anchor
        await PostHarvestAsync(arrived);
        await NewDriver().DrainAsync();
        _time.Advance(TimeSpan.FromHours(1));
        var inProcess = await Host.Get<Discovery>().RunAsync(null, dryRun: true, default);
        var discoverQueue = Host.Get<DiscoverySender>().Client;
        await Host.Get<DiscoverySender>().EnsureCreatedAsync();
        await discoverQueue.ClearMessagesAsync();
        WeCom.Reset();

        await Host.Activate<NightlyHarvestFunction>().Run(null!, default);

        // One message per anchor and one for the app's arrivals; the timer itself called WeCom for nothing.
        var messages = (await discoverQueue.ReceiveMessagesAsync(32)).Value;
        Assert.Equal(Anchors.Length + 1, messages.Length);
        Assert.Equal(0, WeCom.Calls("living/get_user_all_livingid") + WeCom.Calls("living/get_living_info"));
        _time.Advance(TimeSpan.FromSeconds(1)); // the messages are taken up once the night has begun
        var function = Host.Activate<DiscoverAnchorFunction>();
        foreach (var message in messages) await function.Run(message.Body.ToString(), default);

        var expected = inProcess.Where(d => d.Enqueue).Select(d => d.LivingId).Order(StringComparer.Ordinal).ToList();
        Assert.Contains(arrived, expected);
        Assert.Equal(expected.Count, await QueueLengthAsync()); // one first page each
        var runs = new Dictionary<string, string>();
        foreach (var live in AllLives.Select(l => l.LivingId).Append(arrived))
        {
            if (await Store.GetAsync(Lives.Sim(live), default) is { } run && run.StartedAt == _time.GetUtcNow()) runs[live] = run.RunId;
        }
        Assert.Equal(expected, runs.Keys.Order(StringComparer.Ordinal));

        // The night's runs complete, then every message is delivered again (a lost acknowledgement): nothing starts twice.
        await NewDriver().DrainAsync();
        foreach (var message in messages) await function.Run(message.Body.ToString(), default);
        Assert.Equal(0, await QueueLengthAsync());
        foreach (var (live, runId) in runs)
        {
            var run = await Store.GetAsync(Lives.Sim(live), default);
            Assert.Equal((runId, HarvestStates.Completed), (run!.RunId, run.State));
        }
    }

    [Fact]
    public async Task Arrivals_are_read_from_their_index_and_pruned_once_no_window_reaches_them()
    {
        var livingId = NewLiveId("3m2x");
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        var livings = Host.Get<LivingStore>();
        Assert.Single(await livings.ArrivalsAsync(_time.GetUtcNow().AddMinutes(-1), _time.GetUtcNow(), default), a => a.Live.LivingId == livingId);

        _time.Advance(TimeSpan.FromDays(8)); // past the 7-day window
        var decisions = await Host.Get<Discovery>().RunAsync(null, dryRun: false, default);

        Assert.DoesNotContain(decisions, d => d.LivingId == livingId);
        Assert.Empty(await livings.ArrivalsAsync(_time.GetUtcNow().AddDays(-30), _time.GetUtcNow(), default));
        // The live's own row keeps when and how it arrived, for reports.
        Assert.Equal(LivingStore.ArrivedViaHttp, (await livings.GetAsync(Lives.Sim(livingId), default))!.GetString("ArrivedVia"));
    }

    [Fact]
    public async Task A_run_left_stalled_is_found_by_the_sweeper_and_completes_with_the_rows_of_a_clean_run()
    {
        var livingId = NewLiveId("700m300x"); // 10 pages
        var runId = (await PostHarvestAsync(livingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        var page = Host.Activate<HarvestPageFunction>();
        for (var i = 0; i < 3; i++)
        {
            var message = (await Queue.ReceiveMessageAsync()).Value;
            foreach (var next in await page.Run(message, default)) await Queue.SendMessageAsync(next);
            await Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
        }
        await Queue.ClearMessagesAsync(); // the message for page 4 is lost
        var sweeper = Host.Get<StalledRunSweeper>();

        // (Other tests' unfinished runs share the table and are stalled by this test's clock: only this live is looked at.)
        Assert.DoesNotContain(await sweeper.SweepAsync(default), r => r.LivingId == livingId); // not stalled yet
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.DoesNotContain(await sweeper.SweepAsync(default), r => r.LivingId == livingId); // still not: Harvest:StallSeconds is 60
        _time.Advance(TimeSpan.FromSeconds(2));
        var redriven = await sweeper.SweepAsync(default);
        Assert.DoesNotContain(await sweeper.SweepAsync(default), r => r.LivingId == livingId); // once per stall period
        await NewDriver().DrainAsync();

        var run = Assert.Single(redriven, r => r.LivingId == livingId);
        Assert.Equal((livingId, runId, 4), (run.LivingId, run.RunId, run.Page));
        Assert.True(run.Stalled >= TimeSpan.FromSeconds(60));
        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, 10, 700, 300), (status.State, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, await RowsAsync(livingId), runId);
        Assert.Contains(Host.Logs.GetSnapshot(), r => r.Message.Contains(livingId, StringComparison.Ordinal) && r.Message.Contains("no sign of life for 61 s", StringComparison.Ordinal));
    }
}
