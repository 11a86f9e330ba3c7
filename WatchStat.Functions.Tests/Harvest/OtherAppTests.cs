using Azure.Data.Tables;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Harvest;

/// <summary>
/// A live's status and viewer rows belong to the app that harvests it: a request naming another app is refused with
/// a 409 (CLI: exit 2) that says which app the live is harvested as, and changes nothing, while the run is active
/// and after it has completed, with or without force.
/// </summary>
public sealed class OtherAppTests : PipelineTest
{
    // Two apps of one corp (its own app and, say, an agent-developed one): the same livingid is the same live.
    private const string SalesCorp = SimulatorOptions.DefaultCorpId;

    protected override SimulatorOptions SimulatorOptions => new()
    {
        Apps = [new() { CorpId = SimulatorOptions.DefaultCorpId, Secret = SimulatorOptions.DefaultSecret }, new() { CorpId = SalesCorp, Secret = "sales-secret" }],
    };

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:Apps:sales:CorpId"] = SalesCorp,
        ["WeCom:Apps:sales:Secret"] = "sales-secret",
    };

    [Fact]
    public async Task A_POST_naming_another_app_than_the_lives_run_is_a_409_and_changes_nothing()
    {
        var livingId = NewLiveId("120m80x");
        Assert.Equal(202, (await PostHarvestAsync(livingId)).Status);
        var queued = await StatusAsync(livingId);
        var living = await LivingAsync(livingId);

        // While its run is queued, and after it completed; force does not change whose live it is.
        await AssertRefusedAsync(livingId, queued, living, queueLength: 1);
        await NewDriver().DrainAsync();
        var completed = await StatusAsync(livingId);
        Assert.Equal(HarvestStates.Completed, completed.State);
        await AssertRefusedAsync(livingId, completed, living, queueLength: 0);

        // The app it is harvested as may harvest it again (the positive control of the refusals above).
        Assert.Equal(202, (await PostHarvestAsync(livingId, app: "default")).Status);
        Assert.NotEqual(completed.RunId, (await StatusAsync(livingId)).RunId);
    }

    [Fact]
    public async Task The_CLI_refuses_another_apps_live_with_exit_2_and_changes_nothing()
    {
        var livingId = NewLiveId("30m20x");
        Assert.Equal(202, (await PostHarvestAsync(livingId)).Status);
        var run = await StatusAsync(livingId);
        var environment = new Dictionary<string, string>
        {
            ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
            ["WeCom__CorpId"] = SimulatorOptions.DefaultCorpId,
            ["WeCom__Secret"] = SimulatorOptions.DefaultSecret,
            ["WeCom__Apps__sales__CorpId"] = SalesCorp,
            ["WeCom__Apps__sales__Secret"] = "sales-secret",
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
        };

        foreach (var command in new[] { "enqueue", "harvest" })
        {
            var result = await CliRunner.RunAsync(environment, command, livingId, "--app", "sales", "--force");
            Assert.True(result.ExitCode == 2, $"{command}: exit {result.ExitCode}\n{result.Output}{result.Error}");
            // The console wraps long lines: compare with the line breaks taken out.
            var said = System.Text.RegularExpressions.Regex.Replace(result.Output + result.Error, @"\s+", " ");
            Assert.Contains("is harvested as WeCom app 'default', not 'sales'", said, StringComparison.Ordinal);
        }
        var after = await StatusAsync(livingId);
        Assert.Equal((run.RunId, run.State, run.PagesDone), (after.RunId, after.State, after.PagesDone));
        Assert.Equal(1, await QueueLengthAsync());
        Assert.Equal(0, WeCom.Calls("living/get_watch_stat"));
    }

    private async Task AssertRefusedAsync(string livingId, HarvestRecord before, TableEntity livingBefore, int queueLength)
    {
        foreach (var force in new[] { false, true })
        {
            var answer = await PostHarvestAsync(livingId, force, app: "sales");
            Assert.Equal(409, answer.Status);
            Assert.StartsWith("application/problem+json", answer.ContentType);
            Assert.Contains("is harvested as WeCom app 'default', not 'sales'", answer.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        var after = await StatusAsync(livingId);
        Assert.Equal((before.RunId, before.State, before.App), (after.RunId, after.State, after.App));
        Assert.Equal(queueLength, await QueueLengthAsync());
        var living = await LivingAsync(livingId);
        Assert.Equal((livingBefore.GetString("App"), livingBefore.GetDateTimeOffset("ArrivedAt")), (living.GetString("App"), living.GetDateTimeOffset("ArrivedAt")));
    }

    private async Task<TableEntity> LivingAsync(string livingId) =>
        await Host.Get<LivingStore>().GetAsync(LiveOf(livingId), default) ?? throw new Xunit.Sdk.XunitException($"no Livings row for {livingId}");
}
