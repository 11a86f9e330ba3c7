using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using WatchStat.Functions;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Reports;

/// <summary>
/// The lives overview (<c>GET /api/lives</c>) over real HTTP: in a real browser it lists the lives of the range with
/// their harvest's state (and a failed run's error), its trend chart is the per-day sums of those lives, and its links
/// open each live's report; as JSON it gives the same; bad filters are 400 problems; and it reads only the Livings and
/// Harvests tables, two point reads per live of the range beside one range query, never a viewer row.
/// </summary>
public sealed class OverviewPageTests : PipelineTest
{
    private static readonly TimeZoneInfo Shanghai = TimeZoneInfo.FindSystemTimeZoneById(LiveReportFunctions.DefaultTimeZone);

    /// <summary>An anchor of this test alone: the overview is filtered by it, since other tests' lives share the tables.</summary>
    private readonly string _anchor = "anchor-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<string> LiveAsync(string shape, DateTimeOffset start, int status = 2, string? anchor = null, string? theme = null)
    {
        var livingId = NewLiveId(shape);
        await Host.Get<LivingStore>().SaveInfoAsync(Lives.Sim(livingId), "default", new LivingInfo
        {
            Theme = theme ?? "培训 " + shape, AnchorUserId = anchor ?? _anchor, StatusValue = status, LivingStart = start.ToUnixTimeSeconds(), LivingDuration = 3600,
        }, DateTimeOffset.UtcNow, default);
        return livingId;
    }

    private async Task HarvestAsync(string livingId)
    {
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
    }

    /// <summary>Noon (Shanghai) <paramref name="days"/> days before today, at <paramref name="hour"/>.</summary>
    private static DateTimeOffset DaysAgo(int days, int hour = 12)
    {
        var today = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, Shanghai).Date;
        var local = today.AddDays(-days).AddHours(hour);
        return new DateTimeOffset(local, Shanghai.GetUtcOffset(local));
    }

    private static string Day(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, Shanghai).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [BrowserFact]
    public async Task The_overview_lists_the_lives_of_the_range_with_states_a_trend_of_their_sums_and_links_that_open_their_reports()
    {
        // Two lives harvested on one day, a failed one, one never harvested (still live), one 40 days ago (outside the
        // default 30), and one of another anchor on the same day as the first two.
        var (morning, evening) = (DaysAgo(2, 10), DaysAgo(2, 20));
        var first = await LiveAsync("30m20x", morning);
        var second = await LiveAsync("50m10x", evening);
        var failed = await LiveAsync("10m10x", DaysAgo(5));
        var live = await LiveAsync("5m5x", DaysAgo(0, 0).AddMinutes(1), status: 1);
        var old = await LiveAsync("7m7x", DaysAgo(40));
        var other = await LiveAsync("9m9x", morning, anchor: _anchor + "-other");
        foreach (var id in new[] { first, second, old, other }) await HarvestAsync(id);
        Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.IpNotTrusted], Api = WeComClient.GetWatchStatApi }]);
        await HarvestAsync(failed);
        Simulator.State.Faults.Clear();

        await using var endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var problems = Browser.WatchProblems(page);

        // The function key given as ?code= rides along into the filter form and every report link.
        var response = await page.GotoAsync(new Uri(endpoint.BaseUrl, $"api/lives?anchor={_anchor}&code=k3y").ToString());
        Assert.Equal(200, response!.Status);
        await page.WaitForSelectorAsync("body[data-ready=true]");

        // The default range: the last 30 days, today included. The old live and the other anchor's are not listed.
        Assert.Equal($"{Day(DaysAgo(29))} – {Day(DaysAgo(0))}", await page.InnerTextAsync("#range"));
        var rows = await page.Locator("#lives tbody tr").AllAsync();
        var listed = (await Task.WhenAll(rows.Select(r => r.GetAttributeAsync("data-livingid")))).Select(id => id!).ToList();
        Assert.Equal(new List<string> { live, second, first, failed }, listed); // newest first

        async Task<string> Cell(string livingId, int column) => await page.InnerTextAsync($"#lives tr[data-livingid='{livingId}'] td:nth-child({column})");
        foreach (var (id, viewers) in new[] { (first, 50), (second, 60) })
        {
            var status = await StatusAsync(id);
            Assert.Equal(HarvestStates.Completed, status.State);
            Assert.Equal(viewers.ToString("N0", CultureInfo.InvariantCulture), await Cell(id, 4));
            var rowsOf = await RowsAsync(id);
            var seconds = rowsOf.Sum(r => (long)r.GetInt32("WatchTimeSeconds")!.Value);
            Assert.Equal((seconds / 3600.0).ToString("N1", CultureInfo.InvariantCulture), await Cell(id, 5));
            Assert.Equal(HarvestStates.Completed, await Cell(id, 6));
        }
        Assert.StartsWith(HarvestStates.Failed, await Cell(failed, 6));
        Assert.Contains("trusted IPs (企业可信IP)", await Cell(failed, 6));
        Assert.Equal("not harvested", await Cell(live, 6));
        Assert.Equal("培训 30m20x", await Cell(first, 2));
        Assert.Equal(_anchor, await Cell(first, 3));

        // The trend: one bar per day of the range; the day of the first two lives carries their sums, the failed
        // live's day its viewers so far (none: the run failed on its first page) and no watch hours.
        var option = await page.EvaluateAsync<JsonElement>(
            "() => { const o = echarts.getInstanceByDom(document.getElementById('trend')).getOption(); return { days: o.xAxis[0].data, viewers: o.series[0].data, hours: o.series[1].data }; }");
        var days = option.GetProperty("days").EnumerateArray().Select(d => d.GetString()).ToList();
        Assert.Equal(30, days.Count);
        var at = days.IndexOf(Day(morning)[5..]);
        Assert.Equal(27, at);
        Assert.Equal(110, option.GetProperty("viewers")[at].GetInt32());
        var watched = (await RowsAsync(first)).Concat(await RowsAsync(second)).Sum(r => (long)r.GetInt32("WatchTimeSeconds")!.Value);
        Assert.Equal(Math.Round(watched / 3600.0, 2), option.GetProperty("hours")[at].GetDouble(), 6);
        Assert.Equal(110, option.GetProperty("viewers").EnumerateArray().Sum(v => v.GetInt32())); // nothing else counted
        Assert.Equal(0, option.GetProperty("hours")[days.IndexOf(Day(DaysAgo(5))[5..])].GetDouble());

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Browser.ScreenshotPath("overview-desktop.png"), FullPage = true });
        var phone = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 }, DeviceScaleFactor = 2, IsMobile = true });
        await phone.GotoAsync(new Uri(endpoint.BaseUrl, $"api/lives?anchor={_anchor}").ToString());
        await phone.WaitForSelectorAsync("body[data-ready=true]");
        await phone.ScreenshotAsync(new PageScreenshotOptions { Path = Browser.ScreenshotPath("overview-phone.png"), FullPage = true });
        var overflow = await phone.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"the overview is {overflow} px wider than the phone");

        // The filter form: a wider range brings the old live in, and keeps the key.
        await page.FillAsync("input[name=from]", Day(DaysAgo(45)));
        await page.ClickAsync("#filters button[type=submit]");
        await page.WaitForSelectorAsync("body[data-ready=true]");
        Assert.Contains("code=k3y", page.Url);
        Assert.Equal(5, await page.Locator("#lives tbody tr").CountAsync());
        Assert.Equal(1, await page.Locator($"#lives tr[data-livingid='{old}']").CountAsync());

        // A live's link opens its report, with the key and the corp.
        await page.ClickAsync($"#lives tr[data-livingid='{first}'] td:nth-child(2) a");
        await page.WaitForSelectorAsync("body[data-ready=true]");
        Assert.Contains($"/api/lives/{first}/report?code=k3y&corpid={SimulatorOptions.DefaultCorpId}", page.Url);
        Assert.Equal("50", await page.GetAttributeAsync("[data-figure='all.viewers']", "data-value"));

        Assert.Empty(problems);
    }

    [Fact]
    public async Task As_JSON_it_gives_the_same_lives_reads_two_rows_per_live_of_the_range_and_never_a_viewer_row()
    {
        // A range of its own, long ago, that no other test dates a live in.
        var start = new DateTimeOffset(2011, 3, 10, 12, 0, 0, TimeSpan.FromHours(8));
        var lives = new List<string>();
        foreach (var (shape, day) in new[] { ("12m3x", 0), ("4m4x", 0), ("6m0x", 3) })
        {
            var id = await LiveAsync(shape, start.AddDays(day));
            await HarvestAsync(id);
            lives.Add(id);
        }
        var outside = await LiveAsync("3m3x", start.AddDays(40));

        await using var endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        async Task<(JsonElement Body, IReadOnlyList<string> Requests)> GetAsync(string query)
        {
            Faults.ClearRequests();
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/lives" + query);
            request.Headers.Accept.ParseAdd("application/json");
            using var answer = await endpoint.Client.SendAsync(request);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
            Assert.Equal("application/json", answer.Content.Headers.ContentType?.MediaType);
            return (JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.Clone(), Faults.Requests);
        }

        var (body, requests) = await GetAsync("?from=2011-03-01&to=2011-03-31");
        var listed = body.GetProperty("lives").EnumerateArray().ToList();
        // Newest first; lives of one moment by livingid.
        List<string> order = [lives[2], .. new[] { lives[0], lives[1] }.Order(StringComparer.Ordinal)];
        Assert.Equal(order, listed.Select(l => l.GetProperty("livingId").GetString()!).ToList());
        foreach (var l in listed)
        {
            var id = l.GetProperty("livingId").GetString()!;
            var status = await StatusAsync(id);
            Assert.Equal(status.MembersWritten + status.ExternalWritten, l.GetProperty("viewers").GetInt32());
            Assert.Equal((await RowsAsync(id)).Sum(r => (long)r.GetInt32("WatchTimeSeconds")!.Value), l.GetProperty("watchTimeSeconds").GetInt64());
            Assert.Equal(HarvestStates.Completed, l.GetProperty("state").GetString());
            Assert.Equal(_anchor, l.GetProperty("anchorUserId").GetString());
        }
        var daysOf = body.GetProperty("days").EnumerateArray().ToDictionary(d => d.GetProperty("day").GetString()!, d => d.GetProperty("viewers").GetInt32());
        Assert.Equal(31, daysOf.Count);
        Assert.Equal((15 + 8, 6, 0), (daysOf["2011-03-10"], daysOf["2011-03-13"], daysOf["2011-03-11"]));

        // Its cost: one range query of the index, then the Livings row and the Harvests status row of each live.
        Assert.DoesNotContain(requests, r => r.Contains("/WatchStats", StringComparison.Ordinal));
        Assert.Equal(1, requests.Count(r => r.StartsWith("GET", StringComparison.Ordinal) && r.EndsWith("/Livings()", StringComparison.Ordinal)));
        Assert.Equal(3, requests.Count(r => r.Contains("/Livings(PartitionKey=", StringComparison.Ordinal)));
        Assert.Equal(3, requests.Count(r => r.Contains("/Harvests(PartitionKey=", StringComparison.Ordinal)));

        // A range with one live costs its one live's two reads.
        (body, requests) = await GetAsync("?from=2011-04-15&to=2011-04-25");
        Assert.Equal(new List<string> { outside }, body.GetProperty("lives").EnumerateArray().Select(l => l.GetProperty("livingId").GetString()!).ToList());
        Assert.Null(body.GetProperty("lives")[0].GetProperty("state").GetString());
        Assert.Equal(1, requests.Count(r => r.Contains("/Livings(PartitionKey=", StringComparison.Ordinal)));
        Assert.Equal(1, requests.Count(r => r.Contains("/Harvests(PartitionKey=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_live_harvested_by_the_CLI_is_dated_and_listed_but_not_put_on_the_nightly_arrivals()
    {
        var livingId = NewLiveId("8m4x");
        var run = await CliRunner.RunAsync(new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
            ["WeCom__CorpId"] = SimulatorOptions.DefaultCorpId,
            ["WeCom__Secret"] = SimulatorOptions.DefaultSecret,
        }, "harvest", livingId);
        Assert.True(run.ExitCode == 0, run.Output + run.Error);

        var now = DateTimeOffset.UtcNow;
        var overview = await Host.Get<global::WatchStat.Reports.LivesOverview>().ReadAsync(now.AddHours(-1), now.AddHours(1), TimeZoneInfo.Utc, null, null, default);
        var live = Assert.Single(overview.Lives, l => l.LivingId == livingId);
        Assert.Equal((HarvestStates.Completed, 12), (live.State, live.Viewers));
        var livings = Host.Get<LivingStore>().Livings;
        var arrivals = livings.QueryAsync<Azure.Data.Tables.TableEntity>(
            Azure.Data.Tables.TableClient.CreateQueryFilter($"PartitionKey eq {LivingStore.ArrivalsPartition}"));
        await foreach (var entry in arrivals) Assert.NotEqual(livingId, entry.GetString("LivingId"));
    }

    [Theory]
    [InlineData("?from=2026-13-01", "from must be a date as yyyy-MM-dd")]
    [InlineData("?to=yesterday", "to must be a date as yyyy-MM-dd")]
    [InlineData("?from=2026-05-02&to=2026-05-01", "is after to")]
    [InlineData("?from=2024-01-01&to=2025-06-30", "at most 366")]
    [InlineData("?app=nosuchapp", "not a configured WeCom app")]
    public async Task A_bad_filter_is_a_400_problem(string query, string detail)
    {
        await using var endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        Faults.ClearRequests();
        using var answer = await endpoint.Client.GetAsync("api/lives" + query);
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
        Assert.Empty(Faults.Requests); // refused before any read
    }
}
