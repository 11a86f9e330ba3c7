using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Azure.Data.Tables;
using CsvHelper;
using WatchStat.Functions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;
using Xunit.Abstractions;

namespace WatchStat.Tests.Cli;

/// <summary>
/// <c>watchstat status</c>, <c>enqueue</c>, <c>export</c> and <c>report</c> as processes against Azurite and the
/// simulator: what they print, what they write, and what they leave alone.
/// </summary>
public sealed class OperatorCliTests(ITestOutputHelper output) : PipelineTest
{
    /// <summary>The columns of an export, in order: the README's data contract plus App.</summary>
    private static readonly string[] Columns =
    [
        "LivingId", "CorpId", "ViewerType", "UserId", "ExternalUserId", "ExternalType", "Name", "WatchTimeSeconds", "IsComment", "IsMic",
        "InvitorUserId", "InvitorExternalUserId", "App", "RunId", "HarvestedAt",
    ];

    /// <summary>What the simulator puts into odd ids: characters that must be escaped in keys, a space, control characters.</summary>
    private static readonly System.Buffers.SearchValues<char> OddIdChars = System.Buffers.SearchValues.Create("/\\#?% \u0001\u007f");

    private Dictionary<string, string> Environment => new()
    {
        ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
        ["WeCom__CorpId"] = Simulator.State.Options.Apps[0].CorpId,
        ["WeCom__Secret"] = Simulator.State.Options.Apps[0].Secret,
        ["AzureWebJobsStorage"] = Azurite.ConnectionString,
    };

    private readonly List<string> _files = [];

    public override async Task DisposeAsync()
    {
        foreach (var file in _files) File.Delete(file);
        await base.DisposeAsync();
    }

    // ---- status ----

    [Fact]
    public async Task Status_shows_the_run_as_a_table_and_as_the_JSON_the_HTTP_API_answers()
    {
        var livingId = NewLiveId("300m200x");
        var status = await HarvestAsync(livingId);

        var readable = await CliRunner.RunAsync(Environment, "status", livingId);
        var json = await CliRunner.RunAsync(Environment, "status", livingId, "--json");

        Assert.True(readable.ExitCode == 0, readable.Output + readable.Error);
        foreach (var text in new[] { status.RunId, "completed", "default", "members written", "300", "200", "500", "last error" })
            Assert.Contains(text, readable.Output);
        Assert.True(json.ExitCode == 0, json.Output + json.Error);
        var cli = JsonDocument.Parse(json.Output).RootElement;
        Assert.Equal(livingId, cli.GetProperty("livingId").GetString());
        Assert.Equal(status.RunId, cli.GetProperty("runId").GetString());
        Assert.Equal("completed", cli.GetProperty("state").GetString());
        Assert.Equal((5, 300, 200, 500), (cli.GetProperty("pagesDone").GetInt32(), cli.GetProperty("membersWritten").GetInt32(),
            cli.GetProperty("externalWritten").GetInt32(), cli.GetProperty("viewersWritten").GetInt32()));
        Assert.Equal(status.CompletedAt, cli.GetProperty("completedAt").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, cli.GetProperty("lastError").ValueKind);
        // The same document as GET /api/harvests/{livingid}, field for field.
        var http = await HttpCall.RenderAsync(await Host.Activate<GetHarvestFunction>().Run(HttpCall.Request("GET"), livingId, default));
        Assert.True(JsonElement.DeepEquals(http.Json, cli), $"HTTP: {http.Body}\nCLI: {json.Output}");
    }

    [Fact]
    public async Task Status_shows_why_a_run_failed()
    {
        var livingId = NewLiveId("unknown"); // the simulator answers 40058 for it
        Assert.Equal(1, (await CliRunner.RunAsync(Environment, "harvest", livingId)).ExitCode);

        var readable = await CliRunner.RunAsync(Environment, "status", livingId);
        var json = await CliRunner.RunAsync(Environment, "status", livingId, "--json");

        Assert.Equal(0, readable.ExitCode);
        Assert.Contains("failed", readable.Output);
        Assert.Contains("errcode 40058", readable.Output);
        var lastError = JsonDocument.Parse(json.Output).RootElement.GetProperty("lastError");
        Assert.Equal(40058, lastError.GetProperty("errCode").GetInt32());
        Assert.Contains("invalid livingid", lastError.GetProperty("message").GetString());
    }

    // ---- enqueue ----

    [Fact]
    public async Task Enqueue_queues_one_run_with_one_message_and_a_second_enqueue_queues_nothing()
    {
        var livingId = NewLiveId("60m40x");

        var first = await CliRunner.RunAsync(Environment, "enqueue", livingId);

        Assert.True(first.ExitCode == 0, first.Output + first.Error);
        var queued = await StatusAsync(livingId);
        Assert.Equal(HarvestStates.Queued, queued.State);
        Assert.Contains($"Queued run {queued.RunId}", first.Output);
        Assert.Equal(1, await QueueLengthAsync());
        var message = HarvestPageMessage.Parse((await Queue.PeekMessageAsync()).Value.Body.ToString());
        Assert.Equal(new HarvestPageMessage(livingId, queued.RunId, 1, "0", WeComApp.DefaultName, SimulatorOptions.DefaultCorpId), message);
        Assert.Equal(LivingStore.ArrivedViaHttp, (await Host.Get<LivingStore>().GetAsync(Lives.Sim(livingId), default))?.GetString("ArrivedVia"));

        var second = await CliRunner.RunAsync(Environment, "enqueue", livingId);

        Assert.True(second.ExitCode == 0, second.Output + second.Error);
        Assert.Contains("nothing new was queued", second.Output);
        Assert.Contains(queued.RunId, second.Output);
        Assert.Equal(1, await QueueLengthAsync());
        Assert.Equal(queued.RunId, (await StatusAsync(livingId)).RunId);

        // The message is one the deployed app's queue function carries through to the end.
        await NewDriver().DrainAsync();
        var done = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, queued.RunId), (done.State, done.RunId));
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, await RowsAsync(livingId), queued.RunId);
    }

    [Fact]
    public async Task Enqueue_with_an_unknown_app_exits_2_and_enqueues_nothing()
    {
        var livingId = NewLiveId("6m4x");

        var result = await CliRunner.RunAsync(Environment, "enqueue", livingId, "--app", "marketing");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unknown WeCom app 'marketing'", result.Output + result.Error);
        Assert.Contains("configured apps: default", result.Output + result.Error); // the operator is told; an HTTP caller is not
        Assert.Null(await Store.GetAsync(Lives.Sim(livingId), default));
        Assert.Null(await Host.Get<LivingStore>().GetAsync(Lives.Sim(livingId), default));
        Assert.Equal(0, await QueueLengthAsync());
    }

    [Fact]
    public async Task Enqueue_with_a_bad_livingid_exits_2_and_enqueues_nothing()
    {
        var result = await CliRunner.RunAsync(Environment, "enqueue", "lv with space");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("whitespace", result.Output + result.Error);
        Assert.Null(await Store.GetAsync(Lives.Sim("lv with space"), default));
        Assert.Equal(0, await QueueLengthAsync());
    }

    // ---- export ----

    [Fact]
    public async Task The_CSV_export_parses_back_to_exactly_the_rows_of_the_table_names_with_commas_quotes_emoji_and_newlines_included()
    {
        var livingId = await HarvestOddLiveAsync();
        var rows = await RowsAsync(livingId);
        var names = rows.Select(r => r.GetString("Name")).OfType<string>().ToList();
        Assert.Contains(names, n => n.Contains(',', StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains('"', StringComparison.Ordinal));
        Assert.Contains(names, n => n.EnumerateRunes().Any(r => r.Value > 0xFFFF)); // emoji outside the BMP
        Assert.Contains(names, n => n.Contains('\n', StringComparison.Ordinal));
        Assert.Contains(rows, r => (r.GetString("UserId") ?? r.GetString("ExternalUserId"))!.AsSpan().IndexOfAny(OddIdChars) >= 0);
        var file = NewFile(".csv");

        var toFile = await CliRunner.RunAsync(Environment, "export", livingId, "--format", "csv", "--out", file);
        var toStdout = await CliRunner.RunAsync(Environment, "export", livingId); // csv is the default

        Assert.True(toFile.ExitCode == 0, toFile.Output + toFile.Error);
        Assert.True(toStdout.ExitCode == 0, toStdout.Error);
        var bytes = await File.ReadAllBytesAsync(file);
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        Assert.Equal(bytes, toStdout.OutputBytes); // stdout carries the same CSV, BOM included, and nothing else
        Assert.Contains("Exported", toStdout.Error); // what people read went to stderr
        Assert.False(File.Exists(file + ".partial"));

        var records = ReadCsv(bytes);
        Assert.Equal(rows.Count, records.Count);
        var byKey = rows.ToDictionary(r => r.RowKey, StringComparer.Ordinal);
        foreach (var record in records)
        {
            var key = record["ViewerType"] == ViewerRows.Member ? ViewerRows.MemberRowKey(record["UserId"]) : ViewerRows.ExternalRowKey(record["ExternalUserId"]);
            Assert.True(byKey.Remove(key, out var row), $"the CSV has {key} twice or the table lacks it");
            foreach (var column in new[] { "LivingId", "CorpId", "ViewerType", "UserId", "ExternalUserId", "Name", "InvitorUserId", "InvitorExternalUserId", "App", "RunId" })
                Assert.Equal(row!.GetString(column) ?? "", record[column]);
            Assert.Equal(row!.GetInt32("ExternalType"), record["ExternalType"] is { Length: > 0 } type ? int.Parse(type, CultureInfo.InvariantCulture) : null);
            Assert.Equal(row.GetInt32("WatchTimeSeconds"), int.Parse(record["WatchTimeSeconds"], CultureInfo.InvariantCulture));
            Assert.Equal(row.GetBoolean("IsComment"), bool.Parse(record["IsComment"]));
            Assert.Equal(row.GetBoolean("IsMic"), bool.Parse(record["IsMic"]));
            Assert.Equal(row.GetDateTimeOffset("HarvestedAt"), DateTimeOffset.Parse(record["HarvestedAt"], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));
        }
        Assert.Empty(byKey);
    }

    [Fact]
    public async Task The_JSON_export_parses_back_to_exactly_the_rows_of_the_table()
    {
        var livingId = await HarvestOddLiveAsync();
        var rows = await RowsAsync(livingId);
        var file = NewFile(".json");

        var result = await CliRunner.RunAsync(Environment, "export", livingId, "--format", "json", "--out", file);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Empty(result.Output);
        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(file));
        var objects = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(rows.Count, objects.Count);
        var byKey = rows.ToDictionary(r => r.RowKey, StringComparer.Ordinal);
        foreach (var item in objects)
        {
            Assert.Equal(Columns.Select(JsonNamingPolicy.CamelCase.ConvertName), item.EnumerateObject().Select(p => p.Name));
            var key = item.GetProperty("viewerType").GetString() == ViewerRows.Member
                ? ViewerRows.MemberRowKey(item.GetProperty("userId").GetString()!)
                : ViewerRows.ExternalRowKey(item.GetProperty("externalUserId").GetString()!);
            Assert.True(byKey.Remove(key, out var row), $"the JSON has {key} twice or the table lacks it");
            foreach (var column in new[] { "LivingId", "CorpId", "ViewerType", "UserId", "ExternalUserId", "Name", "InvitorUserId", "InvitorExternalUserId", "App", "RunId" })
                Assert.Equal(row!.GetString(column), Property(item, column).GetString());
            Assert.Equal(row!.GetInt32("ExternalType"), Property(item, "ExternalType") is { ValueKind: JsonValueKind.Number } type ? type.GetInt32() : null);
            Assert.Equal(row.GetInt32("WatchTimeSeconds"), Property(item, "WatchTimeSeconds").GetInt32());
            Assert.Equal(row.GetBoolean("IsComment"), Property(item, "IsComment").GetBoolean());
            Assert.Equal(row.GetBoolean("IsMic"), Property(item, "IsMic").GetBoolean());
            Assert.Equal(row.GetDateTimeOffset("HarvestedAt"), Property(item, "HarvestedAt").GetDateTimeOffset());
        }
        Assert.Empty(byKey);
    }

    [Fact]
    public async Task Exporting_a_live_of_100000_viewers_streams_it_to_the_file()
    {
        var livingId = NewLiveId("60000m40000x");
        var harvest = await CliRunner.RunAsync(Environment, "harvest", livingId);
        Assert.True(harvest.ExitCode == 0, harvest.Output + harvest.Error);
        var file = NewFile(".csv");

        var export = await CliRunner.RunAsync(Environment, "export", livingId, "--format", "csv", "--out", file);

        Assert.True(export.ExitCode == 0, export.Output + export.Error);
        var size = new FileInfo(file).Length;
        // Printed, not asserted: memory and time depend on the machine.
        output.WriteLine($"export of 100,000 viewers: peak working set {export.PeakWorkingSetBytes / 1048576.0:N1} MiB, file {size / 1048576.0:N1} MiB");
        output.WriteLine(export.Error);
        Assert.Equal(100_000, ReadCsv(await File.ReadAllBytesAsync(file)).Count);
    }

    // ---- report ----

    [Fact]
    public async Task The_report_figures_equal_those_computed_from_the_simulators_viewers()
    {
        var livingId = NewLiveId("r");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 300, Externals = 500, DurationSeconds = 3600, InvitorShare = 0.4 });
        await HarvestAsync(livingId);
        // The recorded duration is shorter than the longest watch time: replays add watch time past the live's end.
        const int duration = 3000;
        await Host.Get<LivingStore>().SaveInfoAsync(Lives.Sim(livingId), WeComApp.DefaultName,
            new LivingInfo { Theme = "季度全员大会", StatusValue = LivingStatus.Ended, LivingStart = 1_760_000_000, LivingDuration = duration },
            DateTimeOffset.UtcNow, default);
        var viewers = Simulator.State.FindLive(livingId)!.ExpectedViewers();

        var json = await CliRunner.RunAsync(Environment, "report", livingId, "--json");
        var readable = await CliRunner.RunAsync(Environment, "report", livingId);

        Assert.True(json.ExitCode == 0, json.Output + json.Error);
        var report = JsonDocument.Parse(json.Output).RootElement;
        Assert.Equal(livingId, report.GetProperty("livingId").GetString());
        Assert.Equal(duration, report.GetProperty("durationSeconds").GetInt32());
        AssertFigures(viewers, duration, report.GetProperty("all"));
        AssertFigures([.. viewers.Where(v => v.IsMember)], duration, report.GetProperty("members"));
        AssertFigures([.. viewers.Where(v => !v.IsMember)], duration, report.GetProperty("externals"));

        var histogram = report.GetProperty("histogram");
        Assert.Equal("duration", histogram.GetProperty("basis").GetString());
        var deciles = new int[11];
        foreach (var v in viewers) deciles[v.WatchTime > duration ? 10 : Math.Min(9, v.WatchTime * 10 / duration)]++;
        Assert.Equal(deciles, histogram.GetProperty("buckets").EnumerateArray().Select(b => b.GetProperty("viewers").GetInt32()));
        Assert.True(deciles[10] > 0, "some viewers watched longer than the recorded duration");

        var invited = viewers.Where(v => v.InvitorUserId is not null || v.InvitorExternalUserId is not null).ToList();
        var inviters = invited
            .GroupBy(v => v.InvitorUserId is { } member ? ("member", member) : ("external", v.InvitorExternalUserId!))
            .Select(g => (Kind: g.Key.Item1, Id: g.Key.Item2, Viewers: g.Count(), Seconds: g.Sum(v => (long)v.WatchTime)))
            .OrderByDescending(i => i.Viewers).ThenByDescending(i => i.Seconds)
            .ThenBy(i => i.Kind, StringComparer.Ordinal).ThenBy(i => i.Id, StringComparer.Ordinal)
            .ToList();
        var reported = report.GetProperty("inviters");
        Assert.Equal(invited.Count, reported.GetProperty("viewersWithInvitor").GetInt32());
        Assert.Equal(inviters.Count, reported.GetProperty("inviters").GetInt32());
        Assert.Equal(
            inviters.Take(10).Select((i, n) => $"{n + 1} {i.Kind} {i.Id} {i.Viewers} {i.Seconds}"),
            reported.GetProperty("top").EnumerateArray().Select(t =>
                $"{t.GetProperty("rank").GetInt32()} {t.GetProperty("kind").GetString()} {t.GetProperty("id").GetString()} {t.GetProperty("viewers").GetInt32()} {t.GetProperty("watchTimeSeconds").GetInt64()}"));

        Assert.True(readable.ExitCode == 0, readable.Output + readable.Error);
        foreach (var text in new[] { "季度全员大会", "watched at least half", "viewers by share of the live watched", "90-100%", "top inviters", inviters[0].Id })
            Assert.Contains(text, readable.Output);
        Assert.DoesNotContain("unknown", readable.Output);
    }

    [Fact]
    public async Task A_report_without_a_known_duration_says_unknown_and_without_invitors_has_no_inviter_section()
    {
        var livingId = NewLiveId("plain");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 120, Externals = 80, InvitorShare = 0 });
        await HarvestAsync(livingId); // the Livings row records the arrival only: no duration
        var viewers = Simulator.State.FindLive(livingId)!.ExpectedViewers();

        var json = await CliRunner.RunAsync(Environment, "report", livingId, "--json");
        var readable = await CliRunner.RunAsync(Environment, "report", livingId);

        Assert.True(json.ExitCode == 0, json.Output + json.Error);
        var report = JsonDocument.Parse(json.Output).RootElement;
        Assert.Equal(JsonValueKind.Null, report.GetProperty("durationSeconds").ValueKind);
        Assert.Equal(JsonValueKind.Null, report.GetProperty("inviters").ValueKind);
        AssertFigures(viewers, null, report.GetProperty("all"));
        var histogram = report.GetProperty("histogram");
        Assert.Equal("minutes", histogram.GetProperty("basis").GetString());
        int[] edges = [0, 300, 900, 1800, 3600, int.MaxValue];
        Assert.Equal(
            Enumerable.Range(0, 5).Select(i => viewers.Count(v => v.WatchTime >= edges[i] && v.WatchTime < edges[i + 1])),
            histogram.GetProperty("buckets").EnumerateArray().Select(b => b.GetProperty("viewers").GetInt32()));

        Assert.True(readable.ExitCode == 0, readable.Output + readable.Error);
        Assert.Contains("duration: unknown", readable.Output);
        Assert.Contains("unknown", readable.Output.Split('\n').Single(l => l.Contains("watched at least half", StringComparison.Ordinal)));
        Assert.Contains("30-60 min", readable.Output);
        Assert.DoesNotContain("inviters", readable.Output);
    }

    [Fact]
    public async Task Report_html_writes_the_page_and_its_csv_beside_it_and_refuses_json_with_it()
    {
        var livingId = NewLiveId("plain");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 30, Externals = 20 });
        await HarvestAsync(livingId);
        var page = NewFile(".html");

        var written = await CliRunner.RunAsync(Environment, "report", livingId, "--html", page);
        var both = await CliRunner.RunAsync(Environment, "report", livingId, "--html", NewFile(".html"), "--json");

        Assert.True(written.ExitCode == 0, written.Output + written.Error);
        var html = await File.ReadAllTextAsync(page);
        Assert.StartsWith("<!doctype html>", html, StringComparison.Ordinal);
        Assert.Contains($"<code id=\"livingid\">{livingId}</code>", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"{Path.GetFileName(Path.ChangeExtension(page, ".csv"))}\" download", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script src", html, StringComparison.Ordinal); // everything inlined
        var csv = await File.ReadAllLinesAsync(Path.ChangeExtension(page, ".csv"));
        Assert.Equal(50 + 1, csv.Length);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--html and --json", both.Output + both.Error);
    }

    // ---- errors ----

    [Theory]
    [InlineData("status")]
    [InlineData("export")]
    [InlineData("report")]
    public async Task An_unknown_live_exits_1_with_a_clear_line(string command)
    {
        var livingId = NewLiveId("never");
        var file = NewFile(".csv");

        var result = await CliRunner.RunAsync(Environment, command == "export" ? [command, livingId, "--out", file] : [command, livingId]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"live '{livingId}'", result.Output + result.Error);
        Assert.False(File.Exists(file), "an unknown live leaves no file");
        Assert.False(File.Exists(file + ".partial"));
    }

    [Theory]
    [InlineData("export", "lv-x", "--format", "xml")]
    [InlineData("export", "lv-x", "--out")]
    [InlineData("status")]
    [InlineData("report", "lv with space")]
    [InlineData("enqueue")]
    [InlineData("status", "lv-x", "--bogus")]
    public async Task Bad_arguments_exit_2_with_usage(params string[] args)
    {
        var result = await CliRunner.RunAsync(Environment, args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("usage", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Unreachable_storage_exits_1_naming_the_table_endpoint()
    {
        var port = ClosedPort();
        var environment = Environment;
        environment["AzureWebJobsStorage"] = StorageClients.DevelopmentStorage
            .Replace(":10000/", $":{port}/", StringComparison.Ordinal)
            .Replace(":10001/", $":{port}/", StringComparison.Ordinal)
            .Replace(":10002/", $":{port}/", StringComparison.Ordinal);

        var result = await CliRunner.RunAsync(environment, "status", "lv-anything");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot reach table storage at http://127.0.0.1:{port}/devstoreaccount1: ", result.Error);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task Status_export_and_report_need_only_storage_settings()
    {
        var livingId = NewLiveId("30m20x");
        await HarvestAsync(livingId);
        // A WeCom endpoint with no app configured: commands that call WeCom must refuse, those that only read the
        // tables must not care, once told the live's corp (no app to take it from).
        var environment = Environment;
        environment.Remove("WeCom__CorpId");
        environment.Remove("WeCom__Secret");
        var file = NewFile(".csv");

        var noCorp = await CliRunner.RunAsync(environment, "status", livingId);
        var status = await CliRunner.RunAsync(environment, "status", livingId, "--json", "--corpid", SimulatorOptions.DefaultCorpId);
        var export = await CliRunner.RunAsync(environment, "export", livingId, "--out", file, "--corpid", SimulatorOptions.DefaultCorpId);
        var report = await CliRunner.RunAsync(environment, "report", livingId, "--json", "--corpid", SimulatorOptions.DefaultCorpId);
        var walk = await CliRunner.RunAsync(environment, "walk", livingId);

        Assert.Equal(2, noCorp.ExitCode);
        Assert.Contains("--corpid", noCorp.Output + noCorp.Error);

        Assert.True(status.ExitCode == 0, status.Output + status.Error);
        Assert.True(export.ExitCode == 0, export.Output + export.Error);
        Assert.True(report.ExitCode == 0, report.Output + report.Error);
        Assert.Equal(50, ReadCsv(await File.ReadAllBytesAsync(file)).Count);
        Assert.Equal(50, JsonDocument.Parse(report.Output).RootElement.GetProperty("all").GetProperty("viewers").GetInt32());
        Assert.Equal(2, walk.ExitCode);
        Assert.Contains("configuration error", walk.Output + walk.Error);
    }

    // ---- helpers ----

    private async Task<HarvestRecord> HarvestAsync(string livingId)
    {
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        var status = await StatusAsync(livingId);
        Assert.Equal(HarvestStates.Completed, status.State);
        return status;
    }

    /// <summary>
    /// A live with odd ids (/ \ # ? % space and control characters), Chinese names with emoji, commas and quotes,
    /// and one more viewer, written straight to the table, whose name has line breaks and spaces at both ends.
    /// </summary>
    private async Task<string> HarvestOddLiveAsync()
    {
        var livingId = NewLiveId("odd");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 300, Externals = 700, OddIds = true });
        var status = await HarvestAsync(livingId);
        await Store.WatchStats.UpsertEntityAsync(new TableEntity(Lives.Sim(livingId).PartitionKey, ViewerRows.ExternalRowKey("wm-line/breaks#1"))
        {
            ["LivingId"] = livingId,
            ["CorpId"] = SimulatorOptions.DefaultCorpId,
            ["ViewerType"] = ViewerRows.External,
            ["ExternalUserId"] = "wm-line/breaks#1",
            ["ExternalType"] = 1,
            ["Name"] = " 第一行\n第二行\r\n\"引号\", 逗号 🐼 ",
            ["WatchTimeSeconds"] = 61,
            ["IsComment"] = true,
            ["IsMic"] = false,
            ["InvitorExternalUserId"] = "wm,comma\"quote",
            ["App"] = WeComApp.DefaultName,
            ["RunId"] = status.RunId,
            ["HarvestedAt"] = status.StartedAt,
        });
        return livingId;
    }

    private static List<Dictionary<string, string>> ReadCsv(byte[] bytes)
    {
        using var reader = CsvReader.Create(bytes, new CsvReaderOptions { Separator = ',', HasHeader = true, TrimWhitespace = false });
        var records = new List<Dictionary<string, string>>();
        var header = new List<string>();
        while (reader.Read())
        {
            if (header.Count == 0) header.AddRange(reader.Headers);
            Assert.Equal(Columns, header);
            Assert.Equal(Columns.Length, reader.FieldCount);
            records.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(i => header[i], reader.GetString, StringComparer.Ordinal));
        }
        return records;
    }

    private static JsonElement Property(JsonElement item, string column) => item.GetProperty(JsonNamingPolicy.CamelCase.ConvertName(column));

    /// <summary>The figures of a set of viewers, computed here from the simulator's data, against the report's.</summary>
    private static void AssertFigures(IReadOnlyList<SimulatedViewer> viewers, int? duration, JsonElement figures)
    {
        var times = viewers.Select(v => v.WatchTime).Order().ToArray();
        var total = times.Sum(t => (long)t);
        var median = times.Length % 2 == 1 ? times[times.Length / 2] : (times[times.Length / 2 - 1] + times[times.Length / 2]) / 2.0;
        Assert.Equal(viewers.Count, figures.GetProperty("viewers").GetInt32());
        Assert.Equal(total, figures.GetProperty("watchTimeSeconds").GetInt64());
        Assert.Equal((double)total / viewers.Count, figures.GetProperty("meanWatchTimeSeconds").GetDouble(), 9);
        Assert.Equal(median, figures.GetProperty("medianWatchTimeSeconds").GetDouble());
        Assert.Equal(viewers.Count(v => v.IsComment == 1), figures.GetProperty("commenters").GetInt32());
        Assert.Equal(viewers.Count(v => v.IsMic == 1), figures.GetProperty("micSpeakers").GetInt32());
        if (duration is { } d)
        {
            var half = viewers.Count(v => v.WatchTime * 2 >= d);
            Assert.InRange(half, 1, viewers.Count - 1); // a share that can be wrong both ways
            Assert.Equal(half, figures.GetProperty("watchedHalf").GetInt32());
            Assert.Equal((double)half / viewers.Count, figures.GetProperty("watchedHalfShare").GetDouble(), 9);
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, figures.GetProperty("watchedHalf").ValueKind);
            Assert.Equal(JsonValueKind.Null, figures.GetProperty("watchedHalfShare").ValueKind);
        }
    }

    private string NewFile(string extension)
    {
        var path = Path.Combine(Path.GetTempPath(), $"watchstat-{Guid.NewGuid():N}{extension}");
        _files.Add(path);
        return path;
    }

    /// <summary>A loopback port nothing listens on: the OS gave it out a moment ago and it was closed again.</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
