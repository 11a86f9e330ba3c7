using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WatchStat.Harvest;
using WatchStat.Privacy;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;

namespace WatchStat.Tests.Privacy;

/// <summary>
/// <c>Harvest:RetentionDays</c>: what goes (every row of a live that ended before the window) and what stays, with a
/// fake clock that moves a month on between harvesting and the retention pass.
/// </summary>
public sealed class RetentionTests : PipelineTest
{
    /// <summary>
    /// A clock of this class's own, decades back: a pass deletes every live dated before its cutoff in these shared
    /// tables, and at today's date plus a month that would be every other test's lives (minutes of deleting, and
    /// their rows gone under them). No other test dates a live this early.
    /// </summary>
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(1995, 3, 1, 8, 0, 0, TimeSpan.Zero));

    protected override TimeProvider? Time => _time;

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["Harvest:RetentionDays"] = "30" };

    private LivingStore Livings => Host.Get<LivingStore>();

    private Retention Retention => Host.Get<Retention>();

    private async Task<string> HarvestAsync(string shape)
    {
        var livingId = NewLiveId(shape);
        await PostHarvestAsync(livingId); // an arrival over HTTP: a %dates entry and an %arrivals entry dated now
        await NewDriver().DrainAsync();
        Assert.Equal(HarvestStates.Completed, (await StatusAsync(livingId)).State);
        return livingId;
    }

    private Task SaveInfoAsync(string livingId, DateTimeOffset start, int durationSeconds) =>
        Livings.SaveInfoAsync(LiveOf(livingId), "default", new LivingInfo
        {
            Theme = "retention", AnchorUserId = "anchor", StatusValue = LivingStatus.Ended,
            LivingStart = start.ToUnixTimeSeconds(), LivingDuration = durationSeconds,
        }, _time.GetUtcNow(), default);

    private static async Task<int> CountAsync(TableClient table, string filter)
    {
        var count = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"])) count++;
        return count;
    }

    /// <summary>Every row that names the live: its partitions in the three tables, and the entries of every index.</summary>
    private async Task<(int Viewers, int Harvests, int Livings, int Indexes)> RowsOfAsync(string livingId)
    {
        var partition = LiveOf(livingId).PartitionKey;
        var own = TableClient.CreateQueryFilter($"PartitionKey eq {partition}");
        var indexes = 0;
        foreach (var index in new[] { LivingStore.DatesPartition, LivingStore.ArrivalsPartition })
            indexes += await CountAsync(Livings.Livings, TableClient.CreateQueryFilter($"PartitionKey eq {index} and LivingId eq {livingId}"));
        foreach (var index in new[] { HarvestStore.ActivePartition, HarvestStore.AwaitingTicketPartition })
            indexes += await CountAsync(Store.Harvests, TableClient.CreateQueryFilter($"PartitionKey eq {index} and RowKey eq {partition}"));
        return (await CountAsync(Store.WatchStats, own), await CountAsync(Store.Harvests, own), await CountAsync(Livings.Livings, own), indexes);
    }

    [Fact]
    public async Task Exactly_the_lives_that_ended_before_the_window_go_with_every_row_and_index_entry()
    {
        var t0 = _time.GetUtcNow();
        var ended = await HarvestAsync("40m30x");
        await SaveInfoAsync(ended, start: t0.AddHours(-3), durationSeconds: 3600); // ended 2 h before t0
        await Livings.ClaimEndedEventAsync(LiveOf(ended), 1_700_000_000, t0, default); // a callback event's row
        await Livings.RecordEndedEventRunAsync(LiveOf(ended), 1_700_000_000, "run", default);
        var endedWithItsHarvest = await HarvestAsync("20m10x"); // never discovered: its end is its harvest's completion, t0
        await Store.MarkActiveAsync(await StatusAsync(endedWithItsHarvest), default); // an index entry a crash left behind
        var inside = await HarvestAsync("30m20x");
        await SaveInfoAsync(inside, start: t0.AddHours(-1), durationSeconds: 3600 + 300); // ends t0 + 5 min: just inside
        var insideStart = LivingStore.DateEntry(LiveOf(inside), "default", DateTimeOffset.FromUnixTimeSeconds(t0.AddHours(-1).ToUnixTimeSeconds()));

        _time.Advance(TimeSpan.FromDays(30) + TimeSpan.FromMinutes(1)); // the cutoff is t0 + 1 min
        var recent = await HarvestAsync("10m10x");
        var kept = new Dictionary<string, (int, int, int, int)>();
        foreach (var live in new[] { inside, recent }) kept[live] = await RowsOfAsync(live);
        // Its viewers; its status row and page records; its info and callback event; %dates at its start and arrival, %arrivals.
        Assert.Equal((40 + 30, 1 + (await StatusAsync(ended)).PagesDone, 2, 3), await RowsOfAsync(ended));
        Host.Logs.Clear();

        var result = await Retention.ExpireAsync(default);

        Assert.Equal((0, 0, 0, 0), await RowsOfAsync(ended));
        Assert.Equal((0, 0, 0, 0), await RowsOfAsync(endedWithItsHarvest));
        Assert.True(result.Lives >= 2, $"{result.Lives} lives deleted");
        Assert.True(result.Kept >= 1, $"{result.Kept} lives kept");
        // The live just inside the window keeps everything but two entries of its arrival (before the cutoff): the
        // %dates one, whose date is not its date (its start is), as the lives overview removes those too, and the
        // %arrivals one, which the nightly harvest prunes past its lookback window anyway.
        var (viewers, harvests, livings, indexes) = kept[inside];
        Assert.Equal((viewers, harvests, livings, indexes - 2), await RowsOfAsync(inside));
        Assert.Equal(30 + 20, viewers);
        Assert.True((await Livings.Livings.GetEntityIfExistsAsync<TableEntity>(insideStart.PartitionKey, insideStart.RowKey)).HasValue);
        Assert.Equal(kept[recent], await RowsOfAsync(recent));
        Assert.Equal(HarvestStates.Completed, (await StatusAsync(recent)).State);

        // Counts only: neither a live nor a viewer is named in the log.
        var lines = Host.Logs.GetSnapshot().Where(l => l.Category == typeof(Retention).FullName).Select(l => l.Message).ToList();
        Assert.Single(lines);
        Assert.Contains("lives deleted", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("lv-", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain(SimulatorCorp, lines[0], StringComparison.Ordinal);

        var again = await Retention.ExpireAsync(default); // nothing of theirs is left to find
        Assert.Equal((0, 0, 0, 0), await RowsOfAsync(ended));
        Assert.Equal(kept[recent], await RowsOfAsync(recent));
        Assert.True(again.Kept >= 1);
    }

    private string SimulatorCorp => Host.Get<WeComApps>().Get(null).CorpId;

    [Fact]
    public async Task A_pass_that_dies_halfway_is_finished_by_the_next_one()
    {
        var t0 = _time.GetUtcNow();
        var ended = await HarvestAsync("150m80x"); // 3 transactions of viewer rows
        await SaveInfoAsync(ended, start: t0.AddHours(-2), durationSeconds: 1800);
        _time.Advance(TimeSpan.FromDays(31));

        // The process dies at the transaction that deletes the live's Harvests partition: its viewer rows are gone by then.
        Faults.FailNth(1, StorageFaults.IsCheckpointWrite);
        await Assert.ThrowsAsync<IOException>(() => Retention.ExpireAsync(default));
        var halfway = await RowsOfAsync(ended);
        Assert.Equal(0, halfway.Viewers);
        Assert.True(halfway.Harvests > 0 && halfway.Livings > 0 && halfway.Indexes > 0, $"{halfway}");

        await Retention.ExpireAsync(default);

        Assert.Equal((0, 0, 0, 0), await RowsOfAsync(ended));
    }

    [Fact]
    public async Task A_live_decided_on_and_then_harvested_again_waits_for_the_run_and_then_goes_with_its_new_entries()
    {
        var t0 = _time.GetUtcNow();
        var ended = await HarvestAsync("120m0x");
        await SaveInfoAsync(ended, start: t0.AddHours(-2), durationSeconds: 1800);
        _time.Advance(TimeSpan.FromDays(31));
        // The pass decides and marks the live's entries, then dies at its first deletion (the viewer rows' query).
        Faults.FailNth(1, r => r.Method == Azure.Core.RequestMethod.Get && r.Uri.Path.EndsWith("/WatchStats()", StringComparison.Ordinal));
        await Assert.ThrowsAsync<IOException>(() => Retention.ExpireAsync(default));
        await PostHarvestAsync(ended, force: true); // someone harvests the old live again meanwhile (a new arrival, dated now)
        var before = await RowsOfAsync(ended);

        await Retention.ExpireAsync(default);

        var waiting = await RowsOfAsync(ended);
        Assert.Equal((before.Viewers, before.Harvests, before.Livings), (waiting.Viewers, waiting.Harvests, waiting.Livings));
        await NewDriver().DrainAsync();
        await Retention.ExpireAsync(default);
        Assert.Equal((0, 0, 0, 0), await RowsOfAsync(ended));
    }

    [Fact]
    public async Task A_live_being_harvested_is_left_to_a_later_pass()
    {
        var t0 = _time.GetUtcNow();
        var livingId = NewLiveId("300m0x");
        await PostHarvestAsync(livingId); // queued, its first page not taken yet
        await SaveInfoAsync(livingId, start: t0.AddHours(-2), durationSeconds: 1800);
        _time.Advance(TimeSpan.FromDays(31));
        var before = await RowsOfAsync(livingId);

        await Retention.ExpireAsync(default);

        var after = await RowsOfAsync(livingId);
        Assert.Equal((before.Viewers, before.Harvests, before.Livings), (after.Viewers, after.Harvests, after.Livings));
        Assert.Equal(HarvestStates.Queued, (await StatusAsync(livingId)).State);
        await Queue.ClearMessagesAsync();
    }

    [Fact]
    public async Task Without_the_setting_a_pass_does_nothing_and_reads_no_storage()
    {
        await using var host = AppHost.Create(Simulator, _time, Azurite.ConnectionString, configure: s => s.AddSingleton(Host.Get<StorageClients>()));
        Faults.ClearRequests();

        Assert.Same(RetentionResult.Off, await host.Get<Retention>().ExpireAsync(default));

        Assert.Empty(Faults.Requests);
    }

    [Theory]
    [InlineData("0", "Setting Harvest:RetentionDays must be a whole number of days")]
    [InlineData("-5", "Setting Harvest:RetentionDays must be a whole number of days")]
    [InlineData("7", "Setting Harvest:RetentionDays (7) must be more than Harvest:LookbackDays (7)")]
    [InlineData("abc", "'Harvest:RetentionDays'")]
    [InlineData("1.5", "'Harvest:RetentionDays'")]
    public async Task A_retention_that_is_not_a_whole_number_of_days_beyond_the_lookback_fails_at_start(string days, string message)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["WeCom:CorpId"] = "ww1", ["WeCom:Secret"] = "s", ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true", ["Harvest:RetentionDays"] = days,
        });
        builder.Services.AddWatchStat();
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("8")]
    public void Absent_or_more_than_the_lookback_is_a_valid_retention(string? days)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Harvest:RetentionDays"] = days }).Build();
        var options = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddWatchStat().BuildServiceProvider()
            .GetRequiredService<IOptions<HarvestOptions>>().Value;

        Assert.Equal(days is null or "" ? null : int.Parse(days, System.Globalization.CultureInfo.InvariantCulture), options.RetentionDays);
    }
}
