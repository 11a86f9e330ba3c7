using Microsoft.Extensions.Time.Testing;
using WatchStat.Functions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Harvest;

/// <summary>
/// What the stalled-run sweeper takes for a sign of life, and its index of active runs. The clock is injected and
/// starts now, so index entries written by Azurite (its own clock) are young to the sweeper until the test moves it.
/// </summary>
public sealed class StalledRunSweeperTests : PipelineTest
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    protected override TimeProvider? Time => _time;

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        // A failed WeCom call fails its delivery at once: the queue's retries are what is looked at here.
        ["WeCom:MaxRetries"] = "0",
    };

    private StalledRunSweeper Sweeper => Host.Get<StalledRunSweeper>();

    private async Task<bool> RedrivenAsync(string livingId) => (await Sweeper.SweepAsync(default)).Any(r => r.LivingId == livingId);

    [Fact]
    public async Task A_throttled_page_is_not_due_before_its_delay_and_is_redriven_a_stall_period_after_it()
    {
        var livingId = NewLiveId("300m0x");
        await PostHarvestAsync(livingId);
        Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.FrequencyLimit], Api = "living/get_watch_stat", ToCall = 1 }]);
        var message = (await Queue.ReceiveMessageAsync()).Value;
        Assert.Empty(await Host.Activate<HarvestPageFunction>().Run(message, default)); // put back with a delay of about a minute
        await Queue.ClearMessagesAsync(); // ... and that message is lost with its instance
        var status = await StatusAsync(livingId);
        var throttledFor = status.ThrottledUntil!.Value - _time.GetUtcNow();
        Assert.InRange(throttledFor, TimeSpan.FromSeconds(48), TimeSpan.FromSeconds(72)); // 60 s ± 20%

        _time.Advance(throttledFor + TimeSpan.FromSeconds(55));
        Assert.False(await RedrivenAsync(livingId), "re-driven less than a stall period after its throttle delay");
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(await RedrivenAsync(livingId), "not re-driven a stall period after its throttle delay");
        Simulator.State.Faults.Clear();
        await NewDriver().DrainAsync();

        Assert.Equal(HarvestStates.Completed, (await StatusAsync(livingId)).State);
        Assert.Equal(300, (await RowsAsync(livingId)).Count);
    }

    [Fact]
    public async Task A_page_the_queue_keeps_retrying_is_alive_and_not_redriven()
    {
        var livingId = NewLiveId("100m0x");
        await PostHarvestAsync(livingId);
        Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.Http502], Api = "living/get_watch_stat" }]);
        var function = Host.Activate<HarvestPageFunction>();
        for (var delivery = 1; delivery <= 4; delivery++)
        {
            _time.Advance(TimeSpan.FromSeconds(45)); // host.json visibilityTimeout (30 s) and the call
            var message = (await Queue.ReceiveMessageAsync()).Value;
            await Assert.ThrowsAnyAsync<Exception>(() => function.Run(message, default));
            await Queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, (string?)null, TimeSpan.Zero);
            Assert.False(await RedrivenAsync(livingId), $"re-driven while delivery {delivery} was being retried");
        }
        Assert.Contains("502", (await StatusAsync(livingId)).LastErrorMessage, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(61)); // the queue gave up on it (say, an instance died holding it)
        Assert.True(await RedrivenAsync(livingId));
        Simulator.State.Faults.Clear();
        await Queue.ClearMessagesAsync();
    }

    [Fact]
    public async Task An_ended_run_leaves_the_index_and_an_entry_left_behind_is_removed_once_old()
    {
        var livingId = NewLiveId("100m50x");
        await PostHarvestAsync(livingId);
        Assert.NotNull(await EntryAsync(livingId)); // on the index from its start
        await NewDriver().DrainAsync();
        var status = await StatusAsync(livingId);
        Assert.Equal(HarvestStates.Completed, status.State);
        Assert.Null(await EntryAsync(livingId)); // and off it at its end

        await Store.MarkActiveAsync(status, default); // as a start that died before writing its status row leaves it
        Assert.False(await RedrivenAsync(livingId));
        Assert.NotNull(await EntryAsync(livingId)); // young: a start may be between its two writes
        _time.Advance(StalledRunSweeper.LeftoverAge + TimeSpan.FromMinutes(1));
        Assert.False(await RedrivenAsync(livingId));
        Assert.Null(await EntryAsync(livingId));
    }

    [Fact]
    public async Task A_sweep_costs_the_same_with_hundreds_of_finished_runs_and_finds_the_stalled_one_among_them()
    {
        // A run whose first page's message is lost: stalled from its start.
        var stalled = NewLiveId("30m20x");
        await PostHarvestAsync(stalled);
        await Queue.ClearMessagesAsync();
        _time.Advance(StalledRunSweeper.LeftoverAge + TimeSpan.FromMinutes(5)); // leftovers of other tests go now
        Assert.True(await RedrivenAsync(stalled));
        await Queue.ClearMessagesAsync();

        var before = await SweepRequestsAsync(stalled);
        await WriteFinishedRunsAsync(1200); // 2,400 rows: a scan would take more than two pages of 1,000
        var after = await SweepRequestsAsync(stalled);

        // The same storage requests, one by one: the finished runs (1,200 status rows and as many page records) cost nothing.
        Assert.Equal(before, after);
        Assert.DoesNotContain(after, r => r.Contains(FinishedPrefix, StringComparison.Ordinal));
    }

    private const string FinishedPrefix = "lv-finished-";

    /// <summary>One sweep a stall period later, which re-drives the stalled run again: the storage requests it made.</summary>
    private async Task<List<string>> SweepRequestsAsync(string stalled)
    {
        _time.Advance(TimeSpan.FromSeconds(Host.Get<Microsoft.Extensions.Options.IOptions<HarvestOptions>>().Value.StallSeconds + 1));
        Faults.ClearRequests();
        Assert.True(await RedrivenAsync(stalled));
        var requests = Faults.Requests.ToList();
        await Queue.ClearMessagesAsync();
        return requests;
    }

    /// <summary>Completed runs as the page step leaves them: a status row and a page record each.</summary>
    private async Task WriteFinishedRunsAsync(int count)
    {
        var now = _time.GetUtcNow();
        foreach (var i in Enumerable.Range(0, count))
        {
            var run = HarvestRecord.NewRun(Lives.Sim(FinishedPrefix + Guid.NewGuid().ToString("N")[..8] + $"-{i}"), "default", $"run-{i}", now);
            run.State = HarvestStates.Completed;
            run.PagesDone = 1;
            run.CompletedAt = now;
            await Store.Harvests.SubmitTransactionAsync([
                new(Azure.Data.Tables.TableTransactionActionType.Add, run),
                new(Azure.Data.Tables.TableTransactionActionType.Add, new Azure.Data.Tables.TableEntity(run.PartitionKey, HarvestStore.PageRowKey(1))
                    { ["CorpId"] = run.CorpId, ["RunId"] = run.RunId, ["Page"] = 1, ["Keys"] = "m:a\nm:b" }),
            ]);
        }
    }

    private async Task<Azure.Data.Tables.TableEntity?> EntryAsync(string livingId)
    {
        var entry = await Store.Harvests.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>(HarvestStore.ActivePartition, Lives.Sim(livingId).PartitionKey);
        return entry.HasValue ? entry.Value : null;
    }
}
