using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Functions;

public static class HarvestRoutes
{
    /// <summary>The status URL of a live: its corp in the query unless it is the default app's.</summary>
    public static string StatusPath(LiveKey live, WeComApps apps) =>
        "/api/harvests/" + Uri.EscapeDataString(live.LivingId)
        + (apps.Default?.CorpId == live.CorpId ? "" : "?corpid=" + Uri.EscapeDataString(live.CorpId));

    /// <summary>
    /// The live a <c>/api/harvests/{livingid}</c> URL means: the corp of <c>?corpid=</c>, else of the app <c>?app=</c>
    /// names, else of the default app; or why the URL means none (400).
    /// </summary>
    public static (LiveKey Live, string? Problem) LiveOf(HttpRequest request, string livingId, WeComApps apps)
    {
        if (LivingIdRules.Check(livingId) is { } wrong) return (default, wrong);
        var corpId = request.Query["corpid"].ToString();
        if (corpId.Length > 0)
            return WeComApps.IsValidCorpId(corpId) ? (new LiveKey(corpId, livingId), null) : (default, $"corpid '{corpId}' is not a WeCom corpid.");
        var appName = request.Query["app"].ToString();
        if (apps.Check(appName) is { } wrongApp) return (default, wrongApp);
        return WeComApps.CheckCorp(apps.Get(appName), null, out var corp) is { } problem ? (default, problem) : (new LiveKey(corp, livingId), null);
    }
}

/// <summary>Request bodies read with a bound: the HTTP functions' one way to take a body from an untrusted caller.</summary>
public static class RequestBodies
{
    /// <summary>
    /// The body, or null when it is longer than <paramref name="maxBytes"/>: refused on its Content-Length without
    /// reading, else after reading at most one byte past the bound.
    /// </summary>
    public static async Task<ReadOnlyMemory<byte>?> ReadAtMostAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes) return null;
        var body = new byte[maxBytes + 1];
        var length = 0;
        int read;
        while (length < body.Length && (read = await request.Body.ReadAsync(body.AsMemory(length), cancellationToken)) > 0) length += read;
        return length > maxBytes ? null : body.AsMemory(0, length);
    }
}

/// <summary>RFC 9457 problem answers (<c>application/problem+json</c>).</summary>
public static class Problems
{
    public static IActionResult BadRequest(string detail) => Problem(400, "The request is not valid.", detail);

    public static IActionResult Unauthorized(string detail) => Problem(401, "Not authorized.", detail);

    public static IActionResult NotFound(string detail) => Problem(404, "Not found.", detail);

    public static IActionResult Unavailable(string detail) => Problem(503, "Not available right now.", detail);

    public static IActionResult Conflict(string detail) => Problem(409, "Not possible in the run's state.", detail);

    private static ObjectResult Problem(int status, string title, string detail) =>
        new(new ProblemDetails { Status = status, Title = title, Detail = detail })
        {
            StatusCode = status,
            ContentTypes = { "application/problem+json" },
        };
}
