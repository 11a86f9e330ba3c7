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
        app.MapPut("/sim/callbacks/{corpid}", (RequestDelegate)(context => PutCallbackAsync(context, state)));
        app.MapDelete("/sim/callbacks/{corpid}", (RequestDelegate)(context => state.Callbacks.RemoveCallback(RouteValue(context, "corpid"))
            ? WriteOkAsync(context)
            : WriteErrorAsync(context, StatusCodes.Status404NotFound, "no callback registered for corpid " + RouteValue(context, "corpid"))));
        app.MapPost("/sim/callbacks/{corpid}/verify", (RequestDelegate)(context => VerifyCallbackAsync(context, state)));
        app.MapPost("/sim/callbacks/{corpid}/send", (RequestDelegate)(context => SendCallbackAsync(context, state)));
        app.MapPost("/sim/lives/{livingid}/status", (RequestDelegate)(context => PostLiveStatusAsync(context, state)));
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
            writer.WriteNumber("callbacksSent", counters.CallbacksSent);
            writer.WriteNumber("callbackUrlChecks", counters.CallbackUrlChecks);
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
                "MEMBERS" when IsInt(value, out int v) => spec with { Members = v },
                "EXTERNALS" when IsInt(value, out int v) => spec with { Externals = v },
                "PAGESIZE" when value.ValueKind == JsonValueKind.Null => spec with { PageSize = null },
                "PAGESIZE" when IsInt(value, out int v) => spec with { PageSize = v },
                "DURATIONSECONDS" when IsInt(value, out int v) => spec with { DurationSeconds = v },
                "INVITORSHARE" when value.ValueKind == JsonValueKind.Number => spec with { InvitorShare = value.GetDouble() },
                "REPEATWITHINPAGE" when IsBoolean(value) => spec with { RepeatWithinPage = value.GetBoolean() },
                "REPEATACROSSPAGES" when IsBoolean(value) => spec with { RepeatAcrossPages = value.GetBoolean() },
                "EMPTYPAGEEVERY" when IsInt(value, out int v) => spec with { EmptyPageEvery = v },
                "STUCKATPAGE" when IsInt(value, out int v) => spec with { StuckAtPage = v },
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
        if (body is null || !body.RootElement.TryGetProperty("lives", out var lives) || !IsInt(lives, out int count) || count is < 0 or > 100_000
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
            bool isInt = IsInt(property.Value, out int v);
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

    /// <summary>
    /// PUT /sim/callbacks/{corpid} {"url", "token", "encodingAesKey", "agentId"?} [?verify=false]: the URL check, then
    /// saved when it passes. 200 {"verified": true, "status", "elapsedMs"}; 422 {"error", "verified": false, "status",
    /// "body", "elapsedMs"} (not saved); skipped: 200 {"verified": false, "skipped": true}.
    /// </summary>
    private static async Task PutCallbackAsync(HttpContext context, SimulatorState state)
    {
        const string Shape = "body must be {\"url\": \"http(s)://...\", \"token\": \"...\", \"encodingAesKey\": \"<43 chars>\", \"agentId\": \"1000002\"}";
        string corpId = RouteValue(context, "corpid");
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, Shape).ConfigureAwait(false);
            return;
        }

        string? url = null, token = null, key = null, agentId = null;
        foreach (var property in body.RootElement.EnumerateObject())
        {
            var value = property.Value;
            bool isString = value.ValueKind == JsonValueKind.String;
            switch (property.Name.ToUpperInvariant())
            {
                case "URL" when isString:
                    url = value.GetString();
                    break;
                case "TOKEN" when isString:
                    token = value.GetString();
                    break;
                case "ENCODINGAESKEY" when isString:
                    key = value.GetString();
                    break;
                case "AGENTID" when isString || value.ValueKind == JsonValueKind.Number:
                    agentId = isString ? value.GetString() : value.GetRawText();
                    break;
                case "AGENTID" when value.ValueKind == JsonValueKind.Null:
                    break;
                default:
                    await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"unknown property or bad value: {property.Name}").ConfigureAwait(false);
                    return;
            }
        }

        if (url is null || token is null || key is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, Shape).ConfigureAwait(false);
            return;
        }

        string? verifyText = context.Request.Query["verify"];
        if (verifyText is not (null or "true" or "false"))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "verify must be true or false").ConfigureAwait(false);
            return;
        }

        CallbackCheck? check;
        try
        {
            check = await state.Callbacks.RegisterCallbackAsync(corpId, url, token, key, agentId, verifyText != "false", context.RequestAborted).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }

        if (check is null)
        {
            await WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
            {
                writer.WriteStartObject();
                writer.WriteBoolean("verified", false);
                writer.WriteBoolean("skipped", true);
                writer.WriteEndObject();
            }).ConfigureAwait(false);
            return;
        }

        await WriteCheckAsync(context, check).ConfigureAwait(false);
    }

    /// <summary>POST /sim/callbacks/{corpid}/verify: the URL check again against the saved registration (404 when none).</summary>
    private static async Task VerifyCallbackAsync(HttpContext context, SimulatorState state)
    {
        CallbackCheck check;
        try
        {
            check = await state.Callbacks.VerifyCallbackAsync(RouteValue(context, "corpid"), context.RequestAborted).ConfigureAwait(false);
        }
        catch (KeyNotFoundException e)
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, e.Message).ConfigureAwait(false);
            return;
        }

        await WriteCheckAsync(context, check).ConfigureAwait(false);
    }

    private static Task WriteCheckAsync(HttpContext context, CallbackCheck check) =>
        WriteJsonAsync(context, check.Verified ? StatusCodes.Status200OK : StatusCodes.Status422UnprocessableEntity, writer =>
        {
            writer.WriteStartObject();
            if (check.Error is not null)
            {
                writer.WriteString("error", check.Error);
            }

            writer.WriteBoolean("verified", check.Verified);
            writer.WriteNumber("status", check.Status);
            writer.WriteNumber("elapsedMs", check.ElapsedMs);
            if (!check.Verified)
            {
                writer.WriteString("body", check.Body);
            }

            writer.WriteEndObject();
        });

    /// <summary>
    /// POST /sim/lives/{livingid}/status {"status": 2, "corpId"?, "deliveries"?: 1, "concurrent"?: false, "tamper"?: null,
    /// "createTime"?: null}: sets the live's status, then pushes living_status_change to the corp's callback.
    /// </summary>
    private static async Task PostLiveStatusAsync(HttpContext context, SimulatorState state)
    {
        var request = await ReadSendAsync(context, withStatus: true).ConfigureAwait(false);
        if (request is null) return;
        await SendAndAnswerAsync(context, () => state.Callbacks.ChangeStatusAsync(
            RouteValue(context, "livingid"), request.Status ?? -1, request.CorpId, request.Deliveries, request.Concurrent, request.Tamper,
            request.CreateTime, context.RequestAborted)).ConfigureAwait(false);
    }

    /// <summary>POST /sim/callbacks/{corpid}/send {"xml": "<xml>...</xml>", "deliveries"?: 1, "concurrent"?: false, "tamper"?: null}.</summary>
    private static async Task SendCallbackAsync(HttpContext context, SimulatorState state)
    {
        var request = await ReadSendAsync(context, withStatus: false).ConfigureAwait(false);
        if (request is null) return;
        await SendAndAnswerAsync(context, () => state.Callbacks.SendRawAsync(
            RouteValue(context, "corpid"), request.Xml ?? "", request.Deliveries, request.Concurrent, request.Tamper, context.RequestAborted)).ConfigureAwait(false);
    }

    /// <summary>The body of a status change (<paramref name="withStatus"/>) or a raw send; null once a 400 is written.</summary>
    private static async Task<SendRequest?> ReadSendAsync(HttpContext context, bool withStatus)
    {
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "body must be a JSON object").ConfigureAwait(false);
            return null;
        }

        var request = new SendRequest();
        foreach (var property in body.RootElement.EnumerateObject())
        {
            var value = property.Value;
            bool isNull = value.ValueKind == JsonValueKind.Null;
            bool isString = value.ValueKind == JsonValueKind.String;
            bool isNumber = value.ValueKind == JsonValueKind.Number; // TryGetInt64 throws on anything else
            SendRequest? updated = property.Name.ToUpperInvariant() switch
            {
                "STATUS" when withStatus && IsInt(value, out int v) => request with { Status = v },
                "CORPID" when withStatus && (isString || isNull) => request with { CorpId = value.GetString() },
                "CREATETIME" when withStatus && isNull => request with { CreateTime = null },
                "CREATETIME" when withStatus && isNumber && value.TryGetInt64(out long v) && v >= 0 => request with { CreateTime = v },
                "XML" when !withStatus && isString => request with { Xml = value.GetString() },
                "DELIVERIES" when IsInt(value, out int v) => request with { Deliveries = v },
                "CONCURRENT" when IsBoolean(value) => request with { Concurrent = value.GetBoolean() },
                "TAMPER" when (isString || isNull) && CallbackSender.TryParseTamper(value.GetString(), out var tamper) => request with { Tamper = tamper },
                _ => null,
            };
            if (updated is null)
            {
                string hint = property.Name.Equals("tamper", StringComparison.OrdinalIgnoreCase)
                    ? " (null, none, signature, ciphertext, timestamp, receiver or xml)"
                    : "";
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"unknown property or bad value: {property.Name}{hint}").ConfigureAwait(false);
                return null;
            }

            request = updated;
        }

        if (withStatus && request.Status is not (0 or 1 or 2 or 4))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "status is required: 0, 1, 2 or 4").ConfigureAwait(false);
            return null;
        }

        if (!withStatus && string.IsNullOrEmpty(request.Xml))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "body must be {\"xml\": \"<xml>...</xml>\", \"deliveries\": 1, \"tamper\": null}").ConfigureAwait(false);
            return null;
        }

        return request;
    }

    /// <summary>Runs a send; answers 200 with its deliveries, 400 for bad input, 404 for an unknown corp or live.</summary>
    private static async Task SendAndAnswerAsync(HttpContext context, Func<Task<CallbackSendResult>> send)
    {
        CallbackSendResult result;
        try
        {
            result = await send().ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }
        catch (KeyNotFoundException e)
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, e.Message).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            if (result.LivingId is not null)
            {
                writer.WriteString("livingId", result.LivingId);
            }

            if (result.Status is { } status)
            {
                writer.WriteNumber("status", status);
            }

            if (result.CreateTime is { } createTime)
            {
                writer.WriteNumber("createTime", createTime);
            }

            writer.WriteStartArray("deliveries");
            foreach (var delivery in result.Deliveries)
            {
                writer.WriteStartObject();
                writer.WriteNumber("status", delivery.Status);
                if (delivery.Error is null)
                {
                    writer.WriteString("body", delivery.Body);
                }
                else
                {
                    writer.WriteString("error", delivery.Error);
                }

                writer.WriteNumber("elapsedMs", delivery.ElapsedMs);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private sealed record SendRequest(int? Status = null, string? CorpId = null, long? CreateTime = null, string? Xml = null,
        int Deliveries = 1, bool Concurrent = false, CallbackTamper Tamper = CallbackTamper.None);

    /// <summary>A JSON number that fits an int; false for anything else (TryGetInt32 throws on strings and other kinds).</summary>
    private static bool IsInt(JsonElement value, out int result)
    {
        result = 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out result);
    }

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
