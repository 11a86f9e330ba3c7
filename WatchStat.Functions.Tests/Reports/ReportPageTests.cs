using System.Text.Json;
using Microsoft.Playwright;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using Xunit.Abstractions;

namespace WatchStat.Tests.Reports;

/// <summary>
/// A live's report page in a real browser (Debian's chromium, headless, through Playwright), served by the report
/// route over real HTTP: it loads with no console error and no failed request, its figures (read from the DOM) are
/// those of <c>watchstat report --json</c>, the histogram has the report's bars, the viewer table filters and sorts,
/// the CSV link downloads the export, and names built to attack the page are shown as text. Screenshots at phone and
/// desktop width go to artifacts/screenshots.
/// </summary>
public sealed class ReportPageTests(ITestOutputHelper output) : PipelineTest
{
    private const string Theme = "新品发布会 · 华东区 <b>Q4</b>";

    private async Task<(string LivingId, FunctionEndpoint Endpoint)> HarvestedLiveAsync(string shape)
    {
        var livingId = NewLiveId(shape);
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        // The live's facts, as discovery or the callback records them: a Chinese theme with markup in it, an hour long.
        var start = DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeSeconds();
        await Host.Get<LivingStore>().SaveInfoAsync(Lives.Sim(livingId), "default", new LivingInfo
        {
            Theme = Theme, AnchorUserId = "zhangwei", StatusValue = 2, LivingStart = start, LivingDuration = 3600,
        }, DateTimeOffset.UtcNow, default);
        return (livingId, await FunctionEndpoint.StartAsync(Host, Queue));
    }

    private async Task<JsonElement> CliReportAsync(string livingId)
    {
        var run = await CliRunner.RunAsync(new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
            ["WeCom__CorpId"] = global::WatchStat.WeComSimulator.SimulatorOptions.DefaultCorpId,
            ["WeCom__Secret"] = global::WatchStat.WeComSimulator.SimulatorOptions.DefaultSecret,
        }, "report", livingId, "--json");
        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        return JsonDocument.Parse(run.Output).RootElement;
    }

    [BrowserFact]
    public async Task The_report_page_shows_the_CLI_reports_figures_its_bars_and_a_table_that_filters_and_sorts_with_no_errors()
    {
        var (livingId, endpoint) = await HarvestedLiveAsync("1200m800x");
        await using var _ = endpoint;
        var expected = await CliReportAsync(livingId);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var __ = playwright;
        await using var ___ = browser;

        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var problems = Browser.WatchProblems(page);
        var started = DateTime.UtcNow;
        var response = await page.GotoAsync(new Uri(endpoint.BaseUrl, $"api/lives/{livingId}/report").ToString());
        Assert.Equal(200, response!.Status);
        await page.WaitForSelectorAsync("body[data-ready=true]");
        output.WriteLine($"2,000 viewers: loaded and ready in {(DateTime.UtcNow - started).TotalMilliseconds:0} ms");

        // The headline, from the DOM, is the CLI's report.
        async Task<double> Figure(string name) => double.Parse(
            (await page.GetAttributeAsync($"[data-figure='{name}']", "data-value"))!, System.Globalization.CultureInfo.InvariantCulture);
        var all = expected.GetProperty("all");
        Assert.Equal(2000, all.GetProperty("viewers").GetInt32());
        Assert.Equal(all.GetProperty("viewers").GetDouble(), await Figure("all.viewers"));
        Assert.Equal(all.GetProperty("watchTimeSeconds").GetDouble(), await Figure("all.watchTimeSeconds"));
        Assert.Equal(all.GetProperty("medianWatchTimeSeconds").GetDouble(), await Figure("all.medianWatchTimeSeconds"));
        Assert.Equal(all.GetProperty("watchedHalf").GetDouble(), await Figure("all.watchedHalf"));
        Assert.Equal(all.GetProperty("commenters").GetDouble(), await Figure("all.commenters"));
        Assert.Equal(all.GetProperty("micSpeakers").GetDouble(), await Figure("all.micSpeakers"));
        // The theme is text: its markup is shown, not obeyed.
        Assert.Equal(Theme, await page.InnerTextAsync("#title"));
        Assert.Equal(0, await page.Locator("#title b").CountAsync());

        // The histogram: the chart's bars are the report's buckets, and so is the table beside it.
        var buckets = expected.GetProperty("histogram").GetProperty("buckets").EnumerateArray().ToList();
        var bars = await page.EvaluateAsync<int[]>("() => echarts.getInstanceByDom(document.getElementById('histogram')).getOption().series[0].data");
        Assert.Equal(buckets.Select(b => b.GetProperty("viewers").GetInt32()), bars);
        Assert.Equal(11, bars.Length); // deciles of the hour, and beyond it
        Assert.Equal(1, await page.Locator("#histogram canvas").CountAsync());
        var cells = await page.Locator("#buckets td.num").AllAsync();
        Assert.Equal(buckets.Select(b => b.GetProperty("viewers").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            await Task.WhenAll(cells.Select(c => c.GetAttributeAsync("data-value")!)));

        // Top inviters: the CLI's first ten, in order.
        var top = expected.GetProperty("inviters").GetProperty("top").EnumerateArray().ToList();
        var inviterCells = await page.Locator("#inviters tbody tr td:nth-child(4)").AllAsync();
        Assert.Equal(top.Select(t => t.GetProperty("viewers").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            await Task.WhenAll(inviterCells.Select(c => c.GetAttributeAsync("data-value")!)));

        // The viewer table: 50 rows a page, longest watch first; filtering by an id finds that viewer alone.
        Assert.Equal(50, await page.Locator("#viewers tbody tr").CountAsync());
        var viewers = await RowsAsync(livingId);
        var longest = viewers.Max(r => r.GetInt32("WatchTimeSeconds")!.Value);
        Assert.Equal((longest / 60.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture), await page.InnerTextAsync("#viewers tbody tr:first-child td:nth-child(4)"));
        var someone = viewers.First(r => r.GetString("ExternalUserId") is not null).GetString("ExternalUserId")!;
        await page.FillAsync("#filter", someone);
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#viewers tbody tr').length === 1");
        Assert.Equal(someone, await page.InnerTextAsync("#viewers tbody tr td:nth-child(2)"));
        await page.FillAsync("#filter", "");
        await page.SelectOptionAsync("#kind", "m");
        await page.WaitForFunctionAsync("() => document.getElementById('page-info').textContent.startsWith('1,200 of 2,000')");
        // Sorted by id, ascending, then descending.
        await page.ClickAsync("#viewers th[data-key='1']");
        var ids = viewers.Where(r => r.GetString("UserId") is not null).Select(r => r.GetString("UserId")!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ids[0], await page.InnerTextAsync("#viewers tbody tr:first-child td:nth-child(2)"));
        await page.ClickAsync("#viewers th[data-key='1']");
        Assert.Equal(ids[^1], await page.InnerTextAsync("#viewers tbody tr:first-child td:nth-child(2)"));

        // The CSV link downloads the export of the same rows.
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#csv"));
        var bytes = await File.ReadAllBytesAsync((await download.PathAsync())!);
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]); // UTF-8 with its mark, for Excel
        var csv = System.Text.Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("LivingId,CorpId,ViewerType", csv[0], StringComparison.Ordinal);
        Assert.Equal(2000 + 1, csv.Length);

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Browser.ScreenshotPath("report-desktop.png"), FullPage = true });
        var phone = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 }, DeviceScaleFactor = 2, IsMobile = true });
        await phone.GotoAsync(new Uri(endpoint.BaseUrl, $"api/lives/{livingId}/report").ToString());
        await phone.WaitForSelectorAsync("body[data-ready=true]");
        await phone.ScreenshotAsync(new PageScreenshotOptions { Path = Browser.ScreenshotPath("report-phone.png"), FullPage = true });
        // Nothing wider than the phone's screen but the tables, which scroll in their own box.
        var overflow = await phone.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"the page is {overflow} px wider than the phone");
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { Media = Media.Print });
        await page.PdfAsync(new PagePdfOptions { Path = Browser.ScreenshotPath("report-print.pdf"), Format = "A4" });

        Assert.Empty(problems);
    }

    [BrowserFact]
    public async Task A_live_never_harvested_is_a_404_problem_and_a_bad_corp_a_400()
    {
        await using var endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        var missing = await endpoint.Client.GetAsync($"api/lives/{NewLiveId("3m2x")}/report");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        var badCorp = await endpoint.Client.GetAsync($"api/lives/{NewLiveId("3m2x")}/report?corpid=" + Uri.EscapeDataString("bad|corp"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, badCorp.StatusCode);
        var badFormat = await endpoint.Client.GetAsync($"api/lives/{NewLiveId("3m2x")}/export?format=xlsx");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, badFormat.StatusCode);
    }
}
