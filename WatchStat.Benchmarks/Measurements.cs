using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using WatchStat.Functions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Telemetry;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Benchmarks;

/// <summary>The measurements, each one run of one figure. Nothing here asserts: the goals are judged by <see cref="Report"/>.</summary>
public sealed class Measurements(RunningSimulator simulator, StorageClients storage, CliProcess cli, IServiceProvider app)
{
    public static string NewLive(int members, int externals) => $"bench-{Guid.NewGuid().ToString("N")[..8]}-{members}m{externals}x";

    /// <summary>
    /// (1) Entity-group transactions of 100 upserts, one after another, into a new partition of the WatchStats table
    /// (the table the harvests write, at the same size): the very rows a harvest of such a live writes, built before
    /// the clock starts. One transaction at a time, as one writer of one partition does.
    /// </summary>
    public async Task<double> RawBatchEntitiesPerSecondAsync(int viewers)
    {
        var table = storage.Tables.GetTableClient(ViewerRows.TableName);
        await table.CreateIfNotExistsAsync();
        var batches = (await RowsOfAsync(NewLive(viewers * 6 / 10, viewers * 4 / 10))).Chunk(HarvestStore.MaxBatchSize)
            .Select(chunk => chunk.Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row)).ToList())
            .ToList();
        var clock = Stopwatch.StartNew();
        foreach (var batch in batches) await table.SubmitTransactionAsync(batch);
        return viewers / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Empties the tables the measurements write. Azurite's in-memory tables slow down as they fill (a 100,000-entity
    /// upsert run takes three times as long into a table already holding 300,000), so every measurement starts
    /// from the same empty tables, as a harvest into a real storage account (whose speed does not depend on the
    /// table's size) would.
    /// </summary>
    public async Task ResetTablesAsync()
    {
        foreach (var name in new[] { ViewerRows.TableName, HarvestRecord.TableName })
        {
            await storage.Tables.DeleteTableAsync(name);
            await storage.Tables.CreateTableIfNotExistsAsync(name);
        }
    }

    /// <summary>(2, 6, 7) A CLI harvest; its own clock, its peak working set, and the WeCom calls it made.</summary>
    public async Task<HarvestFigures> CliHarvestAsync(int viewers, int latencyMs = 0)
    {
        var livingId = NewLive(viewers * 6 / 10, viewers * 4 / 10);
        simulator.State.Options.LatencyMilliseconds = latencyMs;
        simulator.State.Counters.Reset();
        try
        {
            var run = await cli.RunAsync("harvest", livingId, "--json");
            if (run.ExitCode != 0 || run.Json is not { } json)
                throw new InvalidOperationException($"watchstat harvest failed ({run.ExitCode}): {run.Output}");
            var harvest = json.GetProperty("harvest");
            var pages = harvest.GetProperty("pagesDone").GetInt32();
            return new HarvestFigures(
                livingId,
                harvest.GetProperty("viewersWritten").GetInt32(),
                pages,
                TimeSpan.FromSeconds(json.GetProperty("elapsedSeconds").GetDouble()),
                run.Wall,
                run.PeakWorkingSetBytes,
                simulator.State.Counters.Calls(WeComClient.GetWatchStatApi),
                simulator.State.Counters.Calls(WeComClient.GetTokenApi));
        }
        finally
        {
            simulator.State.Options.LatencyMilliseconds = 0;
        }
    }

    /// <summary>
    /// (8) A CLI export of a harvested live to a CSV file: its peak working set in bytes. The file is checked to hold
    /// a header and every viewer's row, then deleted.
    /// </summary>
    public async Task<long> CliExportPeakAsync(string livingId, int viewers)
    {
        var file = Path.Combine(Path.GetTempPath(), $"watchstat-bench-{Guid.NewGuid():N}.csv");
        try
        {
            var run = await cli.RunAsync("export", livingId, "--format", "csv", "--out", file);
            if (run.ExitCode != 0) throw new InvalidOperationException($"watchstat export failed ({run.ExitCode}): {run.Output}");
            var records = 0;
            using (var csv = CsvHelper.CsvReader.Create(await File.ReadAllBytesAsync(file), new CsvHelper.CsvReaderOptions { Separator = ',', HasHeader = true }))
            {
                while (csv.Read()) records++;
            }
            if (records != viewers)
                throw new InvalidOperationException($"watchstat export wrote {records:N0} rows for {viewers:N0} viewers.");
            return run.PeakWorkingSetBytes;
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// (3) What a straightforward harvester does: a fresh token for every call, and one upsert per viewer, of the
    /// same rows the harvest writes (the data contract), so that the two differ in method only, not in output.
    /// Written plainly on purpose, with none of the app's machinery.
    /// </summary>
    public async Task<double> NaiveViewersPerSecondAsync(int viewers)
    {
        var livingId = NewLive(viewers * 6 / 10, viewers * 4 / 10);
        var table = storage.Tables.GetTableClient(ViewerRows.TableName);
        await table.CreateIfNotExistsAsync();
        var corp = simulator.State.Options.Apps[0];
        using var http = new HttpClient { BaseAddress = simulator.BaseUrl };
        var (runId, harvestedAt) = ("naive", DateTimeOffset.UtcNow);
        var clock = Stopwatch.StartNew();
        var written = 0;
        var nextKey = "0";
        while (true)
        {
            var token = (await http.GetFromJsonAsync<JsonElement>($"cgi-bin/gettoken?corpid={corp.CorpId}&corpsecret={corp.Secret}")).GetProperty("access_token").GetString();
            var response = await http.PostAsJsonAsync($"cgi-bin/living/get_watch_stat?access_token={token}", new { livingid = livingId, next_key = nextKey });
            var page = await response.Content.ReadFromJsonAsync<JsonElement>();
            var stat = page.GetProperty("stat_info");
            foreach (var (list, kind, prefix, idName, idColumn) in new[]
            {
                ("users", "member", "m:", "userid", "UserId"),
                ("external_users", "external", "x:", "external_userid", "ExternalUserId"),
            })
            {
                foreach (var viewer in stat.GetProperty(list).EnumerateArray())
                {
                    var id = viewer.GetProperty(idName).GetString()!;
                    var entity = new TableEntity(TableKeys.Escape(livingId), prefix + TableKeys.Escape(id))
                    {
                        ["LivingId"] = livingId,
                        ["ViewerType"] = kind,
                        [idColumn] = id,
                        ["WatchTimeSeconds"] = viewer.GetProperty("watch_time").GetInt32(),
                        ["IsComment"] = viewer.GetProperty("is_comment").GetInt32() == 1,
                        ["IsMic"] = viewer.GetProperty("is_mic").GetInt32() == 1,
                        ["App"] = "default",
                        ["RunId"] = runId,
                        ["HarvestedAt"] = harvestedAt,
                    };
                    if (viewer.TryGetProperty("type", out var type)) entity["ExternalType"] = type.GetInt32();
                    if (viewer.TryGetProperty("name", out var name)) entity["Name"] = name.GetString();
                    if (viewer.TryGetProperty("invitor_userid", out var invitor)) entity["InvitorUserId"] = invitor.GetString();
                    if (viewer.TryGetProperty("invitor_external_userid", out var externalInvitor)) entity["InvitorExternalUserId"] = externalInvitor.GetString();
                    await table.UpsertEntityAsync(entity, TableUpdateMode.Replace);
                    written++;
                }
            }
            if (page.GetProperty("ending").GetInt32() == 1) break;
            nextKey = page.GetProperty("next_key").GetString()!;
        }
        return written / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// (5) The queue path as the host runs it: receive a message from Azurite, run <see cref="HarvestPageFunction"/>,
    /// send its output, delete the message. Each page's time beyond its WeCom call, in milliseconds.
    /// </summary>
    public async Task<IReadOnlyList<double>> QueuePageOverheadMsAsync(int viewers)
    {
        var queue = storage.Queues.GetQueueClient(HarvestPageMessage.QueueName);
        await queue.CreateIfNotExistsAsync();
        await queue.ClearMessagesAsync();
        var livingId = NewLive(viewers * 6 / 10, viewers * 4 / 10);
        var function = ActivatorUtilities.CreateInstance<HarvestPageFunction>(app);
        var weComApp = app.GetRequiredService<WeComApps>().Get(null);
        var start = await app.GetRequiredService<HarvestRuns>().StartAsync(new LiveKey(weComApp.CorpId, livingId), weComApp, force: false, default);
        await queue.SendMessageAsync(start.FirstPage!.ToJson());

        double wecomMs = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == WatchStatMetrics.MeterName && instrument.Name == "watchstat.wecom.call.duration") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => wecomMs += value);
        listener.Start();

        var overheads = new List<double>();
        while (true)
        {
            wecomMs = 0;
            var clock = Stopwatch.StartNew();
            var message = (await queue.ReceiveMessageAsync()).Value;
            if (message is null) break;
            foreach (var next in await function.Run(message, default)) await queue.SendMessageAsync(next);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            overheads.Add(clock.Elapsed.TotalMilliseconds - wecomMs);
        }
        return overheads;
    }

    /// <summary>The rows a harvest of the live writes: its pages fetched through the app's WeCom client, made into rows by the step's own code.</summary>
    private async Task<List<TableEntity>> RowsOfAsync(string livingId)
    {
        var wecom = app.GetRequiredService<WeComClient>();
        var weComApp = app.GetRequiredService<WeComApps>().Get(null);
        var rows = new List<TableEntity>();
        for (var nextKey = "0"; ;)
        {
            var page = await wecom.GetWatchStatAsync(weComApp, weComApp.CorpId, livingId, nextKey, default);
            rows.AddRange(ViewerRows.FromPage(new LiveKey(weComApp.CorpId, livingId), weComApp.Name, page, "bench", DateTimeOffset.UtcNow).Rows);
            if (page.IsLastPage) return rows;
            nextKey = page.NextKey!;
        }
    }
}

public sealed record HarvestFigures(string LivingId, int Viewers, int Pages, TimeSpan Harvest, TimeSpan ProcessWall, long PeakWorkingSetBytes, long WatchStatCalls, long TokenCalls)
{
    public double ViewersPerSecond => Viewers / Harvest.TotalSeconds;
}
