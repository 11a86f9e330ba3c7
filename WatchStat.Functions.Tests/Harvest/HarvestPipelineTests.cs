using Microsoft.Extensions.Time.Testing;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Harvest;

/// <summary>A livingid goes in over HTTP; the queue function walks it page by page into the table.</summary>
public sealed class HarvestPipelineTests : PipelineTest
{
    private readonly string LivingId = NewLiveId("1800m1300x"); // 3,100 viewers, 31 pages of 100

    [Fact]
    public async Task A_live_of_3100_viewers_goes_through_the_HTTP_and_queue_functions_into_the_table()
    {
        var answer = await PostHarvestAsync(LivingId);

        Assert.Equal(202, answer.Status);
        Assert.Equal($"/api/harvests/{LivingId}", answer.Location);
        var runId = answer.Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        Assert.Equal("queued", answer.Json.GetProperty("harvest").GetProperty("state").GetString());
        Assert.True(answer.Json.GetProperty("created").GetBoolean());
        Assert.Equal(1, await QueueLengthAsync());

        var driver = NewDriver();
        await driver.DrainAsync();

        var live = Simulator.State.FindLive(LivingId)!;
        RowAssertions.MatchSimulator(live, await RowsAsync(LivingId), runId);
        var status = await StatusAsync(LivingId);
        Assert.Equal((HarvestStates.Completed, runId, 31, 1800, 1300), (status.State, status.RunId, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.NotNull(status.CompletedAt);
        Assert.Null(status.LastErrorMessage);
        Assert.Equal(31, driver.Invocations);
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Equal(1, WeCom.Calls(WeComClient.GetTokenApi));
        Assert.Equal(31, WeCom.Calls(WeComClient.GetWatchStatApi));
    }

    [Fact]
    public async Task A_page_costs_one_WeCom_call_and_three_table_transactions()
    {
        var livingId = NewLiveId("600m400x"); // 10 pages
        await PostHarvestAsync(livingId);
        await Host.Get<WeComBudget>().EnsureCreatedAsync(default); // the host creates its tables at start
        Faults.ClearRequests();

        await NewDriver().DrainAsync();

        // Per page: read the checkpoint; one entity-group transaction of the page's rows; one transaction that
        // advances the checkpoint and records the page's keys. Once per run: the page records read on the last page,
        // and the run's entry in the sweeper's index read and deleted. Once per block of calls (here one block per API,
        // gettoken and get_watch_stat): the shared WeCom budget's query and transaction.
        var tables = Faults.Requests.Where(r => !r.Contains("/harvest-pages", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, tables.Count(r => r.StartsWith("GET ", StringComparison.Ordinal) && r.Contains("/Harvests(PartitionKey", StringComparison.Ordinal) && r.Contains("RowKey='status'", StringComparison.Ordinal)));
        Assert.Equal(2, tables.Count(r => r.StartsWith("GET ", StringComparison.Ordinal) && r.Contains("/WeComBudget()", StringComparison.Ordinal)));
        Assert.Equal(20 + 2, tables.Count(r => r.StartsWith("POST ", StringComparison.Ordinal) && r.EndsWith("/$batch", StringComparison.Ordinal)));
        Assert.Equal(1, tables.Count(r => r.EndsWith("/Harvests()", StringComparison.Ordinal)));
        Assert.Equal(1, tables.Count(r => r.StartsWith("GET ", StringComparison.Ordinal) && r.Contains("PartitionKey='%25active'", StringComparison.Ordinal)));
        Assert.Equal(1, tables.Count(r => r.StartsWith("DELETE ", StringComparison.Ordinal) && r.Contains("PartitionKey='%25active'", StringComparison.Ordinal)));
        Assert.True(33 + 4 == tables.Count, string.Join("\n", tables));
        Assert.Equal(10, WeCom.Calls(WeComClient.GetWatchStatApi));
        Assert.Equal(1, WeCom.Calls(WeComClient.GetTokenApi));
    }

    [Fact]
    public async Task Every_message_delivered_twice_gives_the_same_rows_and_exact_counts()
    {
        var runId = (await PostHarvestAsync(LivingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        var driver = NewDriver();
        driver.Plan = m => m.DequeueCount == 1 ? Delivery.Twice : Delivery.Normal;

        await driver.DrainAsync();

        RowAssertions.MatchSimulator(Simulator.State.FindLive(LivingId)!, await RowsAsync(LivingId), runId);
        var status = await StatusAsync(LivingId);
        Assert.Equal((HarvestStates.Completed, 31, 1800, 1300), (status.State, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.True(driver.Invocations >= 62, $"each message should have run twice, {driver.Invocations} invocations");
        Assert.Equal(31, WeCom.Calls(WeComClient.GetWatchStatApi)); // a duplicate never fetches a page again
        Assert.Equal(0, await QueueLengthAsync());
    }

    [Fact]
    public async Task Two_deliveries_racing_advance_the_checkpoint_once_and_leave_one_chain()
    {
        var runId = (await PostHarvestAsync(LivingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        var driver = NewDriver();
        driver.Plan = _ => Delivery.Racing;

        await driver.DrainAsync();

        RowAssertions.MatchSimulator(Simulator.State.FindLive(LivingId)!, await RowsAsync(LivingId), runId);
        var status = await StatusAsync(LivingId);
        Assert.Equal((HarvestStates.Completed, 31, 1800, 1300), (status.State, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.Equal(0, await QueueLengthAsync());
        // The racing twin of a message may send the successor too (it cannot tell its twin's write from its own),
        // but a copy of a page that is done never sends one: at most two messages per page, never more.
        Assert.InRange(driver.MessagesSent, 30, 60);
    }

    [Fact]
    public async Task A_crash_after_the_rows_before_the_checkpoint_loses_nothing()
    {
        var runId = (await PostHarvestAsync(LivingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        Faults.FailNth(6, StorageFaults.IsCheckpointWrite); // page 6's checkpoint transaction, after its rows
        var driver = NewDriver();

        await driver.DrainAsync();

        Assert.Equal(1, Faults.Injected);
        Assert.Equal(1, driver.FailedInvocations);
        RowAssertions.MatchSimulator(Simulator.State.FindLive(LivingId)!, await RowsAsync(LivingId), runId);
        var status = await StatusAsync(LivingId);
        Assert.Equal((HarvestStates.Completed, 31, 1800, 1300), (status.State, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.Equal(32, WeCom.Calls(WeComClient.GetWatchStatApi)); // the crashed page was fetched again
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Equal(0, driver.Poisoned);
    }

    [Fact]
    public async Task A_crash_after_the_checkpoint_before_the_successor_is_sent_loses_nothing()
    {
        var runId = (await PostHarvestAsync(LivingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        var driver = NewDriver();
        var crashed = 0;
        driver.Plan = m => m.Body.ToString().Contains("\"page\":7,", StringComparison.Ordinal) && crashed++ == 0 ? Delivery.CrashBeforeOutputs : Delivery.Normal;

        await driver.DrainAsync();

        Assert.Equal(2, crashed); // the crashed delivery and its redelivery
        RowAssertions.MatchSimulator(Simulator.State.FindLive(LivingId)!, await RowsAsync(LivingId), runId);
        var status = await StatusAsync(LivingId);
        Assert.Equal((HarvestStates.Completed, 31, 1800, 1300), (status.State, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.Equal(31, WeCom.Calls(WeComClient.GetWatchStatApi)); // the redelivery re-sent the successor without refetching
        Assert.Equal(0, await QueueLengthAsync());
    }

    [Fact]
    public async Task A_run_already_queued_is_returned_as_is_and_force_starts_a_new_one()
    {
        var first = await PostHarvestAsync(LivingId);
        var again = await PostHarvestAsync(LivingId);
        var forced = await PostHarvestAsync(LivingId, force: true);

        var firstRun = first.Json.GetProperty("harvest").GetProperty("runId").GetString();
        Assert.Equal(firstRun, again.Json.GetProperty("harvest").GetProperty("runId").GetString());
        Assert.False(again.Json.GetProperty("created").GetBoolean());
        var forcedRun = forced.Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        Assert.NotEqual(firstRun, forcedRun);
        Assert.True(forced.Json.GetProperty("created").GetBoolean());

        await NewDriver().DrainAsync();

        var status = await StatusAsync(LivingId);
        Assert.Equal((HarvestStates.Completed, forcedRun, 31), (status.State, status.RunId, status.PagesDone));
        RowAssertions.MatchSimulator(Simulator.State.FindLive(LivingId)!, await RowsAsync(LivingId), forcedRun);
        Assert.Equal(31, WeCom.Calls(WeComClient.GetWatchStatApi)); // the first run's messages were stale: no fetch
    }

    [Fact]
    public async Task A_completed_live_posted_again_gets_a_fresh_run_that_rewrites_its_rows()
    {
        await PostHarvestAsync(LivingId);
        await NewDriver().DrainAsync();
        var firstRows = RowAssertions.Content(await RowsAsync(LivingId));

        var second = await PostHarvestAsync(LivingId);
        await NewDriver().DrainAsync();

        var secondRun = second.Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        Assert.True(second.Json.GetProperty("created").GetBoolean());
        Assert.Equal(firstRows, RowAssertions.Content(await RowsAsync(LivingId)));
        Assert.All(await RowsAsync(LivingId), r => Assert.Equal(secondRun, r.GetString("RunId")));
    }
}

/// <summary>Tokens that expire during a run are renewed; the count of gettoken calls is what the lifetime implies.</summary>
public sealed class TokenExpiryDuringHarvestTests : PipelineTest
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));

    protected override TimeProvider? Time => _time;
    protected override SimulatorOptions SimulatorOptions => new() { TokenLifetimeSeconds = 120 };

    [Fact]
    public async Task A_run_outlives_several_tokens()
    {
        var livingId = NewLiveId("2000m1000x"); // 30 pages
        var runId = (await PostHarvestAsync(livingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        var driver = NewDriver();
        driver.AfterDelivery = () => _time.Advance(TimeSpan.FromSeconds(25));

        await driver.DrainAsync();

        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, await RowsAsync(livingId), runId);
        Assert.Equal(HarvestStates.Completed, (await StatusAsync(livingId)).State);
        // Pages at t = 0, 25, ..., 725 s; a 120 s token is renewed 12 s early, i.e. used for at most 108 s:
        // calls at 0-100 (5), 125-225 (5), ... → one token per 5 pages.
        Assert.Equal(30, WeCom.Calls(WeComClient.GetWatchStatApi));
        Assert.Equal(6, WeCom.Calls(WeComClient.GetTokenApi));
        Assert.Equal(0, WeCom.Errors(42001));
    }
}
