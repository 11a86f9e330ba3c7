using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace WatchStat.Functions;

public static class HarvestRoutes
{
    public static string StatusPath(string livingId) => "/api/harvests/" + Uri.EscapeDataString(livingId);
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
