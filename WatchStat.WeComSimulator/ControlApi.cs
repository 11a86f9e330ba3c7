using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace WatchStat.WeComSimulator;

/// <summary>
/// Control endpoints under /sim/ for tests and benchmarks that run the simulator as a separate process. Plain JSON,
/// camelCase; bad input answers HTTP 400 {"error": "..."}. Never echoes secrets or tokens.
/// </summary>
internal static class ControlApi
{
    public static void Map(WebApplication app, SimulatorState state)
    {
        app.MapGet("/sim/health", (RequestDelegate)(context => WriteOkAsync(context)));
        app.MapGet("/sim/counters", (RequestDelegate)(context => WriteCountersAsync(context, state)));
        app.MapPost("/sim/counters/reset", (RequestDelegate)(context =>
        {
            state.Counters.Reset();
            return WriteOkAsync(context);
        }));
        app.MapPost("/sim/tokens/revoke", (RequestDelegate)(context =>
        {
            state.RevokeAllTokens();
            return WriteOkAsync(context);
        }));
        app.MapGet("/sim/lives/{livingid}", (RequestDelegate)(context => GetLiveAsync(context, state)));
        app.MapPut("/sim/lives/{livingid}", (RequestDelegate)(context => PutLiveAsync(context, state)));
        app.MapPut("/sim/apps/{corpid}/secret", (RequestDelegate)(context => PutSecretAsync(context, state)));
        app.MapPut("/sim/anchors/{userid}", (RequestDelegate)(context => PutAnchorAsync(context, state)));
        app.MapGet("/sim/faults", (RequestDelegate)(context => WriteFaultsAsync(context, state)));
        app.MapPut("/sim/faults", (RequestDelegate)(context => PutFaultsAsync(context, state)));
        app.MapDelete("/sim/faults", (RequestDelegate)(context =>
        {
            state.Faults.Clear();
            return WriteOkAsync(context);
        }));
        app.MapGet("/sim/settings", (RequestDelegate)(context => WriteSettingsAsync(context, state)));
        app.MapPut("/sim/settings", (RequestDelegate)(context => PutSettingsAsync(context, state)));
    }

    private static Task WriteOkAsync(HttpContext context) => WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
    {
        writer.WriteStartObject();
        writer.WriteBoolean("ok", true);
        writer.WriteEndObject();
    });

    private static Task WriteCountersAsync(HttpContext context, SimulatorState state)
    {
        var counters = state.Counters;
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartObject("calls");
            foreach (var (api, count) in counters.CallsSnapshot().OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                writer.WriteNumber(api, count);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("callsByApp");
            foreach (var app in counters.CallsByAppSnapshot().GroupBy(kv => kv.Key.CorpId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(app.Key);
                foreach (var (key, count) in app.OrderBy(kv => kv.Key.Api, StringComparer.Ordinal))
                {
                    writer.WriteNumber(key.Api, count);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteNumber("tokensIssued", counters.TokensIssued);
            writer.WriteStartObject("tokensIssuedByApp");
            foreach (var (corpId, count) in counters.TokensByAppSnapshot().OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                writer.WriteNumber(corpId, count);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("errors");
            foreach (var (code, count) in counters.ErrorsSnapshot().OrderBy(kv => kv.Key))
            {
                writer.WriteNumber(code.ToString(CultureInfo.InvariantCulture), count);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    private static Task GetLiveAsync(HttpContext context, SimulatorState state)
    {
        string livingId = RouteValue(context, "livingid");
        var live = state.FindLive(livingId);
        if (live is null)
        {
            return WriteErrorAsync(context, StatusCodes.Status404NotFound, "unknown livingid");
        }

        int pageSize = Math.Max(1, live.Spec.PageSize ?? state.Options.PageSize);
        int? pageCount;
        try
        {
            pageCount = live.PageCount(pageSize);
        }
        catch (InvalidOperationException)
        {
            pageCount = null;
        }

        return WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("livingId", live.LivingId);
            writer.WriteNumber("members", live.Spec.Members);
            writer.WriteNumber("externals", live.Spec.Externals);
            writer.WriteNumber("total", live.Total);
            writer.WriteNumber("pageSize", pageSize);
            if (pageCount is { } count)
            {
                writer.WriteNumber("pageCount", count);
            }
            else
            {
                writer.WriteNull("pageCount");
            }

            writer.WriteEndObject();
        });
    }

    private static async Task PutLiveAsync(HttpContext context, SimulatorState state)
    {
        string livingId = RouteValue(context, "livingid");
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "body must be a JSON object").ConfigureAwait(false);
            return;
        }

        var spec = new LiveSpec();
        foreach (var property in body.RootElement.EnumerateObject())
        {
            var value = property.Value;
            LiveSpec? updated = property.Name.ToUpperInvariant() switch
            {
                "MEMBERS" when value.TryGetInt32(out int v) => spec with { Members = v },
                "EXTERNALS" when value.TryGetInt32(out int v) => spec with { Externals = v },
                "PAGESIZE" when value.ValueKind == JsonValueKind.Null => spec with { PageSize = null },
                "PAGESIZE" when value.TryGetInt32(out int v) => spec with { PageSize = v },
                "DURATIONSECONDS" when value.TryGetInt32(out int v) => spec with { DurationSeconds = v },
                "INVITORSHARE" when value.ValueKind == JsonValueKind.Number => spec with { InvitorShare = value.GetDouble() },
                "REPEATWITHINPAGE" when IsBoolean(value) => spec with { RepeatWithinPage = value.GetBoolean() },
                "REPEATACROSSPAGES" when IsBoolean(value) => spec with { RepeatAcrossPages = value.GetBoolean() },
                "EMPTYPAGEEVERY" when value.TryGetInt32(out int v) => spec with { EmptyPageEvery = v },
                "STUCKATPAGE" when value.TryGetInt32(out int v) => spec with { StuckAtPage = v },
                "ODDIDS" when IsBoolean(value) => spec with { OddIds = value.GetBoolean() },
                _ => null,
            };
            if (updated is null)
            {
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"unknown property or bad value: {property.Name}").ConfigureAwait(false);
                return;
            }

            spec = updated;
        }

        try
        {
            state.AddLive(livingId, spec);
        }
        catch (ArgumentException e)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }

        await GetLiveAsync(context, state).ConfigureAwait(false);
    }

    private static async Task PutSecretAsync(HttpContext context, SimulatorState state)
    {
        string corpId = RouteValue(context, "corpid");
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null
            || !body.RootElement.TryGetProperty("secret", out var secret)
            || secret.ValueKind != JsonValueKind.String
            || string.IsNullOrEmpty(secret.GetString())
            || string.IsNullOrEmpty(corpId))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "body must be {\"secret\":\"...\"}").ConfigureAwait(false);
            return;
        }

        state.SetSecret(corpId, secret.GetString()!);
        await WriteOkAsync(context).ConfigureAwait(false);
    }

    private static readonly JsonSerializerOptions FaultJson = new(JsonSerializerDefaults.Web);

    /// <summary>PUT /sim/faults {"seed": 7, "rules": [{"kinds": ["Http502", "SystemBusy"], "api": "living/get_watch_stat", "rate": 0.2, "fromCall": 10, "toCall": 14}]}.</summary>
    private static async Task PutFaultsAsync(HttpContext context, SimulatorState state)
    {
        FaultSettings? settings;
        try
        {
            settings = await JsonSerializer.DeserializeAsync<FaultSettings>(context.Request.Body, FaultJson, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"body must be {{\"seed\": n, \"rules\": [...]}}: {ex.Message}").ConfigureAwait(false);
            return;
        }

        state.Faults.Set(settings?.Rules ?? [], settings?.Seed ?? 0);
        await WriteFaultsAsync(context, state).ConfigureAwait(false);
    }

    private static Task WriteFaultsAsync(HttpContext context, SimulatorState state)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        return context.Response.WriteAsJsonAsync(new { rules = state.Faults.Rules, injected = state.Faults.InjectedSnapshot().ToDictionary(kv => kv.Key.ToString(), kv => kv.Value) }, FaultJson);
    }

    private sealed record FaultSettings(int Seed, IReadOnlyList<FaultRule>? Rules);

    /// <summary>PUT /sim/anchors/{userid} {"lives": 150}: an anchor with that many lives of every status.</summary>
    private static async Task PutAnchorAsync(HttpContext context, SimulatorState state)
    {
        string userId = RouteValue(context, "userid");
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null || !body.RootElement.TryGetProperty("lives", out var lives) || !lives.TryGetInt32(out int count) || count is < 0 or > 100_000
            || string.IsNullOrEmpty(userId))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "body must be {\"lives\": 0-100000}").ConfigureAwait(false);
            return;
        }

        state.Anchors.Add(userId, count);
        await WriteOkAsync(context).ConfigureAwait(false);
    }

    private static async Task PutSettingsAsync(HttpContext context, SimulatorState state)
    {
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "body must be a JSON object").ConfigureAwait(false);
            return;
        }

        int? latency = null, lifetime = null, pageSize = null;
        foreach (var property in body.RootElement.EnumerateObject())
        {
            bool isInt = property.Value.TryGetInt32(out int v);
            switch (property.Name.ToUpperInvariant())
            {
                case "LATENCYMILLISECONDS" when isInt && v >= 0:
                    latency = v;
                    break;
                case "TOKENLIFETIMESECONDS" when isInt:
                    lifetime = v;
                    break;
                case "PAGESIZE" when isInt && v >= 1:
                    pageSize = v;
                    break;
                default:
                    await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"unknown property or bad value: {property.Name}").ConfigureAwait(false);
                    return;
            }
        }

        var options = state.Options;
        options.LatencyMilliseconds = latency ?? options.LatencyMilliseconds;
        options.TokenLifetimeSeconds = lifetime ?? options.TokenLifetimeSeconds;
        options.PageSize = pageSize ?? options.PageSize;
        await WriteSettingsAsync(context, state).ConfigureAwait(false);
    }

    private static Task WriteSettingsAsync(HttpContext context, SimulatorState state) =>
        WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("latencyMilliseconds", state.Options.LatencyMilliseconds);
            writer.WriteNumber("tokenLifetimeSeconds", state.Options.TokenLifetimeSeconds);
            writer.WriteNumber("pageSize", state.Options.PageSize);
            writer.WriteEndObject();
        });

    private static bool IsBoolean(JsonElement value) => value.ValueKind is JsonValueKind.True or JsonValueKind.False;

    private static string RouteValue(HttpContext context, string name) =>
        context.Request.RouteValues[name] as string ?? "";

    /// <summary>The body as a JSON object, or null when it is not one.</summary>
    private static async Task<JsonDocument?> ReadBodyAsync(HttpContext context)
    {
        JsonDocument? document = null;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                var result = document;
                document = null;
                return result;
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            document?.Dispose();
        }
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message) =>
        WriteJsonAsync(context, status, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("error", message);
            writer.WriteEndObject();
        });

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
