using Azure;
using Azure.Data.Tables;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Cli;

/// <summary>
/// <c>watchstat migrate</c> on tables written in the layout before corp-scoped keys (PartitionKey the escaped livingid,
/// no CorpId): lives harvested by the app as it is, then put back into the old layout row for row, migrated by the CLI
/// process, and compared with what the app wrote.
/// </summary>
public sealed class MigrateCommandTests : PipelineTest
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    protected override TimeProvider? Time => _time;

    private Dictionary<string, string> Environment => new()
    {
        ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
        ["WeCom__CorpId"] = SimulatorOptions.DefaultCorpId,
        ["WeCom__Secret"] = SimulatorOptions.DefaultSecret,
        ["AzureWebJobsStorage"] = Azurite.ConnectionString,
    };

    private TableClient Livings => Host.Get<LivingStore>().Livings;

    [Fact]
    public async Task A_populated_table_in_the_old_layout_is_migrated_by_one_command_and_a_second_run_changes_nothing()
    {
        // Two harvested lives (one with ids Azure forbids in keys), one still active on the sweeper's index, and one
        // of an app this deployment no longer has.
        var lives = new[] { NewLiveId("300m200x"), NewLiveId("odd\\#?%-40m10x") };
        foreach (var id in lives) await PostHarvestAsync(id);
        await NewDriver().DrainAsync();
        var active = NewLiveId("20m5x");
        await PostHarvestAsync(active);
        var orphan = NewLiveId("5m5x");
        await PostHarvestAsync(orphan);
        await Queue.ClearMessagesAsync();

        var before = new Dictionary<string, List<string>>();
        foreach (var id in lives.Append(active).Append(orphan)) before[id] = await SnapshotAsync(Lives.Sim(id).PartitionKey);
        foreach (var id in lives.Append(active).Append(orphan)) await ToOldLayoutAsync(id);
        await SetAppAsync(orphan, "retired");
        Assert.Null(await Store.GetAsync(Lives.Sim(lives[0]), default)); // the app cannot see them until they are migrated

        // Deployed before the migration ran: the sweeper leaves the old index entry for it, however old.
        _time.Advance(StalledRunSweeper.LeftoverAge + TimeSpan.FromMinutes(5));
        await Host.Get<StalledRunSweeper>().SweepAsync(default);
        Assert.True((await Store.Harvests.GetEntityIfExistsAsync<TableEntity>(HarvestStore.ActivePartition, TableKeys.Escape(active))).HasValue);

        var dryRun = await CliRunner.RunAsync(Environment, "migrate", "--dry-run");
        Assert.Contains("3 lives would move", Normalize(dryRun.Output));
        Assert.Null(await Store.GetAsync(Lives.Sim(lives[0]), default));

        var migrate = await CliRunner.RunAsync(Environment, "migrate");
        var output = Normalize(migrate.Output);
        Assert.Equal(1, migrate.ExitCode); // the live of the retired app is left, and said so
        Assert.Contains("3 lives moved", output);
        Assert.Contains($"live '{orphan}': its app 'retired' is not configured", output);

        foreach (var id in lives.Append(active))
        {
            var live = Lives.Sim(id);
            Assert.Equal(before[id], await SnapshotAsync(live.PartitionKey));
            Assert.Empty(await SnapshotAsync(TableKeys.Escape(id)));
        }
        foreach (var id in lives) Assert.Equal(HarvestStates.Completed, (await Store.GetAsync(Lives.Sim(id), default))!.State);
        // The active run is back on the sweeper's index under its new key, and goes on.
        Assert.True((await Store.Harvests.GetEntityIfExistsAsync<TableEntity>(HarvestStore.ActivePartition, Lives.Sim(active).PartitionKey)).HasValue);
        Assert.False((await Store.Harvests.GetEntityIfExistsAsync<TableEntity>(HarvestStore.ActivePartition, TableKeys.Escape(active))).HasValue);
        Assert.Equal(202, (await PostHarvestAsync(active, force: true)).Status);
        await NewDriver().DrainAsync();
        Assert.Equal(HarvestStates.Completed, (await StatusAsync(active)).State);
        // The CLI reads a migrated live like any other.
        var status = await CliRunner.RunAsync(Environment, "status", lives[0], "--json");
        Assert.True(status.ExitCode == 0, status.Output + status.Error);

        var again = await CliRunner.RunAsync(Environment, "migrate");
        Assert.Contains("0 lives moved", Normalize(again.Output));
        foreach (var id in lives) Assert.Equal(before[id], await SnapshotAsync(Lives.Sim(id).PartitionKey));
    }

    [Fact]
    public async Task Lives_known_before_the_overview_are_dated_for_it_by_migrate()
    {
        // A live described before the lives overview existed: its Livings row, no entry in the index of lives by date.
        var livingId = NewLiveId("2m2x");
        var start = new DateTimeOffset(2012, 6, 1, 9, 0, 0, TimeSpan.Zero);
        await Host.Get<LivingStore>().SaveInfoAsync(Lives.Sim(livingId), "default",
            new global::WatchStat.WeCom.LivingInfo { Theme = "old", AnchorUserId = "a", StatusValue = 2, LivingStart = start.ToUnixTimeSeconds(), LivingDuration = 60 },
            start, default);
        var entry = LivingStore.DateEntry(Lives.Sim(livingId), "default", start);
        await Livings.DeleteEntityAsync(entry.PartitionKey, entry.RowKey, ETag.All);
        var overview = Host.Get<global::WatchStat.Reports.LivesOverview>();
        async Task<List<string>> ListedAsync() =>
            [.. (await overview.ReadAsync(start.AddDays(-1), start.AddDays(1), TimeZoneInfo.Utc, null, null, default)).Lives.Select(l => l.LivingId)];
        Assert.Empty(await ListedAsync());

        var dryRun = await CliRunner.RunAsync(Environment, "migrate", "--dry-run");
        Assert.Contains("lives would be dated for the lives overview", Normalize(dryRun.Output));
        Assert.Empty(await ListedAsync());
        var migrate = await CliRunner.RunAsync(Environment, "migrate");
        // (Its exit code is another test's: that one leaves a live of a retired app behind, in these shared tables.)
        Assert.Contains("lives dated for the lives overview", Normalize(migrate.Output));
        Assert.DoesNotContain(livingId, migrate.Output + migrate.Error);
        Assert.Equal([livingId], await ListedAsync());
        // Again: the same entry, still one.
        Assert.Contains("lives dated for the lives overview", Normalize((await CliRunner.RunAsync(Environment, "migrate")).Output));
        Assert.Equal([livingId], await ListedAsync());
    }

    /// <summary>Every row of a partition in the three tables, as text without Timestamp and ETag.</summary>
    private async Task<List<string>> SnapshotAsync(string partition)
    {
        var rows = new List<string>();
        foreach (var table in new[] { Store.Harvests, Store.WatchStats, Livings })
        {
            await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}")))
            {
                rows.Add(table.Name + ":" + row.RowKey + ":" + string.Join("|", row.Where(p => p.Key is not ("Timestamp" or "odata.etag" or "PartitionKey"))
                    .OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
            }
        }
        return rows;
    }

    /// <summary>Rewrites a live's rows as the version before corp-scoped keys wrote them: PartitionKey the escaped livingid, no CorpId.</summary>
    private async Task ToOldLayoutAsync(string livingId)
    {
        var (live, old) = (Lives.Sim(livingId), TableKeys.Escape(livingId));
        foreach (var table in new[] { Store.Harvests, Store.WatchStats, Livings })
        {
            await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {live.PartitionKey}")))
            {
                var copy = new TableEntity(row) { PartitionKey = old };
                foreach (var key in new[] { "CorpId", "odata.etag", "Timestamp" }) copy.Remove(key);
                await table.UpsertEntityAsync(copy, TableUpdateMode.Replace);
                await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All);
            }
        }
        var entry = await Store.Harvests.GetEntityIfExistsAsync<TableEntity>(HarvestStore.ActivePartition, live.PartitionKey);
        if (entry.HasValue)
        {
            var copy = new TableEntity(entry.Value!) { RowKey = old };
            foreach (var key in new[] { "CorpId", "odata.etag", "Timestamp" }) copy.Remove(key);
            await Store.Harvests.UpsertEntityAsync(copy, TableUpdateMode.Replace);
            await Store.Harvests.DeleteEntityAsync(HarvestStore.ActivePartition, live.PartitionKey, ETag.All);
        }
    }

    private async Task SetAppAsync(string livingId, string app) =>
        await Store.Harvests.UpsertEntityAsync(new TableEntity(TableKeys.Escape(livingId), HarvestRecord.StatusRowKey) { ["App"] = app }, TableUpdateMode.Merge);

    private static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
