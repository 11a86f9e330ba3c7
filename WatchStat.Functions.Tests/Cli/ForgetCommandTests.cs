using Azure.Data.Tables;
using WatchStat.Harvest;
using WatchStat.Reports;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Cli;

/// <summary>
/// <c>watchstat forget</c>, the real CLI against Azurite: one person goes from three harvested lives (their rows,
/// their lines in the page records, their name as inviter on other rows, and from the counts), and nobody else
/// changes. The corp is the test's own, so that the lives searched are exactly these.
/// </summary>
public sealed class ForgetCommandTests : PipelineTest
{
    private readonly string _corp = "wwforget" + Guid.NewGuid().ToString("N")[..8];

    protected override SimulatorOptions SimulatorOptions => new()
    {
        Apps = [new SimulatedApp { CorpId = _corp, Secret = WeComSimulator.SimulatorOptions.DefaultSecret }],
    };

    private Dictionary<string, string> Environment => new()
    {
        ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
        ["WeCom__CorpId"] = _corp,
        ["WeCom__Secret"] = WeComSimulator.SimulatorOptions.DefaultSecret,
        ["AzureWebJobsStorage"] = Azurite.ConnectionString,
    };

    /// <summary>Three lives that share their people (member n and external n are the same person in each), harvested.</summary>
    private async Task<List<string>> HarvestThreeAsync()
    {
        var seed = Guid.NewGuid().ToString("N");
        var lives = new List<string>();
        foreach (var (members, externals) in new[] { (120, 80), (150, 60), (90, 40) })
        {
            var livingId = NewLiveId();
            Simulator.State.AddLive(livingId, new LiveSpec { Members = members, Externals = externals, IdSeed = seed, InvitorShare = 0.6 });
            await PostHarvestAsync(livingId);
            lives.Add(livingId);
        }
        await NewDriver().DrainAsync();
        foreach (var livingId in lives) Assert.Equal(HarvestStates.Completed, (await StatusAsync(livingId)).State);
        return lives;
    }

    /// <summary>A row's properties but the service's bookkeeping, for comparing rows.</summary>
    private static Dictionary<string, object?> Content(TableEntity row) =>
        row.Where(p => p.Key is not ("odata.etag" or "Timestamp")).ToDictionary(p => p.Key, p => (object?)p.Value);

    private async Task<Dictionary<string, Dictionary<string, object?>>> RowsByKeyAsync(string livingId) =>
        (await RowsAsync(livingId)).ToDictionary(r => r.RowKey, Content);

    private async Task<List<string>> PageRecordLinesAsync(string livingId)
    {
        var lines = new List<string>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {LiveOf(livingId).PartitionKey} and RowKey gt {HarvestStore.PageRowPrefix}");
        await foreach (var record in Store.Harvests.QueryAsync<TableEntity>(filter))
        {
            if (!record.RowKey.StartsWith(HarvestStore.PageRowPrefix, StringComparison.Ordinal)) continue;
            foreach (var (name, value) in record)
            {
                if (name.StartsWith("Keys", StringComparison.Ordinal) && value is string text) lines.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }
        }
        return lines;
    }

    /// <summary>The output as one line: Spectre wraps lines at the console's width.</summary>
    private static string Flat(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " ");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Forget_removes_exactly_one_person_from_three_lives_and_a_second_run_removes_nothing(bool member)
    {
        var lives = await HarvestThreeAsync();
        var (idProperty, inviterProperty, option) = member
            ? ("UserId", "InvitorUserId", "--userid")
            : ("ExternalUserId", "InvitorExternalUserId", "--external-userid");
        var before = new Dictionary<string, Dictionary<string, Dictionary<string, object?>>>();
        foreach (var livingId in lives) before[livingId] = await RowsByKeyAsync(livingId);

        // The person: one who watched all three lives and invited the most viewers in them.
        var all = before.Values.SelectMany(rows => rows.Values).ToList();
        var person = all.Where(r => r.GetValueOrDefault(idProperty) is string).GroupBy(r => (string)r[idProperty]!)
            .Where(g => g.Count() == 3)
            .OrderByDescending(g => all.Count(r => Equals(r.GetValueOrDefault(inviterProperty), g.Key))).ThenBy(g => g.Key, StringComparer.Ordinal)
            .First().Key;
        var rowKey = member ? ViewerRows.MemberRowKey(person) : ViewerRows.ExternalRowKey(person);
        var invited = all.Count(r => Equals(r.GetValueOrDefault(inviterProperty), person) && !Equals(r.GetValueOrDefault(idProperty), person));
        Assert.True(invited > 0, "the person invited nobody: the inviter part would not be tested");
        var statusBefore = new Dictionary<string, HarvestRecord>();
        foreach (var livingId in lives)
        {
            statusBefore[livingId] = await StatusAsync(livingId);
            Assert.Contains(await PageRecordLinesAsync(livingId), line => line.StartsWith(rowKey + "\t", StringComparison.Ordinal));
        }

        var forget = await CliRunner.RunAsync(Environment, "forget", option, person);

        Assert.True(forget.ExitCode == 0, forget.Output + forget.Error);
        Assert.True(Flat(forget.Output).Contains("Removed 3 viewer rows", StringComparison.Ordinal), forget.Output);
        Assert.True(Flat(forget.Output).Contains("searched 3 harvested lives", StringComparison.Ordinal), forget.Output);
        Assert.True(Flat(forget.Output).Contains($"{invited} other viewers' rows no longer name them as inviter", StringComparison.Ordinal), forget.Output);
        Assert.True(Flat(forget.Output).Contains("3 lives' viewer counts and watch time recounted", StringComparison.Ordinal), forget.Output);
        foreach (var livingId in lives)
        {
            var after = await RowsByKeyAsync(livingId);
            var expected = before[livingId].Where(r => r.Key != rowKey).ToDictionary(r => r.Key, r =>
            {
                var row = new Dictionary<string, object?>(r.Value);
                if (Equals(row.GetValueOrDefault(inviterProperty), person)) row.Remove(inviterProperty);
                return row;
            });
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
            foreach (var (key, row) in expected) Assert.Equal(row.OrderBy(p => p.Key, StringComparer.Ordinal), after[key].OrderBy(p => p.Key, StringComparer.Ordinal));
            Assert.DoesNotContain(after.Values, r => r.Values.Any(v => Equals(v, person)));
            Assert.DoesNotContain(await PageRecordLinesAsync(livingId), line => line.StartsWith(rowKey + "\t", StringComparison.Ordinal));

            // The counts agree with the rows: the status row, as the overview and GET /api/harvests show it, and the report.
            var status = await StatusAsync(livingId);
            var was = statusBefore[livingId];
            var watch = (int)before[livingId][rowKey]["WatchTimeSeconds"]!;
            Assert.Equal((was.MembersWritten - (member ? 1 : 0), was.ExternalWritten - (member ? 0 : 1), was.WatchTimeSeconds - watch),
                (status.MembersWritten, status.ExternalWritten, status.WatchTimeSeconds));
            Assert.Equal(after.Count, status.MembersWritten + status.ExternalWritten);
            var report = await Host.Get<LiveReports>().ReadAsync(LiveOf(livingId), "default", null, default);
            Assert.Equal(after.Count, report!.Report.All.Viewers);
            Assert.DoesNotContain(report.Report.Inviters?.Top ?? [], t => t.Id == person);
            Assert.DoesNotContain(report.Viewers, v => v.Id == person);
        }

        var again = await CliRunner.RunAsync(Environment, "forget", option, person);

        Assert.True(again.ExitCode == 0, again.Output + again.Error);
        Assert.True(Flat(again.Output).Contains("Removed 0 viewer rows", StringComparison.Ordinal), again.Output);
        Assert.True(Flat(again.Output).Contains("0 page records rewritten without them, 0 other viewers' rows no longer name them as inviter, 0 lives' viewer counts", StringComparison.Ordinal), again.Output);
    }

    [Theory]
    [InlineData("forget")]
    [InlineData("forget", "--userid", "a", "--external-userid", "b")]
    [InlineData("forget", "--userid", "")]
    [InlineData("forget", "--userid", "a", "--app", "nosuchapp")]
    [InlineData("forget", "--userid", "a", "--app", "default", "--corpid", "ww1")]
    [InlineData("forget", "--userid", "a", "--corpid", "not a corp")]
    public async Task Bad_arguments_are_a_usage_error_that_changes_nothing(params string[] args)
    {
        var livingId = NewLiveId("30m20x");
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        var rows = await RowsByKeyAsync(livingId);

        var result = await CliRunner.RunAsync(Environment, args);

        Assert.True(result.ExitCode == 2, result.Output + result.Error);
        Assert.Contains("error", result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Removed", result.Output, StringComparison.Ordinal);
        Assert.Equal(rows.Count, (await RowsAsync(livingId)).Count);
    }
}
