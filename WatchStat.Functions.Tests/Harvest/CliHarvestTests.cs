using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Harvest;

/// <summary><c>watchstat harvest</c> as a process: the same rows and checkpoint as the function path.</summary>
public sealed class CliHarvestTests : PipelineTest
{
    private Dictionary<string, string> Environment => new()
    {
        ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
        ["WeCom__CorpId"] = Simulator.State.Options.Apps[0].CorpId,
        ["WeCom__Secret"] = Simulator.State.Options.Apps[0].Secret,
        ["AzureWebJobsStorage"] = Azurite.ConnectionString,
    };

    [Fact]
    public async Task The_CLI_harvest_writes_the_same_rows_as_the_function_path()
    {
        var livingId = NewLiveId("1800m1300x");
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        var viaFunctions = RowAssertions.Content(await RowsAsync(livingId));

        var result = await CliRunner.RunAsync(Environment, "harvest", livingId);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Output}{result.Error}");
        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, 31, 1800, 1300), (status.State, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        var rows = await RowsAsync(livingId);
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, rows, status.RunId);
        Assert.Equal(viaFunctions, RowAssertions.Content(rows));
        Assert.Contains("3,100", result.Output);
        Assert.Contains(ViewerRows.TableName, result.Output);
    }

    [Fact]
    public async Task The_CLI_resumes_a_run_the_queue_left_unfinished()
    {
        var livingId = NewLiveId("1000m500x"); // 15 pages
        await PostHarvestAsync(livingId);
        var driver = NewDriver();
        driver.Plan = m => m.Body.ToString().Contains("\"page\":6,", StringComparison.Ordinal) ? Delivery.CrashBeforeOutputs : Delivery.Normal;
        var runId = (await StatusAsync(livingId)).RunId;
        // Drive until page 5 is done, then abandon the queue (as if the app were stopped).
        for (var i = 0; i < 5; i++)
        {
            var message = (await Queue.ReceiveMessageAsync()).Value;
            var output = await Host.Activate<WatchStat.Functions.HarvestPageFunction>().Run(message, default);
            foreach (var next in output) await Queue.SendMessageAsync(next);
            await Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
        }
        await Queue.ClearMessagesAsync();
        Assert.Equal((HarvestStates.Running, 5), ((await StatusAsync(livingId)).State, (await StatusAsync(livingId)).PagesDone));

        var result = await CliRunner.RunAsync(Environment, "harvest", livingId);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Output}{result.Error}");
        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, runId, 15), (status.State, status.RunId, status.PagesDone));
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, await RowsAsync(livingId), runId);
        Assert.Equal(15, WeCom.Calls(WatchStat.WeCom.WeComClient.GetWatchStatApi));
    }

    [Fact]
    public async Task A_harvest_killed_ten_times_at_random_points_and_resumed_writes_the_rows_of_a_clean_run()
    {
        var livingId = NewLiveId("24000m16000x"); // 400 pages, slowed so ten short lives of the CLI cannot finish them
        Simulator.State.Options.LatencyMilliseconds = 80;
        var seed = Random.Shared.Next();
        var random = new Random(seed);
        var kills = new List<int>();
        for (var i = 0; i < 10; i++)
        {
            var after = random.Next(1500, 5000); // the CLI checkpoints every second or so once it has started
            if (await CliRunner.RunAndKillAsync(Environment, TimeSpan.FromMilliseconds(after), "harvest", livingId)) kills.Add(after);
        }
        var runBefore = await StatusAsync(livingId);
        Assert.Equal(HarvestStates.Running, runBefore.State);
        Assert.InRange(runBefore.PagesDone, 1, 399);
        Simulator.State.Options.LatencyMilliseconds = 0;

        var result = await CliRunner.RunAsync(Environment, "harvest", livingId);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode} (kill seed {seed}): {result.Output}{result.Error}");
        Assert.True(kills.Count >= 8, $"only {kills.Count} of 10 runs were still going when killed (seed {seed})");
        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, 400, 24000, 16000), (status.State, status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.Equal(runBefore.RunId, status.RunId); // one run, resumed each time
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, await RowsAsync(livingId), status.RunId);
    }

    [Fact]
    public async Task A_failed_run_exits_1_with_errcode_and_errmsg()
    {
        var result = await CliRunner.RunAsync(Environment, "harvest", NewLiveId("unknown"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("40058", result.Output);
        Assert.Contains("invalid livingid", result.Output);
    }

    [Theory]
    [InlineData("harvest")]
    [InlineData("harvest", "lv with space")]
    [InlineData("no-such-command")]
    public async Task Usage_errors_exit_2(params string[] args)
    {
        var result = await CliRunner.RunAsync(Environment, args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_unknown_app_exits_2_and_starts_nothing()
    {
        var livingId = NewLiveId("1m1x");

        var result = await CliRunner.RunAsync(Environment, "harvest", livingId, "--app", "marketing");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unknown WeCom app 'marketing'", result.Output);
        Assert.Null(await Store.GetAsync(Lives.Sim(livingId), default));
    }

    [Fact]
    public async Task A_missing_setting_exits_2_naming_it()
    {
        var environment = Environment;
        environment.Remove("WeCom__Secret");

        var result = await CliRunner.RunAsync(environment, "harvest", "lv-cli-1m1x");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("WeCom:Secret", result.Output);
    }
}
