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
    /// <summary>The largest spacingHours PUT /sim/anchors/{userid} takes: a year between two lives.</summary>
    private const double MaxSpacingHours = 8760;

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
        app.MapDelete("/sim/callbacks/{corpid}", (RequestDelegate)(context =>
            RemoveAsync(context, "corpid", state.Callbacks.RemoveCallback, "no callback registered for corpid ")));
        app.MapPost("/sim/callbacks/{corpid}/verify", (RequestDelegate)(context => VerifyCallbackAsync(context, state)));
        app.MapPost("/sim/callbacks/{corpid}/send", (RequestDelegate)(context => SendCallbackAsync(context, state)));
        app.MapPost("/sim/lives/{livingid}/status", (RequestDelegate)(context => PostLiveStatusAsync(context, state)));
        app.MapGet("/sim/suites/{suiteid}", (RequestDelegate)(context => GetSuiteAsync(context, state)));
        app.MapPut("/sim/suites/{suiteid}", (RequestDelegate)(context => PutSuiteAsync(context, state)));
        app.MapPut("/sim/suites/{suiteid}/callback", (RequestDelegate)(context => PutSuiteCallbackAsync(context, state)));
        app.MapDelete("/sim/suites/{suiteid}/callback", (RequestDelegate)(context =>
            RemoveAsync(context, "suiteid", state.Suites.RemoveCallback, "no instruction callback registered for suite ")));
        app.MapPost("/sim/suites/{suiteid}/ticket", (RequestDelegate)(context => PostSuiteTicketAsync(context, state)));
        app.MapPost("/sim/suites/{suiteid}/authorize", (RequestDelegate)(context => PostSuiteAuthAsync(context, state, "authorize")));
        app.MapPost("/sim/suites/{suiteid}/change", (RequestDelegate)(context => PostSuiteAuthAsync(context, state, "change")));
        app.MapPost("/sim/suites/{suiteid}/cancel", (RequestDelegate)(context => PostSuiteAuthAsync(context, state, "cancel")));
    }

    private static Task WriteOkAsync(HttpContext context) => WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
    {
        writer.WriteStartObject();
        writer.WriteBoolean("ok", true);
        writer.WriteEndObject();
    });

    /// <summary>A DELETE of what the route value <paramref name="name"/> names: 200 {"ok": true}, or 404 <paramref name="notFound"/> + the value.</summary>
    private static Task RemoveAsync(HttpContext context, string name, Func<string, bool> remove, string notFound)
    {
        string id = RouteValue(context, name);
        return remove(id) ? WriteOkAsync(context) : WriteErrorAsync(context, StatusCodes.Status404NotFound, notFound + id);
    }

    private static Task WriteCountersAsync(HttpContext context, SimulatorState state)
    {
        var counters = state.Counters;
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            WriteCounts(writer, "calls", counters.CallsSnapshot());
            writer.WriteStartObject("callsByApp");
            foreach (var app in counters.CallsByAppSnapshot().GroupBy(kv => kv.Key.CorpId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                WriteCounts(writer, app.Key, app.Select(kv => KeyValuePair.Create(kv.Key.Api, kv.Value)));
            }

            writer.WriteEndObject();
            writer.WriteNumber("tokensIssued", counters.TokensIssued);
            WriteCounts(writer, "tokensIssuedByApp", counters.TokensByAppSnapshot());
            writer.WriteStartObject("errors");
            foreach (var (code, count) in counters.ErrorsSnapshot().OrderBy(kv => kv.Key))
            {
                writer.WriteNumber(code.ToString(CultureInfo.InvariantCulture), count);
            }

            writer.WriteEndObject();
            WriteCounts(writer, "suiteTokensIssued", counters.SuiteTokensSnapshot());
            writer.WriteNumber("callbacksSent", counters.CallbacksSent);
            writer.WriteNumber("callbackUrlChecks", counters.CallbackUrlChecks);
            WriteRateLimited(writer, counters.RateLimitedSnapshot());
            writer.WriteEndObject();
        });
    }

    /// <summary>
    /// "rateLimited": {"corpid (or suite_id)": {"api": {"minute": n, "hour": n}}}: the calls each limit refused with
    /// 45009; only corps and APIs with refusals, both windows always named.
    /// </summary>
    private static void WriteRateLimited(Utf8JsonWriter writer, IEnumerable<KeyValuePair<(string CorpId, string Api, RateLimitWindow Window), long>> refused)
    {
        writer.WriteStartObject("rateLimited");
        foreach (var corp in refused.GroupBy(kv => kv.Key.CorpId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            writer.WriteStartObject(corp.Key);
            foreach (var api in corp.GroupBy(kv => kv.Key.Api, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(api.Key);
                foreach (var window in (ReadOnlySpan<RateLimitWindow>)[RateLimitWindow.Minute, RateLimitWindow.Hour])
                {
                    writer.WriteNumber(SimulatorCounters.WindowName(window), api.Where(kv => kv.Key.Window == window).Sum(kv => kv.Value));
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>{"name": {"key": count, ...}}, the keys in ordinal order.</summary>
    private static void WriteCounts(Utf8JsonWriter writer, string name, IEnumerable<KeyValuePair<string, long>> counts)
    {
        writer.WriteStartObject(name);
        foreach (var (key, count) in counts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            writer.WriteNumber(key, count);
        }

        writer.WriteEndObject();
    }

    /// <summary>GET /sim/lives/{livingid}[?corpid=]: the live as that corp's tokens see it (without corpid: as every corp sees it).</summary>
    private static Task GetLiveAsync(HttpContext context, SimulatorState state) =>
        GetLiveAsync(context, state, context.Request.Query["corpid"].ToString() is { Length: > 0 } corpId ? corpId : null);

    private static Task GetLiveAsync(HttpContext context, SimulatorState state, string? corpId)
    {
        string livingId = RouteValue(context, "livingid");
        var live = state.FindLive(livingId, corpId);
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
            if (live.Spec.CorpId is not null)
            {
                writer.WriteString("corpId", live.Spec.CorpId);
            }

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
        var spec = new LiveSpec();
        if (!await ReadPropertiesAsync(context, "body must be a JSON object", Accept).ConfigureAwait(false))
        {
            return;
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

        await GetLiveAsync(context, state, spec.CorpId).ConfigureAwait(false);

        bool Accept(JsonProperty property)
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
                "CORPID" when value.ValueKind is JsonValueKind.String or JsonValueKind.Null => spec with { CorpId = value.GetString() },
                _ => null,
            };
            spec = updated ?? spec;
            return updated is not null;
        }
    }

    private static async Task PutSecretAsync(HttpContext context, SimulatorState state)
    {
        string corpId = RouteValue(context, "corpid");
        if (await TryReadSecretAsync(context, corpId, secretOnly: false).ConfigureAwait(false) is not { } secret)
        {
            return;
        }

        state.SetSecret(corpId, secret);
        await WriteOkAsync(context).ConfigureAwait(false);
    }

    /// <summary>
    /// The secret of a {"secret": "..."} body (with nothing else when <paramref name="secretOnly"/>) for the non-empty
    /// <paramref name="id"/> of the route; null once a 400 is written.
    /// </summary>
    private static async Task<string?> TryReadSecretAsync(HttpContext context, string id, bool secretOnly)
    {
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null
            || (secretOnly && body.RootElement.EnumerateObject().Any(p => !p.NameEquals("secret")))
            || !body.RootElement.TryGetProperty("secret", out var secret)
            || secret.ValueKind != JsonValueKind.String
            || string.IsNullOrEmpty(secret.GetString())
            || string.IsNullOrEmpty(id))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "body must be {\"secret\":\"...\"}").ConfigureAwait(false);
            return null;
        }

        return secret.GetString();
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

    /// <summary>
    /// PUT /sim/anchors/{userid} {"lives": 150, "corpid"?: "ww...", "spacingHours"?: 58.4}: an anchor with that many
    /// lives of every status; with a corpid, that corp's anchor, whose lives no other corp sees; with spacingHours
    /// (a number &gt; 0, at most 8760, or null for the default 7), the ended lives start that many hours apart, so
    /// 300 lives 58.4 hours apart span two years. 400 when the oldest live would start before the year 1.
    /// </summary>
    private static async Task PutAnchorAsync(HttpContext context, SimulatorState state)
    {
        const string Shape = "body must be {\"lives\": 0-100000, \"corpid\": null or \"...\", \"spacingHours\": null or a number > 0 and <= 8760}";
        string userId = RouteValue(context, "userid");
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        JsonElement corp = default;
        TimeSpan? spacing = null;
        if (body is null || !body.RootElement.TryGetProperty("lives", out var lives) || !IsInt(lives, out int count) || count is < 0 or > 100_000
            || string.IsNullOrEmpty(userId)
            || (body.RootElement.TryGetProperty("corpid", out corp) && !(corp.ValueKind == JsonValueKind.Null
                || (corp.ValueKind == JsonValueKind.String && corp.GetString() is { Length: > 0 })))
            || (body.RootElement.TryGetProperty("spacingHours", out var hours) && !TryReadSpacing(hours, out spacing)))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, Shape).ConfigureAwait(false);
            return;
        }

        try
        {
            state.Anchors.Add(userId, count, spacing, corp.ValueKind == JsonValueKind.String ? corp.GetString() : null);
        }
        catch (ArgumentException e)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }

        await WriteOkAsync(context).ConfigureAwait(false);

        static bool TryReadSpacing(JsonElement value, out TimeSpan? spacing)
        {
            spacing = null;
            if (value.ValueKind == JsonValueKind.Null)
            {
                return true;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double h) || !(h > 0 && h <= MaxSpacingHours))
            {
                return false;
            }

            spacing = TimeSpan.FromHours(h);
            return spacing > TimeSpan.Zero;
        }
    }

    private static async Task PutSettingsAsync(HttpContext context, SimulatorState state)
    {
        int? latency = null, lifetime = null, pageSize = null, ticketInterval = null, ticketLifetime = null, suiteTokenLifetime = null;
        int? perMinute = null, perHour = null;
        if (!await ReadPropertiesAsync(context, "body must be a JSON object", Accept).ConfigureAwait(false))
        {
            return;
        }

        var options = state.Options;
        options.LatencyMilliseconds = latency ?? options.LatencyMilliseconds;
        options.TokenLifetimeSeconds = lifetime ?? options.TokenLifetimeSeconds;
        options.PageSize = pageSize ?? options.PageSize;
        options.SuiteTicketIntervalSeconds = ticketInterval ?? options.SuiteTicketIntervalSeconds;
        options.SuiteTicketLifetimeSeconds = ticketLifetime ?? options.SuiteTicketLifetimeSeconds;
        options.SuiteTokenLifetimeSeconds = suiteTokenLifetime ?? options.SuiteTokenLifetimeSeconds;
        options.CorpCallsPerMinute = perMinute ?? options.CorpCallsPerMinute;
        options.CorpCallsPerHour = perHour ?? options.CorpCallsPerHour;
        await WriteSettingsAsync(context, state).ConfigureAwait(false);

        bool Accept(JsonProperty property)
        {
            bool isInt = IsInt(property.Value, out int v);
            switch (property.Name.ToUpperInvariant())
            {
                case "LATENCYMILLISECONDS" when isInt && v >= 0:
                    latency = v;
                    return true;
                case "TOKENLIFETIMESECONDS" when isInt:
                    lifetime = v;
                    return true;
                case "PAGESIZE" when isInt && v >= 1:
                    pageSize = v;
                    return true;
                case "SUITETICKETINTERVALSECONDS" when isInt && v >= 0:
                    ticketInterval = v;
                    return true;
                case "SUITETICKETLIFETIMESECONDS" when isInt && v >= 0:
                    ticketLifetime = v;
                    return true;
                case "SUITETOKENLIFETIMESECONDS" when isInt:
                    suiteTokenLifetime = v;
                    return true;
                case "CORPCALLSPERMINUTE" when isInt && v >= 0:
                    perMinute = v;
                    return true;
                case "CORPCALLSPERHOUR" when isInt && v >= 0:
                    perHour = v;
                    return true;
                default:
                    return false;
            }
        }
    }

    private static Task WriteSettingsAsync(HttpContext context, SimulatorState state) =>
        WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("latencyMilliseconds", state.Options.LatencyMilliseconds);
            writer.WriteNumber("tokenLifetimeSeconds", state.Options.TokenLifetimeSeconds);
            writer.WriteNumber("pageSize", state.Options.PageSize);
            writer.WriteNumber("suiteTicketIntervalSeconds", state.Options.SuiteTicketIntervalSeconds);
            writer.WriteNumber("suiteTicketLifetimeSeconds", state.Options.SuiteTicketLifetimeSeconds);
            writer.WriteNumber("suiteTokenLifetimeSeconds", state.Options.SuiteTokenLifetimeSeconds);
            writer.WriteNumber("corpCallsPerMinute", state.Options.CorpCallsPerMinute);
            writer.WriteNumber("corpCallsPerHour", state.Options.CorpCallsPerHour);
            writer.WriteEndObject();
        });

    /// <summary>
    /// PUT /sim/callbacks/{corpid} {"url", "token", "encodingAesKey", "agentId"?} [?verify=false]: the URL check, then
    /// saved when it passes. 200 {"verified": true, "status", "elapsedMs"}; 422 {"error", "verified": false, "status",
    /// "body", "elapsedMs"} (not saved); skipped: 200 {"verified": false, "skipped": true}.
    /// </summary>
    private static async Task PutCallbackAsync(HttpContext context, SimulatorState state)
    {
        string corpId = RouteValue(context, "corpid");
        if (await TryReadCallbackBodyAsync(context, withAgentId: true).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        await RunAndAnswerAsync(context,
            () => state.Callbacks.RegisterCallbackAsync(corpId, body.Url, body.Token, body.EncodingAesKey, body.AgentId, body.Verify, context.RequestAborted),
            check => WriteCheckAsync(context, check)).ConfigureAwait(false);
    }

    /// <summary>The body of PUT /sim/callbacks/{corpid} or PUT /sim/suites/{suiteid}/callback, with its ?verify= (true unless "false").</summary>
    private sealed record CallbackBody(string Url, string Token, string EncodingAesKey, string? AgentId, bool Verify);

    /// <summary>
    /// Reads {"url", "token", "encodingAesKey"}, with an optional "agentId" (string, number or null) only when
    /// <paramref name="withAgentId"/> (an app's callback has one, a suite's has not), and the ?verify= query (true or
    /// false); null once a 400 is written.
    /// </summary>
    private static async Task<CallbackBody?> TryReadCallbackBodyAsync(HttpContext context, bool withAgentId)
    {
        string shape = "body must be {\"url\": \"http(s)://...\", \"token\": \"...\", \"encodingAesKey\": \"<43 chars>\""
            + (withAgentId ? ", \"agentId\": \"1000002\"}" : "}");
        string? url = null, token = null, key = null, agentId = null;
        if (!await ReadPropertiesAsync(context, shape, Accept).ConfigureAwait(false))
        {
            return null;
        }

        if (url is null || token is null || key is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, shape).ConfigureAwait(false);
            return null;
        }

        string? verifyText = context.Request.Query["verify"];
        if (verifyText is not (null or "true" or "false"))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "verify must be true or false").ConfigureAwait(false);
            return null;
        }

        return new CallbackBody(url, token, key, agentId, verifyText != "false");

        bool Accept(JsonProperty property)
        {
            var value = property.Value;
            bool isString = value.ValueKind == JsonValueKind.String;
            switch (property.Name.ToUpperInvariant())
            {
                case "URL" when isString:
                    url = value.GetString();
                    return true;
                case "TOKEN" when isString:
                    token = value.GetString();
                    return true;
                case "ENCODINGAESKEY" when isString:
                    key = value.GetString();
                    return true;
                case "AGENTID" when withAgentId && (isString || value.ValueKind == JsonValueKind.Number):
                    agentId = isString ? value.GetString() : value.GetRawText();
                    return true;
                case "AGENTID" when withAgentId && value.ValueKind == JsonValueKind.Null:
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>POST /sim/callbacks/{corpid}/verify: the URL check again against the saved registration (404 when none).</summary>
    private static Task VerifyCallbackAsync(HttpContext context, SimulatorState state) =>
        RunAndAnswerAsync(context,
            () => state.Callbacks.VerifyCallbackAsync(RouteValue(context, "corpid"), context.RequestAborted),
            check => WriteCheckAsync(context, check));

    /// <summary>
    /// A URL check's answer: 200 {"verified": true, "status", "elapsedMs"}; 422 {"error", "verified": false, "status",
    /// "elapsedMs", "body"}; 200 {"verified": false, "skipped": true} when it was skipped (<paramref name="check"/> null);
    /// then a suite's first "ticket" push, if any.
    /// </summary>
    private static Task WriteCheckAsync(HttpContext context, CallbackCheck? check, SuiteDelivery? ticket = null) =>
        WriteJsonAsync(context, check is null || check.Verified ? StatusCodes.Status200OK : StatusCodes.Status422UnprocessableEntity, writer =>
        {
            writer.WriteStartObject();
            if (check is null)
            {
                writer.WriteBoolean("verified", false);
                writer.WriteBoolean("skipped", true);
            }
            else
            {
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
            }

            if (ticket is not null)
            {
                writer.WritePropertyName("ticket");
                WriteSuiteDelivery(writer, ticket);
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
        var request = new SendRequest();
        if (!await ReadPropertiesAsync(context, "body must be a JSON object", Accept, TamperHint).ConfigureAwait(false))
        {
            return null;
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

        bool Accept(JsonProperty property)
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
            request = updated ?? request;
            return updated is not null;
        }

        static string TamperHint(string name) => name.Equals("tamper", StringComparison.OrdinalIgnoreCase)
            ? " (null, none, signature, ciphertext, timestamp, receiver or xml)"
            : "";
    }

    /// <summary>Runs a send; answers 200 with its deliveries, 400 for bad input, 404 for an unknown corp or live.</summary>
    private static Task SendAndAnswerAsync(HttpContext context, Func<Task<CallbackSendResult>> send) =>
        RunAndAnswerAsync(context, send, result => WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
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
                WriteDeliveryOutcome(writer, delivery.Status, delivery.Body, delivery.Error, delivery.ElapsedMs);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }));

    /// <summary>A delivery's "status", its answer's "body" (or the "error" when it could not be sent) and "elapsedMs".</summary>
    private static void WriteDeliveryOutcome(Utf8JsonWriter writer, int status, string body, string? error, double elapsedMs)
    {
        writer.WriteNumber("status", status);
        if (error is null)
        {
            writer.WriteString("body", body);
        }
        else
        {
            writer.WriteString("error", error);
        }

        writer.WriteNumber("elapsedMs", elapsedMs);
    }

    /// <summary>
    /// Runs <paramref name="run"/> and answers its result with <paramref name="answer"/>: 400 instead for an
    /// ArgumentException (bad input), 404 for a KeyNotFoundException (an unknown corp, live, suite, callback or authorization).
    /// </summary>
    private static async Task RunAndAnswerAsync<T>(HttpContext context, Func<Task<T>> run, Func<T, Task> answer)
    {
        T result;
        try
        {
            result = await run().ConfigureAwait(false);
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

        await answer(result).ConfigureAwait(false);
    }

    private sealed record SendRequest(int? Status = null, string? CorpId = null, long? CreateTime = null, string? Xml = null,
        int Deliveries = 1, bool Concurrent = false, CallbackTamper Tamper = CallbackTamper.None);

    /// <summary>
    /// GET /sim/suites/{suiteid}: {"suiteId", "callbackRegistered", "authorizedCorpIds", "deliveries"} (404 for an
    /// unknown suite). No secret, ticket or code.
    /// </summary>
    private static Task GetSuiteAsync(HttpContext context, SimulatorState state)
    {
        string suiteId = RouteValue(context, "suiteid");
        if (!state.Suites.SuiteIds.Contains(suiteId, StringComparer.Ordinal))
        {
            return WriteErrorAsync(context, StatusCodes.Status404NotFound, "unknown suite_id " + suiteId);
        }

        return WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("suiteId", suiteId);
            writer.WriteBoolean("callbackRegistered", state.Suites.CallbackUrl(suiteId) is not null);
            writer.WriteStartArray("authorizedCorpIds");
            foreach (var corpId in state.Suites.AuthorizedCorpIds(suiteId))
            {
                writer.WriteStringValue(corpId);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("deliveries");
            foreach (var delivery in state.Suites.Deliveries(suiteId))
            {
                WriteSuiteDelivery(writer, delivery);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    /// <summary>PUT /sim/suites/{suiteid} {"secret": "..."}: adds the suite, or sets its secret.</summary>
    private static async Task PutSuiteAsync(HttpContext context, SimulatorState state)
    {
        string suiteId = RouteValue(context, "suiteid");
        if (await TryReadSecretAsync(context, suiteId, secretOnly: true).ConfigureAwait(false) is not { } secret)
        {
            return;
        }

        state.Suites.SetSuite(suiteId, secret);
        await WriteOkAsync(context).ConfigureAwait(false);
    }

    /// <summary>
    /// PUT /sim/suites/{suiteid}/callback {"url", "token", "encodingAesKey"} [?verify=false]: the URL check (receiveid =
    /// suite_id), then saved, the first suite_ticket pushed and the ticket timer started. 200 {"verified": true,
    /// "status", "elapsedMs", "ticket": {delivery}}; 422 as PUT /sim/callbacks (not saved); 404 for an unknown suite.
    /// </summary>
    private static async Task PutSuiteCallbackAsync(HttpContext context, SimulatorState state)
    {
        string suiteId = RouteValue(context, "suiteid");
        if (await TryReadCallbackBodyAsync(context, withAgentId: false).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        await RunAndAnswerAsync(context,
            () => state.Suites.RegisterAsync(suiteId, body.Url, body.Token, body.EncodingAesKey, body.Verify, context.RequestAborted),
            registered => WriteCheckAsync(context, registered.Check, registered.FirstTicket)).ConfigureAwait(false);
    }

    /// <summary>POST /sim/suites/{suiteid}/ticket: a suite_ticket pushed now; answers the push, not the ticket.</summary>
    private static Task PostSuiteTicketAsync(HttpContext context, SimulatorState state) =>
        SuitePushAsync(context, () => state.Suites.PushTicketAsync(RouteValue(context, "suiteid"), context.RequestAborted));

    /// <summary>
    /// POST /sim/suites/{suiteid}/authorize {"corpid", "corpName"?}, .../change {"corpid"}, .../cancel {"corpid"}:
    /// a corp installs the app (create_auth with a new auth_code), changes or cancels its authorization; answers the push.
    /// </summary>
    private static async Task PostSuiteAuthAsync(HttpContext context, SimulatorState state, string action)
    {
        bool install = action == "authorize";
        string shape = install ? "body must be {\"corpid\": \"...\", \"corpName\": \"...\"}" : "body must be {\"corpid\": \"...\"}";
        string? corpId = null, corpName = null;
        if (!await ReadPropertiesAsync(context, shape, Accept).ConfigureAwait(false))
        {
            return;
        }

        if (string.IsNullOrEmpty(corpId))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, shape).ConfigureAwait(false);
            return;
        }

        string suiteId = RouteValue(context, "suiteid");
        await SuitePushAsync(context, () => action switch
        {
            "authorize" => state.Suites.AuthorizeAsync(suiteId, corpId, corpName, context.RequestAborted),
            "change" => state.Suites.ChangeAuthAsync(suiteId, corpId, context.RequestAborted),
            _ => state.Suites.CancelAuthAsync(suiteId, corpId, context.RequestAborted),
        }).ConfigureAwait(false);

        bool Accept(JsonProperty property)
        {
            var value = property.Value;
            switch (property.Name.ToUpperInvariant())
            {
                case "CORPID" when value.ValueKind == JsonValueKind.String:
                    corpId = value.GetString();
                    return true;
                case "CORPNAME" when install && value.ValueKind is JsonValueKind.String or JsonValueKind.Null:
                    corpName = value.GetString();
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>Runs a push to a suite's instruction callback; answers 200 with its delivery, 400 for bad input, 404 for an unknown suite, callback or authorization.</summary>
    private static Task SuitePushAsync(HttpContext context, Func<Task<SuiteDelivery>> push) =>
        RunAndAnswerAsync(context, push, delivery => WriteJsonAsync(context, StatusCodes.Status200OK, writer => WriteSuiteDelivery(writer, delivery)));

    /// <summary>{"infoType", "corpId"?, "status", "body" or "error", "elapsedMs", "accepted"}: never the ticket or auth_code pushed.</summary>
    private static void WriteSuiteDelivery(Utf8JsonWriter writer, SuiteDelivery delivery)
    {
        writer.WriteStartObject();
        writer.WriteString("infoType", delivery.InfoType);
        if (delivery.CorpId is not null)
        {
            writer.WriteString("corpId", delivery.CorpId);
        }

        WriteDeliveryOutcome(writer, delivery.Status, delivery.Body, delivery.Error, delivery.ElapsedMs);
        writer.WriteBoolean("accepted", delivery.Accepted);
        writer.WriteEndObject();
    }

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

    /// <summary>
    /// Reads the body as a JSON object and hands each property to <paramref name="accept"/>; false once a 400 is written:
    /// <paramref name="shape"/> when the body is not an object, "unknown property or bad value: {name}" (and the
    /// <paramref name="hint"/> for that name) for the first property not accepted.
    /// </summary>
    private static async Task<bool> ReadPropertiesAsync(HttpContext context, string shape, Func<JsonProperty, bool> accept, Func<string, string>? hint = null)
    {
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, shape).ConfigureAwait(false);
            return false;
        }

        foreach (var property in body.RootElement.EnumerateObject())
        {
            if (!accept(property))
            {
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"unknown property or bad value: {property.Name}{hint?.Invoke(property.Name)}").ConfigureAwait(false);
                return false;
            }
        }

        return true;
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
