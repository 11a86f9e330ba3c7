using Azure.Core;
using WatchStat.Harvest;
using WatchStat.Privacy;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Privacy;

/// <summary>
/// <see cref="Forgetting"/> in the process, where storage faults can stop it halfway, and beside a run in progress.
/// The corp is the test's own, so the lives searched are exactly these.
/// </summary>
public sealed class ForgettingTests : PipelineTest
{
    private readonly string _corp = "wwforget" + Guid.NewGuid().ToString("N")[..8];

    protected override SimulatorOptions SimulatorOptions => new()
    {
        Apps = [new SimulatedApp { CorpId = _corp, Secret = WeComSimulator.SimulatorOptions.DefaultSecret }],
    };

    private Forgetting Forgetting => new(Store);

    private async Task<(List<string> Lives, Person Person)> TwoLivesOfOnePersonAsync(bool harvest = true)
    {
        var seed = Guid.NewGuid().ToString("N");
        var lives = new List<string>();
        foreach (var members in new[] { 150, 120 })
        {
            var livingId = NewLiveId();
            Simulator.State.AddLive(livingId, new LiveSpec { Members = members, Externals = 30, IdSeed = seed });
            await PostHarvestAsync(livingId);
            lives.Add(livingId);
        }
        if (harvest) await NewDriver().DrainAsync();
        var person = Simulator.State.FindLive(lives[0])!.ExpectedViewers().First(v => v.IsMember).Id;
        return (lives, new Person(_corp, true, person));
    }

    private static bool IsDeleteOf(Request request, string rowKey) =>
        request.Method == RequestMethod.Delete && Uri.UnescapeDataString(request.Uri.Path).Contains($"RowKey='{rowKey}'", StringComparison.Ordinal);

    [Fact]
    public async Task A_forget_that_dies_before_deleting_the_row_is_finished_by_running_it_again()
    {
        var (lives, person) = await TwoLivesOfOnePersonAsync();
        var viewers = (await RowsAsync(lives[0])).Count;

        Faults.FailNth(1, r => IsDeleteOf(r, person.RowKey));
        await Assert.ThrowsAnyAsync<Exception>(() => Forgetting.ForgetAsync(person, default));
        // Their lines and counts are gone from one live at least, but a row of theirs is left: what marks the work undone.
        Assert.True((await Store.WatchStats.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>(LiveOf(lives[0]).PartitionKey, person.RowKey)).HasValue
            || (await Store.WatchStats.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>(LiveOf(lives[1]).PartitionKey, person.RowKey)).HasValue);

        var rerun = await Forgetting.ForgetAsync(person, default);
        var third = await Forgetting.ForgetAsync(person, default);

        Assert.True(rerun.ViewerRows >= 1, $"{rerun}");
        Assert.Equal(new ForgetResult(2, 0, 0, 0, 0, 0), third);
        foreach (var livingId in lives)
        {
            var rows = await RowsAsync(livingId);
            Assert.DoesNotContain(rows, r => r.RowKey == person.RowKey);
            var status = await StatusAsync(livingId);
            Assert.Equal(rows.Count, status.MembersWritten + status.ExternalWritten);
            Assert.Equal(rows.Sum(r => (long)r.GetInt32("WatchTimeSeconds")!.Value), status.WatchTimeSeconds);
        }
        Assert.Equal(viewers - 1, (await RowsAsync(lives[0])).Count);
    }

    [Fact]
    public async Task A_run_in_progress_keeps_its_status_row_and_is_reported()
    {
        var (lives, person) = await TwoLivesOfOnePersonAsync(harvest: false);
        for (var page = 0; page < 2; page++) // the first page of each live: both running
        {
            var message = (await Queue.ReceiveMessageAsync()).Value;
            foreach (var next in await Host.Activate<global::WatchStat.Functions.HarvestPageFunction>().Run(message, default)) await Queue.SendMessageAsync(next);
            await Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
        }
        var statuses = new List<HarvestRecord>();
        foreach (var livingId in lives) statuses.Add(await StatusAsync(livingId));
        Assert.All(statuses, s => Assert.Equal(HarvestStates.Running, s.State));

        var result = await Forgetting.ForgetAsync(person, default);

        Assert.True(result.RunningLives >= 1, $"{result}");
        Assert.Equal(result.ViewerRows, result.RunningLives); // each live they were found in was still running
        foreach (var (livingId, before) in lives.Zip(statuses))
        {
            var after = await StatusAsync(livingId);
            Assert.Equal(before.ETag, after.ETag); // untouched: the run's next checkpoint is not refused
        }
        await NewDriver().DrainAsync();
        foreach (var livingId in lives) Assert.Equal(HarvestStates.Completed, (await StatusAsync(livingId)).State);
    }
}
