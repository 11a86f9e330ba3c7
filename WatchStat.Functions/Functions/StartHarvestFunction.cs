using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Net.Http.Headers;
using WatchStat.Harvest;
using WatchStat.WeCom;

namespace WatchStat.Functions;

/// <summary>
/// <c>POST /api/harvests</c> with <c>{"livingid": "...", "app": "...", "corpid": "..."}</c> (app optional: <c>default</c>; corpid the app's own
/// corp unless the app is installed by many corps, which must name it): starts harvesting a live (202 Accepted), or returns the
/// run already queued or running for it (no second chain) unless <c>?force=true</c>. Bad input is a 400 problem
/// and changes nothing; a live harvested as another app is a 409 problem and changes nothing. The first page leaves through the queue output binding.
/// </summary>
public sealed class StartHarvestFunction(HarvestRequests requests, WeComApps apps)
{
    public const int MaxBodyBytes = 16 * 1024;

    [Function(nameof(StartHarvestFunction))]
    public async Task<StartHarvestOutput> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "harvests")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var (livingId, appName, corpId, force, problem) = await ReadAsync(request, cancellationToken);
        if (problem is not null) return new StartHarvestOutput { Result = problem };

        var result = await requests.RequestAsync(livingId, appName, corpId, force, cancellationToken);
        if (result is not { Start: { } start })
            return new StartHarvestOutput { Result = result.Conflict ? Problems.Conflict(result.Problem!) : Problems.BadRequest(result.Problem!) };
        var location = HarvestRoutes.StatusPath(start.Status.Live, apps);
        return new StartHarvestOutput
        {
            Result = new AcceptedResult(location, new StartHarvestResponse(start.Created, HarvestStatusView.From(start.Status))),
            Messages = start.FirstPage is { } first ? [first.ToJson()] : [],
        };
    }

    private static (string?, string?, string?, bool, IActionResult?) Bad(string detail) => (null, null, null, false, Problems.BadRequest(detail));

    private static async Task<(string? LivingId, string? App, string? CorpId, bool Force, IActionResult? Problem)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var force = false;
        if (request.Query.TryGetValue("force", out var forceValues) && !bool.TryParse(forceValues.ToString(), out force))
            return Bad("force must be true or false.");

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            return Bad($"Content-Type must be application/json; it was '{request.ContentType}'.");
        if (await RequestBodies.ReadAtMostAsync(request, MaxBodyBytes, cancellationToken) is not { } body)
            return Bad($"The body must be at most {MaxBodyBytes / 1024} KiB.");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return Bad($"The body is not valid JSON: {ex.Message}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                return Bad("The body must be a JSON object such as {\"livingid\": \"...\"}.");
            if (!document.RootElement.TryGetProperty("livingid", out var idElement))
                return Bad("livingid is required: send {\"livingid\": \"...\"}.");
            if (idElement.ValueKind != JsonValueKind.String)
                return Bad("livingid must be a string.");
            // Checked by HarvestRequests, as for every way in; text that is not UTF-16 (a lone surrogate escaped as
            // "\ud800") cannot even be read as a string.
            if (!TryText(idElement, out var livingId)) return Bad(NotText("livingid"));
            string? app = null, corpId = null;
            if (document.RootElement.TryGetProperty("app", out var appElement) && appElement.ValueKind != JsonValueKind.Null)
            {
                if (appElement.ValueKind != JsonValueKind.String)
                    return Bad("app must be a string naming a configured WeCom app.");
                if (!TryText(appElement, out app)) return Bad(NotText("app"));
            }
            if (document.RootElement.TryGetProperty("corpid", out var corpElement) && corpElement.ValueKind != JsonValueKind.Null)
            {
                if (corpElement.ValueKind != JsonValueKind.String) return Bad("corpid must be a string: the corp of the live.");
                if (!TryText(corpElement, out corpId)) return Bad(NotText("corpid"));
            }
            return (livingId, app, corpId, force, null);
        }
    }

    /// <summary>A JSON string's text; false when its escapes make no UTF-16 text (a lone surrogate such as <c>"\ud800"</c>).</summary>
    private static bool TryText(JsonElement element, out string? text)
    {
        try
        {
            text = element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            text = null;
            return false;
        }
    }

    private static string NotText(string field) => $"{field} is not valid UTF-16 text: it has a lone surrogate (an unpaired \\uD800-\\uDFFF escape).";
}

/// <summary>The HTTP answer and, when a page must be fetched, the message the host puts on the queue.</summary>
public sealed class StartHarvestOutput
{
    [HttpResult]
    public required IActionResult Result { get; init; }

    [QueueOutput(HarvestPageMessage.QueueName)]
    public string[] Messages { get; init; } = [];
}

public sealed record StartHarvestResponse(bool Created, HarvestStatusView Harvest);
