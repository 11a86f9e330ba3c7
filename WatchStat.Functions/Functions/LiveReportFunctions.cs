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
/// <c>GET /api/lives/{livingid}/report[?corpid=|?app=]</c>: the live's report page (HTML, self-contained: see
/// <see cref="ReportPage"/>); <c>GET /api/lives/{livingid}/export[?format=csv|json]</c>: its viewer rows as the CLI's
/// export writes them, streamed. 404 with a problem body for a live never harvested. Function keys as the rest of the API.
/// </summary>
public sealed class LiveReportFunctions(LiveReports reports, HarvestStore store, WeComApps apps)
{
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
        if (await store.GetAsync(live, cancellationToken) is null) return Problems.NotFound(HarvestRuns.NotRecordedProblem(live));
        var file = $"{SafeFileName(live.LivingId)}.{format}";
        return new StreamedResult(format == ExportFormats.Csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8", file, async (body, ct) =>
        {
            await using var writer = ExportColumns.Create(format, body);
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
