using System.Buffers;
using System.Diagnostics;
using System.Text.Json;

namespace WatchStat.WeComSimulator;

/// <summary>A WeCom answer with a non-zero errcode.</summary>
internal sealed record WeComError(int Code, string Message)
{
    public static readonly WeComError InvalidCredential = new(40001, "invalid credential");
    public static readonly WeComError InvalidCorpId = new(40013, "invalid corpid");
    public static readonly WeComError InvalidAccessToken = new(40014, "invalid access_token");
    public static readonly WeComError InvalidLivingId = new(40058, "invalid livingid");
    public static readonly WeComError InvalidNextKey = new(40058, "invalid next_key");
    public static readonly WeComError AccessTokenMissing = new(41001, "access_token missing");
    public static readonly WeComError CorpIdMissing = new(41002, "corpid missing");
    public static readonly WeComError CorpSecretMissing = new(41004, "corpsecret missing");
    public static readonly WeComError FrequencyLimit = new(45009, "api freq out of limit");
    public static readonly WeComError AccessTokenExpired = new(42001, "access_token expired, more info at https://open.work.weixin.qq.com/devtool/query?e=42001");
    public static readonly WeComError DataFormatError = new(47001, "data format error");
    public static readonly WeComError AuthRelationInvalid = new(48004, "auth relation invalid");
    public static readonly WeComError InvalidCode = new(40029, "invalid code");
    public static readonly WeComError InvalidSuiteSecret = new(40080, "invalid suite_secret");
    public static readonly WeComError InvalidSuiteToken = new(40082, "invalid suite_token");
    public static readonly WeComError InvalidSuiteId = new(40083, "invalid suite_id");
    public static readonly WeComError InvalidPermanentCode = new(40084, "invalid permanent_code");
    public static readonly WeComError InvalidSuiteTicket = new(40085, "invalid suite_ticket");
    public static readonly WeComError SuiteIdMissing = new(41021, "suite_id missing");
    public static readonly WeComError SuiteTokenMissing = new(41022, "suite_access_token missing");
    public static readonly WeComError SuiteTicketMissing = new(41023, "suite_ticket missing");
    public static readonly WeComError SuiteSecretMissing = new(41024, "suite_secret missing");
    public static readonly WeComError PermanentCodeMissing = new(41025, "permanent_code missing");
    public static readonly WeComError SuiteTokenExpired = new(42009, "suite_access_token expired");
    public static readonly WeComError AuthCorpIdMissing = new(84054, "auth_corpid missing");
}

/// <summary>One call to a WeCom API, as it goes through <see cref="WeComApi"/>'s pipeline.</summary>
internal sealed class ApiCall(HttpContext context, SimulatorState state, string api)
{
    public HttpContext Context { get; } = context;

    public SimulatorState State { get; } = state;

    /// <summary>"gettoken", "living/get_watch_stat", ...</summary>
    public string Api { get; } = api;

    /// <summary>corpid of the access token used (set by the pipeline for token-protected APIs, also when the token has expired).</summary>
    public string? CorpId { get; set; }

    /// <summary>When the call reached the simulator's endpoint (<see cref="Stopwatch.GetTimestamp"/>), before any latency.</summary>
    public long Arrived { get; } = Stopwatch.GetTimestamp();
}

/// <summary>The WeCom-shaped endpoints under /cgi-bin/ and the pipeline every one of them goes through.</summary>
internal static class WeComApi
{
    public const string GetTokenApi = "gettoken";
    public const string GetWatchStatApi = "living/get_watch_stat";
    public const string GetUserAllLivingIdApi = "living/get_user_all_livingid";
    public const string GetLivingInfoApi = "living/get_living_info";

    private const string JsonContentType = "application/json; charset=utf-8";

    private static readonly JsonEncodedText ErrCode = JsonEncodedText.Encode("errcode");
    private static readonly JsonEncodedText ErrMsg = JsonEncodedText.Encode("errmsg");
    private static readonly JsonEncodedText Ok = JsonEncodedText.Encode("ok");
    private static readonly JsonEncodedText AccessToken = JsonEncodedText.Encode("access_token");
    private static readonly JsonEncodedText ExpiresIn = JsonEncodedText.Encode("expires_in");
    private static readonly JsonEncodedText Ending = JsonEncodedText.Encode("ending");
    private static readonly JsonEncodedText NextKeyName = JsonEncodedText.Encode("next_key");
    private static readonly JsonEncodedText StatInfo = JsonEncodedText.Encode("stat_info");
    private static readonly JsonEncodedText Users = JsonEncodedText.Encode("users");
    private static readonly JsonEncodedText ExternalUsers = JsonEncodedText.Encode("external_users");
    private static readonly JsonEncodedText UserId = JsonEncodedText.Encode("userid");
    private static readonly JsonEncodedText ExternalUserId = JsonEncodedText.Encode("external_userid");
    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText WatchTime = JsonEncodedText.Encode("watch_time");
    private static readonly JsonEncodedText IsComment = JsonEncodedText.Encode("is_comment");
    private static readonly JsonEncodedText IsMic = JsonEncodedText.Encode("is_mic");
    private static readonly JsonEncodedText InvitorUserId = JsonEncodedText.Encode("invitor_userid");
    private static readonly JsonEncodedText InvitorExternalUserId = JsonEncodedText.Encode("invitor_external_userid");

    public static void Map(WebApplication app, SimulatorState state)
    {
        MapApi(app, state, HttpMethods.Get, GetTokenApi, requiresToken: false, GetTokenAsync);
        MapApi(app, state, HttpMethods.Post, GetWatchStatApi, requiresToken: true, GetWatchStatAsync);
        MapApi(app, state, HttpMethods.Post, GetUserAllLivingIdApi, requiresToken: true, DiscoveryApi.GetUserAllLivingIdAsync);
        MapApi(app, state, HttpMethods.Get, GetLivingInfoApi, requiresToken: true, DiscoveryApi.GetLivingInfoAsync);
        MapApi(app, state, HttpMethods.Post, SuiteApi.GetSuiteTokenApi, requiresToken: false, SuiteApi.GetSuiteTokenAsync);
        MapApi(app, state, HttpMethods.Post, SuiteApi.GetPermanentCodeApi, requiresToken: false, SuiteApi.GetPermanentCodeAsync);
        MapApi(app, state, HttpMethods.Post, SuiteApi.GetCorpTokenApi, requiresToken: false, SuiteApi.GetCorpTokenAsync);
    }

    /// <summary>Maps /cgi-bin/{api} through the pipeline.</summary>
    private static void MapApi(WebApplication app, SimulatorState state, string method, string api, bool requiresToken, Func<ApiCall, Task> handler)
    {
        RequestDelegate endpoint = context => RunAsync(new ApiCall(context, state, api), requiresToken, handler);
        app.MapMethods("/cgi-bin/" + api, [method], endpoint);
    }

    /// <summary>
    /// Waits until <paramref name="latency"/> has passed since <paramref name="since"/>, to the millisecond. Task.Delay
    /// alone runs about 2 ms late (its timer queue counts whole milliseconds and rounds up), which would add 4% to
    /// a 50 ms latency; so it waits all but the last few milliseconds and sleeps the rest precisely.
    /// </summary>
    private static async Task WaitUntilAsync(long since, TimeSpan latency, CancellationToken cancellationToken)
    {
        var coarse = latency - Stopwatch.GetElapsedTime(since) - TimeSpan.FromMilliseconds(3);
        if (coarse > TimeSpan.Zero) await Task.Delay(coarse, cancellationToken).ConfigureAwait(false);
        var rest = latency - Stopwatch.GetElapsedTime(since);
        if (rest > TimeSpan.Zero) Thread.Sleep(rest);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// The pipeline of every WeCom API call: count the call, wait the configured latency, ask the fault-injection hook,
    /// resolve the access_token (count per app), answer token errors, charge the call to its corp's rate limits
    /// (<see cref="AdmitAsync"/>), then run the API's handler. APIs without an access_token (gettoken, service/*)
    /// call <see cref="AdmitAsync"/> themselves once their caller has authenticated.
    /// </summary>
    private static async Task RunAsync(ApiCall call, bool requiresToken, Func<ApiCall, Task> handler)
    {
        var context = call.Context;
        call.State.Counters.RecordCall(call.Api);
        int latency = call.State.Options.LatencyMilliseconds;
        if (latency > 0)
        {
            try
            {
                await WaitUntilAsync(call.Arrived, TimeSpan.FromMilliseconds(latency), context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
        }

        if (call.State.Faults.Pick(call.Api) is { } fault)
        {
            if (await InjectAsync(call, fault.Kind, fault.Rule).ConfigureAwait(false)) return;
        }

        WeComError? tokenError = null;
        if (requiresToken)
        {
            string? token = context.Request.Query["access_token"];
            if (string.IsNullOrEmpty(token))
            {
                tokenError = WeComError.AccessTokenMissing;
            }
            else
            {
                var check = call.State.CheckToken(token, out string? corpId);
                call.CorpId = corpId;
                tokenError = check switch
                {
                    TokenCheck.Unknown => WeComError.InvalidAccessToken,
                    TokenCheck.Expired => WeComError.AccessTokenExpired,
                    TokenCheck.AuthCancelled => WeComError.AuthRelationInvalid,
                    _ => null,
                };
                if (corpId is not null)
                {
                    call.State.Counters.RecordAppCall(call.Api, corpId);
                }
            }
        }

        if (tokenError is not null)
        {
            await WriteErrorAsync(call, tokenError).ConfigureAwait(false);
            return;
        }

        if (requiresToken && call.CorpId is { } corp && !await AdmitAsync(call, corp).ConfigureAwait(false))
        {
            return;
        }

        await handler(call).ConfigureAwait(false);
    }

    /// <summary>
    /// Charges the call to <paramref name="corpKey"/>'s budget of <see cref="ApiCall.Api"/>
    /// (<see cref="SimulatorOptions.CorpCallsPerMinute"/>, <see cref="SimulatorOptions.CorpCallsPerHour"/>); true when
    /// it may run. Over a limit: answers 45009 "api freq out of limit" (counted as an error and in
    /// <see cref="SimulatorCounters.RateLimited"/>) and false; the refused call uses up no budget. Only calls that
    /// authenticated get here, so a caller with a wrong secret or token cannot use up a corp's budget.
    /// </summary>
    internal static async Task<bool> AdmitAsync(ApiCall call, string corpKey)
    {
        if (call.State.RateLimits.TryAdmit(corpKey, call.Api) is not { } refusedBy)
        {
            return true;
        }

        call.State.Counters.RecordRateLimited(corpKey, call.Api, refusedBy);
        await WriteErrorAsync(call, WeComError.FrequencyLimit).ConfigureAwait(false);
        return false;
    }

    /// <summary>Answers a call as the fault says; false when the call should go on (a slow answer, after its delay).</summary>
    private static async Task<bool> InjectAsync(ApiCall call, FaultKind kind, FaultRule rule)
    {
        var context = call.Context;
        Task WriteErrorAsync(ApiCall to, WeComError error) => WeComApi.WriteErrorAsync(to, rule.ErrMsg is { } message ? new WeComError(error.Code, message) : error);
        switch (kind)
        {
            case FaultKind.SystemBusy: await WriteErrorAsync(call, new WeComError(-1, "system busy")).ConfigureAwait(false); return true;
            case FaultKind.FrequencyLimit: await WriteErrorAsync(call, WeComError.FrequencyLimit).ConfigureAwait(false); return true;
            case FaultKind.ConcurrencyLimit: await WriteErrorAsync(call, new WeComError(45033, "api concurrent out of limit")).ConfigureAwait(false); return true;
            case FaultKind.InvalidToken: await WriteErrorAsync(call, WeComError.InvalidAccessToken).ConfigureAwait(false); return true;
            case FaultKind.TokenExpired: await WriteErrorAsync(call, WeComError.AccessTokenExpired).ConfigureAwait(false); return true;
            case FaultKind.IpNotTrusted: await WriteErrorAsync(call, new WeComError(60020, "not allow to access from your ip, from ip: 203.0.113.7")).ConfigureAwait(false); return true;
            case FaultKind.InvalidCorpId: await WriteErrorAsync(call, WeComError.InvalidCorpId).ConfigureAwait(false); return true;
            case FaultKind.Http500 or FaultKind.Http502 or FaultKind.Http504:
                var status = kind switch { FaultKind.Http500 => 500, FaultKind.Http502 => 502, _ => 504 };
                await WriteRawAsync(context, status, "text/html; charset=utf-8",
                    $"<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center><hr><center>nginx</center></body></html>").ConfigureAwait(false);
                return true;
            case FaultKind.TruncatedJson:
                await WriteRawAsync(context, 200, JsonContentType, "{\"errcode\":0,\"errmsg\":\"ok\",\"ending\":0,\"next_key\":\"nk_").ConfigureAwait(false);
                return true;
            case FaultKind.InvalidJson:
                await WriteRawAsync(context, 200, JsonContentType, "<html><body>upstream error</body></html>").ConfigureAwait(false);
                return true;
            case FaultKind.CloseConnection:
                context.Abort();
                return true;
            case FaultKind.Slow:
                try
                {
                    await Task.Delay(rule.SlowMilliseconds, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    return true;
                }
                return false;
            default:
                return false;
        }
    }

    private static async Task WriteRawAsync(HttpContext context, int status, string contentType, string body)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = bytes.Length;
        try
        {
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static async Task GetTokenAsync(ApiCall call)
    {
        var query = call.Context.Request.Query;
        string? corpId = query["corpid"];
        string? secret = query["corpsecret"];
        if (string.IsNullOrEmpty(corpId))
        {
            await WriteErrorAsync(call, WeComError.CorpIdMissing).ConfigureAwait(false);
            return;
        }

        call.CorpId = corpId;
        call.State.Counters.RecordAppCall(call.Api, corpId);
        if (string.IsNullOrEmpty(secret))
        {
            await WriteErrorAsync(call, WeComError.CorpSecretMissing).ConfigureAwait(false);
            return;
        }

        var error = call.State.CheckApp(corpId, secret) switch
        {
            AppCheck.UnknownCorpId => WeComError.InvalidCorpId,
            AppCheck.WrongSecret => WeComError.InvalidCredential,
            _ => null,
        };
        if (error is not null)
        {
            await WriteErrorAsync(call, error).ConfigureAwait(false);
            return;
        }

        if (!await AdmitAsync(call, corpId).ConfigureAwait(false))
        {
            return;
        }

        var (token, expiresIn) = call.State.IssueToken(corpId);
        await WriteAsync(call.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber(ErrCode, 0);
            writer.WriteString(ErrMsg, Ok);
            writer.WriteString(AccessToken, token);
            writer.WriteNumber(ExpiresIn, expiresIn);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static async Task GetWatchStatAsync(ApiCall call)
    {
        string? livingId;
        string? nextKey;
        try
        {
            using var body = await JsonDocument.ParseAsync(call.Context.Request.Body, default, call.Context.RequestAborted).ConfigureAwait(false);
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                await WriteErrorAsync(call, WeComError.DataFormatError).ConfigureAwait(false);
                return;
            }

            livingId = body.RootElement.TryGetProperty("livingid", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString() : null;
            nextKey = body.RootElement.TryGetProperty("next_key", out var k)
                ? k.ValueKind switch
                {
                    JsonValueKind.String => k.GetString(),
                    JsonValueKind.Number => k.GetRawText(), // older SDKs send next_key as a number: 0 still means start
                    JsonValueKind.Null => null,
                    _ => "\u0000not a key",
                }
                : null;
        }
        catch (JsonException)
        {
            await WriteErrorAsync(call, WeComError.DataFormatError).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (call.Context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var live = string.IsNullOrEmpty(livingId) ? null : call.State.FindLive(livingId, call.CorpId);
        if (live is null)
        {
            await WriteErrorAsync(call, WeComError.InvalidLivingId).ConfigureAwait(false);
            return;
        }

        PageCursor cursor;
        if (NextKey.IsStart(nextKey))
        {
            cursor = PageCursor.Start;
        }
        else if (!NextKey.TryDecode(live, nextKey!, out cursor))
        {
            await WriteErrorAsync(call, WeComError.InvalidNextKey).ConfigureAwait(false);
            return;
        }

        int pageSize = Math.Max(1, live.Spec.PageSize ?? call.State.Options.PageSize);
        var plan = live.PlanPage(cursor, pageSize);
        string answerKey = plan.Kind == PageKind.Stuck ? nextKey ?? "0" : NextKey.Encode(live, plan.Next);
        await WriteAsync(call.Context, writer => WriteWatchStat(writer, live, plan, answerKey)).ConfigureAwait(false);
        call.State.Counters.RecordWatchStat(new WatchStatCall(live.LivingId, call.Arrived, Stopwatch.GetTimestamp(), plan.Ending));
    }

    private static void WriteWatchStat(Utf8JsonWriter writer, SimulatedLive live, PagePlan plan, string nextKey)
    {
        writer.WriteStartObject();
        writer.WriteNumber(ErrCode, 0);
        writer.WriteString(ErrMsg, Ok);
        writer.WriteNumber(Ending, plan.Ending ? 1 : 0);
        RawJson.WriteString(writer, NextKeyName, nextKey);
        writer.WriteStartObject(StatInfo);
        for (int pass = 0; pass < 2; pass++)
        {
            bool members = pass == 0;
            writer.WriteStartArray(members ? Users : ExternalUsers);
            if (plan.RepeatAcrossPosition >= 0 && live.IsMemberAt(plan.RepeatAcrossPosition) == members)
            {
                WriteViewer(writer, live.ViewerAt(plan.RepeatAcrossPosition));
            }

            for (int position = plan.Start; position < plan.End; position++)
            {
                if (live.IsMemberAt(position) == members)
                {
                    WriteViewer(writer, live.ViewerAt(position));
                }
            }

            if (plan.RepeatWithinPosition >= 0 && live.IsMemberAt(plan.RepeatWithinPosition) == members)
            {
                WriteViewer(writer, live.ViewerAt(plan.RepeatWithinPosition));
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteViewer(Utf8JsonWriter writer, SimulatedViewer viewer)
    {
        writer.WriteStartObject();
        if (viewer.IsMember)
        {
            RawJson.WriteString(writer, UserId, viewer.Id);
        }
        else
        {
            RawJson.WriteString(writer, ExternalUserId, viewer.Id);
            writer.WriteNumber(TypeName, viewer.Type);
            RawJson.WriteString(writer, Name, viewer.Name ?? "");
        }

        writer.WriteNumber(WatchTime, viewer.WatchTime);
        writer.WriteNumber(IsComment, viewer.IsComment);
        writer.WriteNumber(IsMic, viewer.IsMic);
        if (viewer.InvitorUserId is not null)
        {
            RawJson.WriteString(writer, InvitorUserId, viewer.InvitorUserId);
        }

        if (viewer.InvitorExternalUserId is not null)
        {
            RawJson.WriteString(writer, InvitorExternalUserId, viewer.InvitorExternalUserId);
        }

        writer.WriteEndObject();
    }

    /// <summary>Answers {"errcode":code,"errmsg":message} (HTTP 200) and counts the error.</summary>
    internal static Task WriteErrorAsync(ApiCall call, WeComError error)
    {
        call.State.Counters.RecordError(error.Code);
        return WriteAsync(call.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber(ErrCode, error.Code);
            RawJson.WriteString(writer, ErrMsg, error.Message);
            writer.WriteEndObject();
        });
    }

    /// <summary>Answers HTTP 200, application/json; charset=utf-8, with a Content-Length.</summary>
    internal static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonContentType;
        response.ContentLength = buffer.WrittenCount;
        try
        {
            await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
    }
}
