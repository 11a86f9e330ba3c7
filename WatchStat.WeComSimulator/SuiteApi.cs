using System.Text.Json;

namespace WatchStat.WeComSimulator;

/// <summary>
/// The service provider's APIs of a third-party app (suite): <c>service/get_suite_token</c> (path/90600),
/// <c>service/get_permanent_code</c> (path/90603) and <c>service/get_corp_token</c> (path/90605). They go through
/// <see cref="WeComApi"/>'s pipeline (latency, faults, call counts) without its access_token check: the two that need
/// one take a suite_access_token, checked here. get_permanent_code and get_corp_token answer without errcode on
/// success, as WeCom does. Their rate limits (<see cref="SimulatorOptions.CorpCallsPerMinute"/>, per hour) are kept
/// per suite_id and API, once the suite has authenticated (its secret and ticket, or its suite_access_token).
/// </summary>
internal static class SuiteApi
{
    public const string GetSuiteTokenApi = "service/get_suite_token";
    public const string GetPermanentCodeApi = "service/get_permanent_code";
    public const string GetCorpTokenApi = "service/get_corp_token";

    private static readonly JsonEncodedText ErrCode = JsonEncodedText.Encode("errcode");
    private static readonly JsonEncodedText ErrMsg = JsonEncodedText.Encode("errmsg");
    private static readonly JsonEncodedText SuiteAccessToken = JsonEncodedText.Encode("suite_access_token");
    private static readonly JsonEncodedText AccessToken = JsonEncodedText.Encode("access_token");
    private static readonly JsonEncodedText ExpiresIn = JsonEncodedText.Encode("expires_in");
    private static readonly JsonEncodedText PermanentCode = JsonEncodedText.Encode("permanent_code");
    private static readonly JsonEncodedText AuthCorpInfo = JsonEncodedText.Encode("auth_corp_info");
    private static readonly JsonEncodedText CorpId = JsonEncodedText.Encode("corpid");
    private static readonly JsonEncodedText CorpName = JsonEncodedText.Encode("corp_name");
    private static readonly JsonEncodedText AuthInfo = JsonEncodedText.Encode("auth_info");
    private static readonly JsonEncodedText Agent = JsonEncodedText.Encode("agent");
    private static readonly JsonEncodedText AgentId = JsonEncodedText.Encode("agentid");
    private static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");

    /// <summary>
    /// POST {"suite_id", "suite_secret", "suite_ticket"} → {"errcode": 0, "errmsg": "ok", "suite_access_token", "expires_in"}.
    /// 41021 no suite_id, 40083 unknown suite, 41024 no secret, 40080 wrong secret, 41023 no ticket, 40085 a ticket
    /// this suite was never pushed or pushed longer than <see cref="SimulatorOptions.SuiteTicketLifetimeSeconds"/> ago.
    /// </summary>
    public static async Task GetSuiteTokenAsync(ApiCall call)
    {
        var body = await ReadAsync(call).ConfigureAwait(false);
        if (body.Aborted) return;
        if (body.Root is not { } root)
        {
            await WeComApi.WriteErrorAsync(call, WeComError.DataFormatError).ConfigureAwait(false);
            return;
        }

        var suiteId = Text(root, "suite_id");
        if (string.IsNullOrEmpty(suiteId))
        {
            await WeComApi.WriteErrorAsync(call, WeComError.SuiteIdMissing).ConfigureAwait(false);
            return;
        }

        var suites = call.State.Suites;
        if (suites.CheckSuiteCredentials(suiteId, Text(root, "suite_secret"), Text(root, "suite_ticket")) is { } error)
        {
            await WeComApi.WriteErrorAsync(call, error).ConfigureAwait(false);
            return;
        }

        if (!await WeComApi.AdmitAsync(call, suiteId).ConfigureAwait(false)) return;
        var (token, expiresIn) = suites.IssueSuiteToken(suiteId);
        await WeComApi.WriteAsync(call.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber(ErrCode, 0);
            writer.WriteString(ErrMsg, "ok");
            writer.WriteString(SuiteAccessToken, token);
            writer.WriteNumber(ExpiresIn, expiresIn);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// POST ?suite_access_token= {"auth_code"} → {"access_token", "expires_in", "permanent_code", "auth_corp_info":
    /// {"corpid", "corp_name"}, "auth_info": {"agent": [{"agentid", "name"}]}}. 40029 for an auth_code that is
    /// missing, unknown, another suite's, used or older than ten minutes.
    /// </summary>
    public static async Task GetPermanentCodeAsync(ApiCall call)
    {
        var body = await ReadAsync(call).ConfigureAwait(false);
        if (body.Aborted) return;
        var suiteId = await CheckSuiteTokenAsync(call).ConfigureAwait(false);
        if (suiteId is null || !await WeComApi.AdmitAsync(call, suiteId).ConfigureAwait(false)) return;
        if (body.Root is not { } root)
        {
            await WeComApi.WriteErrorAsync(call, WeComError.DataFormatError).ConfigureAwait(false);
            return;
        }

        var authCode = Text(root, "auth_code");
        if (string.IsNullOrEmpty(authCode) || !call.State.Suites.TryRedeemAuthCode(suiteId, authCode, out var grant))
        {
            await WeComApi.WriteErrorAsync(call, WeComError.InvalidCode).ConfigureAwait(false);
            return;
        }

        call.CorpId = grant.CorpId;
        call.State.Counters.RecordAppCall(call.Api, grant.CorpId);
        var (token, expiresIn) = call.State.IssueToken(grant.CorpId, suiteId);
        call.State.Suites.RecordCorpToken(token);
        await WeComApi.WriteAsync(call.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString(AccessToken, token);
            writer.WriteNumber(ExpiresIn, expiresIn);
            writer.WriteString(PermanentCode, grant.PermanentCode);
            writer.WriteStartObject(AuthCorpInfo);
            RawJson.WriteString(writer, CorpId, grant.CorpId);
            RawJson.WriteString(writer, CorpName, grant.CorpName);
            writer.WriteEndObject();
            writer.WriteStartObject(AuthInfo);
            writer.WriteStartArray(Agent);
            writer.WriteStartObject();
            writer.WriteNumber(AgentId, SuiteSide.AgentId);
            RawJson.WriteString(writer, Name, SuiteSide.AgentName);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// POST ?suite_access_token= {"auth_corpid", "permanent_code"} → {"access_token", "expires_in"}: an access token
    /// of the corp, valid on every API as a gettoken token of that corp. 84054 no auth_corpid, 41025 no
    /// permanent_code, 40084 not the corp's current permanent code of this suite (wrong, another suite's, or the
    /// corp cancelled its authorization). Counted per corp as soon as auth_corpid is read.
    /// </summary>
    public static async Task GetCorpTokenAsync(ApiCall call)
    {
        var body = await ReadAsync(call).ConfigureAwait(false);
        if (body.Aborted) return;
        var corpId = body.Root is { } parsed ? Text(parsed, "auth_corpid") : null;
        if (!string.IsNullOrEmpty(corpId))
        {
            call.CorpId = corpId;
            call.State.Counters.RecordAppCall(call.Api, corpId);
        }

        var suiteId = await CheckSuiteTokenAsync(call).ConfigureAwait(false);
        if (suiteId is null || !await WeComApi.AdmitAsync(call, suiteId).ConfigureAwait(false)) return;
        if (body.Root is not { } root)
        {
            await WeComApi.WriteErrorAsync(call, WeComError.DataFormatError).ConfigureAwait(false);
            return;
        }

        if (string.IsNullOrEmpty(corpId))
        {
            await WeComApi.WriteErrorAsync(call, WeComError.AuthCorpIdMissing).ConfigureAwait(false);
            return;
        }

        var permanentCode = Text(root, "permanent_code");
        if (string.IsNullOrEmpty(permanentCode))
        {
            await WeComApi.WriteErrorAsync(call, WeComError.PermanentCodeMissing).ConfigureAwait(false);
            return;
        }

        if (!call.State.Suites.CheckPermanentCode(suiteId, corpId, permanentCode))
        {
            await WeComApi.WriteErrorAsync(call, WeComError.InvalidPermanentCode).ConfigureAwait(false);
            return;
        }

        var (token, expiresIn) = call.State.IssueToken(corpId, suiteId);
        call.State.Suites.RecordCorpToken(token);
        await WeComApi.WriteAsync(call.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString(AccessToken, token);
            writer.WriteNumber(ExpiresIn, expiresIn);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>The suite of the call's suite_access_token; null once 41022, 40082 or 42009 is written.</summary>
    private static async Task<string?> CheckSuiteTokenAsync(ApiCall call)
    {
        string? token = call.Context.Request.Query["suite_access_token"];
        WeComError? error;
        string? suiteId = null;
        if (string.IsNullOrEmpty(token))
        {
            error = WeComError.SuiteTokenMissing;
        }
        else
        {
            error = call.State.Suites.CheckSuiteToken(token, out suiteId) switch
            {
                TokenCheck.Valid => null,
                TokenCheck.Expired => WeComError.SuiteTokenExpired,
                _ => WeComError.InvalidSuiteToken,
            };
        }

        if (error is null) return suiteId;
        await WeComApi.WriteErrorAsync(call, error).ConfigureAwait(false);
        return null;
    }

    /// <summary>The body as a JSON object (Root null when it is not one), or Aborted when the client went away.</summary>
    private static async Task<(JsonElement? Root, bool Aborted)> ReadAsync(ApiCall call)
    {
        try
        {
            using var body = await JsonDocument.ParseAsync(call.Context.Request.Body, default, call.Context.RequestAborted).ConfigureAwait(false);
            return body.RootElement.ValueKind == JsonValueKind.Object ? (body.RootElement.Clone(), false) : (null, false);
        }
        catch (JsonException)
        {
            return (null, false);
        }
        catch (OperationCanceledException) when (call.Context.RequestAborted.IsCancellationRequested)
        {
            return (null, true);
        }
    }

    /// <summary>A string property; null when missing or of another kind (a number where WeCom wants a string counts as missing).</summary>
    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
