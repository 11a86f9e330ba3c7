using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;
using WatchStat.Reports;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Functions;

/// <summary>
/// <c>GET /api/lives</c>: the lives overview; <c>GET /api/lives/{livingid}/report[?corpid=|?app=]</c>: the live's report page (HTML, self-contained: see
/// <see cref="ReportPage"/>); <c>GET /api/lives/{livingid}/export[?format=csv|json&amp;raw=true]</c>: its viewer rows as the CLI's
/// export writes them, streamed (CSV text that a spreadsheet would run as a formula escaped unless <c>raw=true</c>). 404 with a problem body for a live never harvested. Function keys as the rest of the API.
/// </summary>
public sealed class LiveReportFunctions(LiveReports reports, LivesOverview overview, HarvestStore store, WeComApps apps, Microsoft.Extensions.Configuration.IConfiguration configuration, TimeProvider time)
{
    /// <summary>
    /// <c>GET /api/lives[?from=yyyy-MM-dd&amp;to=yyyy-MM-dd&amp;app=&amp;anchor=]</c>: the lives of the range (default: the
    /// last 30 days, to today inclusive, in <c>Reports:TimeZone</c>, default Asia/Shanghai) with their harvest's outcome
    /// and a trend per day: HTML, or JSON with <c>Accept: application/json</c>. 400 with a problem body for bad dates,
    /// a range over 366 days, or an unknown app.
    /// </summary>
    [Function("LivesOverviewFunction")]
    public async Task<IActionResult> Overview(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "lives")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var zoneId = configuration["Reports:TimeZone"] is { Length: > 0 } configured ? configured : DefaultTimeZone;
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var zone))
            return Problems.BadRequest($"Setting Reports:TimeZone '{zoneId}' is not a time zone this machine knows (an IANA id such as Asia/Shanghai).");
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time.GetUtcNow(), zone).DateTime);
        if (!TryDay(request, "to", today, out var last, out var problem) || !TryDay(request, "from", last.AddDays(-29), out var first, out problem))
            return Problems.BadRequest(problem!);
        if (first > last) return Problems.BadRequest($"from ({first:yyyy-MM-dd}) is after to ({last:yyyy-MM-dd}).");
        if (last.DayNumber - first.DayNumber + 1 > LivesOverview.MaxDays)
            return Problems.BadRequest($"The range is {last.DayNumber - first.DayNumber + 1} days; at most {LivesOverview.MaxDays} can be shown at once.");
        string? app = null;
        if (request.Query["app"].ToString() is { Length: > 0 } named)
        {
            if (apps.Find(named) is not { } found) return Problems.BadRequest($"app '{BoundedText.Cut(named, 64)}' is not a configured WeCom app.");
            app = found.Name;
        }
        var anchor = request.Query["anchor"].ToString() is { Length: > 0 } a ? a : null;

        var result = await overview.ReadAsync(Start(first, zone), Start(last.AddDays(1), zone), zone, app, anchor, cancellationToken);
        if (request.Headers.Accept.ToString().Contains("application/json", StringComparison.OrdinalIgnoreCase))
            return new JsonResult(result, OverviewJsonContext.Default.Options);
        var reportQuery = request.Query["code"].ToString() is { Length: > 0 } code ? "?code=" + Uri.EscapeDataString(code) : "";
        return new StreamedResult("text/html; charset=utf-8", null, async (body, ct) =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
            await OverviewPage.WriteAsync(writer, result, [.. apps.All.Select(a => a.Name)], reportQuery, ct);
        });
    }

    public const string DefaultTimeZone = "Asia/Shanghai";

    private static DateTimeOffset Start(DateOnly day, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(TimeOnly.MinValue);
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    private static bool TryDay(HttpRequest request, string name, DateOnly fallback, out DateOnly day, out string? problem)
    {
        problem = null;
        var text = request.Query[name].ToString();
        if (text.Length == 0)
        {
            day = fallback;
            return true;
        }
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out day)) return true;
        problem = $"{name} must be a date as yyyy-MM-dd, not '{(text.Length > 40 ? text[..40] + "…" : text)}'.";
        return false;
    }

    [Function("LiveReportFunction")]
    public async Task<IActionResult> Report(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "lives/{livingid}/report")] HttpRequest request,
        string livingid,
        CancellationToken cancellationToken)
    {
        var (live, problem) = HarvestRoutes.LiveOf(request, livingid, apps);
        if (problem is not null) return Problems.BadRequest(problem);
        if (await reports.ReadAsync(live, apps.Get(null).Name, progress: null, cancellationToken) is not { } data)
            return Problems.NotFound(HarvestRuns.NotRecordedProblem(live));
        // The CSV link: this route's sibling, with the same query (the corp, and the function key when it came as ?code=).
        var csv = "export" + QueryWith(request, "format", ExportFormats.Csv);
        return new StreamedResult("text/html; charset=utf-8", null, async (body, ct) =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
            await ReportPage.WriteAsync(writer, data.Live, data.Report, data.Viewers, csv, ct);
        });
    }

    [Function("LiveExportFunction")]
    public async Task<IActionResult> Export(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "lives/{livingid}/export")] HttpRequest request,
        string livingid,
        CancellationToken cancellationToken)
    {
        var (live, problem) = HarvestRoutes.LiveOf(request, livingid, apps);
        if (problem is not null) return Problems.BadRequest(problem);
        var format = request.Query["format"].ToString() is { Length: > 0 } given ? given : ExportFormats.Csv;
        if (format is not (ExportFormats.Csv or ExportFormats.Json))
            return Problems.BadRequest($"format must be csv or json, not '{format}'.");
        // raw=true: the CSV's text exactly as stored, without the formula escaping (see CsvViewerWriter).
        var raw = false;
        if (request.Query.TryGetValue("raw", out var rawValues) && !bool.TryParse(rawValues.ToString(), out raw))
            return Problems.BadRequest("raw must be true or false.");
        if (await store.GetAsync(live, cancellationToken) is null) return Problems.NotFound(HarvestRuns.NotRecordedProblem(live));
        var file = $"{SafeFileName(live.LivingId)}.{format}";
        return new StreamedResult(format == ExportFormats.Csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8", file, async (body, ct) =>
        {
            await using var writer = ExportColumns.Create(format, body, raw);
            await foreach (var row in store.ReadRowsAsync(live, ct)) await writer.WriteAsync(row, ct);
            await writer.CompleteAsync(ct);
        });
    }

    private static string QueryWith(HttpRequest request, string name, string value)
    {
        var query = QueryString.Empty;
        foreach (var (key, values) in request.Query)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var v in values) query = query.Add(key, v ?? "");
        }
        return query.Add(name, value).ToUriComponent();
    }

    /// <summary>A download's file name: the livingid with anything but letters, digits, '-' and '_' made '_'.</summary>
    private static string SafeFileName(string livingId) =>
        new([.. livingId.Take(100).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')]);

    /// <summary>A response written straight to the body as it is produced, never held whole in memory.</summary>
    private sealed class StreamedResult(string contentType, string? downloadName, Func<Stream, CancellationToken, Task> write) : IActionResult
    {
        public async Task ExecuteResultAsync(ActionContext context)
        {
            var response = context.HttpContext.Response;
            response.ContentType = contentType;
            response.Headers.CacheControl = "no-store";
            response.Headers["X-Content-Type-Options"] = "nosniff";
            if (downloadName is not null) response.Headers.ContentDisposition = $"attachment; filename=\"{downloadName}\"";
            await write(response.Body, context.HttpContext.RequestAborted);
        }
    }
}
