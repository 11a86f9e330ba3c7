using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using WatchStat.Reports;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Benchmarks;

/// <summary>One load of a live's report page, server and browser.</summary>
/// <param name="ReadMs">The route's reads: the status and Livings rows and every viewer row, from storage (Azurite here).</param>
/// <param name="WriteMs">The route's page: figures, viewer list and assets written as HTML.</param>
/// <param name="FirstContentfulPaintMs">Navigation start → first contentful paint (the headline is on screen).</param>
/// <param name="ReadyMs">Navigation start → the page's script done (charts drawn, the table's first page shown).</param>
/// <param name="LongestTaskMs">The longest main-thread task while loading: how long the page is frozen at worst.</param>
/// <param name="JsHeapMb">The JavaScript heap used once ready, after a garbage collection.</param>
/// <param name="FilterMs">Typing a viewer's id into the filter → the table shows the viewers it matches (150 ms of it is the debounce).</param>
/// <param name="SortMs">A click on a column header → the table sorted by it and its first page shown.</param>
public sealed record PageLoadFigures(
    int Viewers, double ReadMs, double WriteMs, double HtmlMegabytes, double FirstContentfulPaintMs, double ReadyMs, double LongestTaskMs, double JsHeapMb,
    double FilterMs, double SortMs);

/// <summary>
/// (14) A live's report page, as the report route serves it (<see cref="LiveReports"/> then <see cref="ReportPage"/>),
/// loaded in headless Chromium (Debian's, as the tests use it) from the file the route's bytes were written to:
/// first paint, ready, the longest task, the heap, and filtering and sorting the whole viewer list.
/// </summary>
public sealed class ReportPageLoad(IServiceProvider app)
{
    /// <summary>Recorded in the page before its own scripts run: when it became ready, and its long tasks.</summary>
    private const string Probe = """
        window.__ready = null; window.__longest = 0;
        new PerformanceObserver(function (list) { list.getEntries().forEach(function (e) { if (e.duration > window.__longest) window.__longest = e.duration; }); })
          .observe({ type: "longtask", buffered: true });
        new MutationObserver(function () {
          if (window.__ready === null && document.body && document.body.getAttribute("data-ready") === "true") window.__ready = performance.now();
        }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-ready"] });
        """;

    public async Task<PageLoadFigures> MeasureAsync(IBrowser browser, string livingId, int viewers)
    {
        var file = Path.Combine(Path.GetTempPath(), $"watchstat-report-{livingId}.html");
        try
        {
            var clock = Stopwatch.StartNew();
            var data = await app.GetRequiredService<LiveReports>().ReadAsync(new LiveKey(SimulatorOptions.DefaultCorpId, livingId), "default", null, default)
                ?? throw new InvalidOperationException($"no report for {livingId}");
            var readMs = clock.Elapsed.TotalMilliseconds;
            await using (var writer = new StreamWriter(file, false, new UTF8Encoding(false), 64 * 1024))
                await ReportPage.WriteAsync(writer, data.Live, data.Report, data.Viewers, "report.csv", default);
            var writeMs = clock.Elapsed.TotalMilliseconds - readMs;
            if (data.Viewers.Count != viewers) throw new InvalidOperationException($"the report of {livingId} has {data.Viewers.Count} viewers, not {viewers}");

            var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
            await using var _ = context;
            await context.AddInitScriptAsync(Probe);
            var page = await context.NewPageAsync();
            var errors = new List<string>();
            page.PageError += (_, e) => errors.Add(e);
            page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
            await page.GotoAsync(new Uri(file).AbsoluteUri, new PageGotoOptions { Timeout = 120_000 });
            await page.WaitForSelectorAsync("body[data-ready=true]", new PageWaitForSelectorOptions { Timeout = 120_000 });
            var timing = await page.EvaluateAsync<JsonElement>(
                "() => ({ fcp: (performance.getEntriesByName('first-contentful-paint')[0] || { startTime: -1 }).startTime, ready: window.__ready, longest: window.__longest })");
            var cdp = await context.NewCDPSessionAsync(page);
            await cdp.SendAsync("HeapProfiler.collectGarbage");
            var heap = (await cdp.SendAsync("Runtime.getHeapUsage"))!.Value.GetProperty("usedSize").GetDouble();

            // The filter: one viewer's id, typed; done when the table shows what it matches (the whole list filtered).
            var someone = data.Viewers[viewers / 2].Id;
            var filterMs = await page.EvaluateAsync<double>(
                """
                (id) => new Promise(function (resolve) {
                  var start = performance.now(), input = document.getElementById("filter");
                  var watch = new MutationObserver(function () {
                    watch.disconnect(); resolve(performance.now() - start);
                  });
                  watch.observe(document.querySelector("#viewers tbody"), { childList: true });
                  input.value = id; input.dispatchEvent(new Event("input"));
                })
                """, someone);
            await page.FillAsync("#filter", "");
            await page.WaitForFunctionAsync($"() => document.getElementById('page-info').textContent.startsWith('{viewers:N0} of')", null, new PageWaitForFunctionOptions { Timeout = 60_000 });
            // The sort: every viewer by id (the handler sorts and renders the first page before it returns).
            var sortMs = await page.EvaluateAsync<double>(
                "() => { var start = performance.now(); document.querySelector(\"#viewers th[data-key='1']\").click(); return performance.now() - start; }");
            if (errors.Count > 0) throw new InvalidOperationException("the report page reported errors: " + string.Join("; ", errors));

            return new PageLoadFigures(
                viewers, readMs, writeMs, new FileInfo(file).Length / 1048576.0, timing.GetProperty("fcp").GetDouble(), timing.GetProperty("ready").GetDouble(),
                timing.GetProperty("longest").GetDouble(), heap / 1048576.0, filterMs, sortMs);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
