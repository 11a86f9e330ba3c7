using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Harvest;

/// <summary>What WeCom does not document: repeated viewers, empty pages, a cursor that never moves, odd ids.</summary>
public sealed class HarvestEdgeCaseTests : PipelineTest
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["Harvest:MaxPages"] = "40" };

    [Fact]
    public async Task Viewers_repeated_within_and_across_pages_are_one_row_each_and_counted_once()
    {
        var livingId = NewLiveId("repeats");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 700, Externals = 450, RepeatWithinPage = true, RepeatAcrossPages = true });

        var runId = (await PostHarvestAsync(livingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        await NewDriver().DrainAsync();

        var rows = await RowsAsync(livingId);
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, rows, runId);
        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, 700, 450), (status.State, status.MembersWritten, status.ExternalWritten));
        // The run's watch time is that of its rows: each repeated viewer once, as its row has it.
        Assert.Equal(rows.Sum(r => (long)r.GetInt32("WatchTimeSeconds")!.Value), status.WatchTimeSeconds);
    }

    [Fact]
    public async Task Empty_pages_with_ending_0_are_walked_through()
    {
        var livingId = NewLiveId("empty");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 600, Externals = 400, EmptyPageEvery = 3 });
        var live = Simulator.State.FindLive(livingId)!;

        var runId = (await PostHarvestAsync(livingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        await NewDriver().DrainAsync();

        RowAssertions.MatchSimulator(live, await RowsAsync(livingId), runId);
        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, live.PageCount(100)), (status.State, status.PagesDone));
        Assert.True(status.PagesDone > 10, "the empty pages count as pages");
    }

    [Fact]
    public async Task A_cursor_that_does_not_move_fails_the_run_instead_of_looping()
    {
        var livingId = NewLiveId("stuck");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 600, Externals = 400, StuckAtPage = 4 });

        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();

        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Failed, 3), (status.State, status.PagesDone));
        Assert.Contains("cursor did not move", status.LastErrorMessage);
        Assert.Equal(0, await QueueLengthAsync());
    }

    [Fact]
    public async Task A_run_past_the_page_cap_fails_instead_of_running_on()
    {
        var livingId = NewLiveId("3000m2000x"); // 50 pages, cap 40
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();

        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Failed, 40), (status.State, status.PagesDone));
        Assert.Contains("Harvest:MaxPages", status.LastErrorMessage);
    }

    [Fact]
    public async Task Ids_with_characters_Azure_forbids_in_keys_are_stored_under_escaped_keys()
    {
        // Not '/': a livingid with one is refused at every way in (no URL could name the live); its viewers' ids may have it.
        var livingId = NewLiveId("odd\\ids#?%");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 300, Externals = 200, OddIds = true });
        var live = Simulator.State.FindLive(livingId)!;
        Assert.Contains(live.ExpectedViewers(), v => v.Id.IndexOfAny(['/', '\\', '#', '?', '\u0001']) >= 0);

        var runId = (await PostHarvestAsync(livingId)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        await NewDriver().DrainAsync();

        var rows = await RowsAsync(livingId);
        RowAssertions.MatchSimulator(live, rows, runId);
        Assert.All(rows, r => Assert.Equal(-1, (r.PartitionKey + r.RowKey).IndexOfAny(['/', '\\', '#', '?', '\u0001', '\u007f'])));
        Assert.Equal(HarvestStates.Completed, (await StatusAsync(livingId)).State);
    }

    [Fact]
    public async Task An_unknown_live_fails_the_run_with_WeComs_errcode_and_errmsg()
    {
        var livingId = NewLiveId("no-such-live");
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();

        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Failed, 40058, 0), (status.State, status.LastErrorCode, status.PagesDone));
        Assert.Contains("invalid livingid", status.LastErrorMessage);
        Assert.Empty(await RowsAsync(livingId));
    }
}
