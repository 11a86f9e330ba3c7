using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Polly.Timeout;
using WatchStat.Secrets;
using WatchStat.Telemetry;
using WatchStat.WeCom.Suites;

namespace WatchStat.WeCom;

/// <summary>
/// Typed client for WeCom's server API. Every call goes through the token cache; a token WeCom rejects
/// (40014, 42001) is dropped, fetched again and the call retried once. Failures become <see cref="WeComException"/>.
/// URIs carry the access token in their query, so they are never logged: log lines name the API only.
/// </summary>
public sealed partial class WeComClient(
    HttpClient http,
    AccessTokenCache tokens,
    IWeComSecretSource secrets,
    SuiteVault vault,
    WeComBudget budget,
    WatchStatMetrics metrics,
    ILogger<WeComClient> logger)
{
    public const string GetTokenApi = "gettoken";
    public const string GetWatchStatApi = "living/get_watch_stat";
    public const string GetUserAllLivingIdApi = "living/get_user_all_livingid";
    public const string GetLivingInfoApi = "living/get_living_info";
    public const string GetSuiteTokenApi = "service/get_suite_token";
    public const string GetPermanentCodeApi = "service/get_permanent_code";
    public const string GetCorpTokenApi = "service/get_corp_token";

    /// <summary>Most lives one get_user_all_livingid page may list.</summary>
    public const int MaxLivingIdsPerPage = 100;

    /// <summary>One page of a live's watch detail. <paramref name="nextKey"/> is "0" for the first page.</summary>
    public Task<WatchStatResult> GetWatchStatAsync(WeComApp app, string corpId, string livingId, string nextKey, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new WatchStatRequest(livingId, nextKey), WeComJsonContext.Default.WatchStatRequest);
        return CallAsync(app, corpId, GetWatchStatApi, token => PostJson(GetWatchStatApi, token, body), WeComJsonContext.Default.WatchStatResult, cancellationToken);
    }

    /// <summary>Every live the app created for an anchor, following <c>next_cursor</c> until it comes back empty.</summary>
    public async Task<IReadOnlyList<string>> ListLivingIdsAsync(WeComApp app, string corpId, string anchorUserId, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        var seenCursors = new HashSet<string>(StringComparer.Ordinal);
        var cursor = "";
        do
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new UserAllLivingIdRequest(anchorUserId, cursor, MaxLivingIdsPerPage), WeComJsonContext.Default.UserAllLivingIdRequest);
            var page = await CallAsync(app, corpId, GetUserAllLivingIdApi, token => PostJson(GetUserAllLivingIdApi, token, body), WeComJsonContext.Default.UserAllLivingIdResult, cancellationToken)
                .ConfigureAwait(false);
            ids.AddRange(page.LivingIds ?? []);
            cursor = page.NextCursor ?? "";
            if (cursor.Length > 0 && !seenCursors.Add(cursor))
                throw WeComException.Transport(GetUserAllLivingIdApi, $"next_cursor repeated for anchor '{anchorUserId}'; stopped instead of looping.");
        }
        while (cursor.Length > 0);
        return ids;
    }

    /// <summary>A live's details (theme, times, status, counts, replay).</summary>
    public async Task<LivingInfo> GetLivingInfoAsync(WeComApp app, string corpId, string livingId, CancellationToken cancellationToken)
    {
        var query = $"&livingid={Uri.EscapeDataString(livingId)}";
        var result = await CallAsync(app, corpId, GetLivingInfoApi,
            token => new HttpRequestMessage(HttpMethod.Get, $"cgi-bin/{GetLivingInfoApi}?access_token={Uri.EscapeDataString(token)}{query}"),
            WeComJsonContext.Default.LivingInfoResult, cancellationToken).ConfigureAwait(false);
        return result.LivingInfo ?? throw WeComException.Transport(GetLivingInfoApi, "the answer has errcode 0 but no living_info.");
    }

    /// <summary>
    /// One API call with the token of the app in the corp. A token WeCom rejects (40014, 42001) is dropped and fetched
    /// again, and a credential it rejects (40001 a secret, 40084 a permanent code: maybe rotated or re-authorized) is
    /// read again from its source; each at most once per call.
    /// </summary>
    private async Task<T> CallAsync<T>(
        WeComApp app, string corpId, string api, Func<string, HttpRequestMessage> request, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : WeComResult
    {
        var credentialReread = false;
        var tokenRefetched = false;
        while (true)
        {
            var credential = await CredentialAsync(app, corpId, cancellationToken).ConfigureAwait(false);
            AccessToken token;
            try
            {
                token = await tokens.GetAsync(corpId, credential, ct => FetchTokenAsync(app, corpId, credential, ct), cancellationToken).ConfigureAwait(false);
            }
            catch (WeComException ex) when (ex.Kind == WeComErrorKind.InvalidSecret)
            {
                if (credentialReread)
                {
                    throw new WeComException(ex.Api, ex.ErrCode, ex.ErrMsg, ex.Kind,
                        $"{ex.Message} WeCom rejected the credential of app '{app.Name}' for corp {corpId} again after it was read anew from {DescribeCredential(app, corpId)}.", ex);
                }
                LogSecretRejected(app.Name, DescribeCredential(app, corpId));
                if (app.IsInstalled) vault.InvalidatePermanentCode(app, corpId, credential);
                else secrets.Invalidate(app, AppSecretKind.Secret, credential);
                credentialReread = true;
                continue;
            }

            var result = await SendAsync(corpId, api, request(token.Value), type, cancellationToken).ConfigureAwait(false);
            if (result.ErrCode != 0 && WeComException.Classify(result.ErrCode) == WeComErrorKind.TokenRejected && !tokenRefetched)
            {
                LogTokenRejected(api, result.ErrCode, app.Name);
                tokens.Invalidate(corpId, credential, token);
                tokenRefetched = true;
                continue;
            }
            return result.ErrCode == 0 ? result : throw WeComException.FromResult(api, result.ErrCode, result.ErrMsg);
        }
    }

    /// <summary>
    /// What the app gets a corp's token with: a custom app's secret, an agent-developed app's permanent code (its
    /// secret, configured), or, for an app corps install, the permanent code the corp's authorization gave.
    /// </summary>
    private async ValueTask<string> CredentialAsync(WeComApp app, string corpId, CancellationToken cancellationToken)
    {
        if (!app.IsInstalled) return await secrets.GetSecretAsync(app, AppSecretKind.Secret, cancellationToken).ConfigureAwait(false);
        return await vault.GetPermanentCodeAsync(app, corpId, cancellationToken).ConfigureAwait(false)
            ?? throw new WeComException(app.Kind == WeComAppKind.ThirdParty ? GetCorpTokenApi : GetTokenApi, null, null, WeComErrorKind.NotAuthorized,
                $"Corp {corpId} has not authorized WeCom app '{app.Name}': there is no permanent code for it ({DescribeCredential(app, corpId)}). "
                + "It is kept when WeCom's create_auth reaches the suite's callback, and removed on cancel_auth.");
    }

    private string DescribeCredential(WeComApp app, string corpId) => app.IsInstalled
        ? $"Key Vault secret '{SuiteVault.PermanentCodeSecretName(app, corpId)}'"
        : secrets.Describe(app, AppSecretKind.Secret);

    /// <summary>
    /// A corp's access token: <c>gettoken</c> with the corpid and the credential (custom and agent-developed apps),
    /// or <c>service/get_corp_token</c> with the suite access token and the corp's permanent code (third-party apps).
    /// </summary>
    private async Task<(string, TimeSpan)> FetchTokenAsync(WeComApp app, string corpId, string credential, CancellationToken cancellationToken)
    {
        TokenResult result;
        string api;
        if (app.Kind == WeComAppKind.ThirdParty)
        {
            api = GetCorpTokenApi;
            var body = JsonSerializer.SerializeToUtf8Bytes(new CorpTokenRequest(corpId, credential), WeComJsonContext.Default.CorpTokenRequest);
            result = await CallSuiteAsync(app, GetCorpTokenApi, body, WeComJsonContext.Default.TokenResult, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            api = GetTokenApi;
            var uri = $"cgi-bin/{GetTokenApi}?corpid={Uri.EscapeDataString(corpId)}&corpsecret={Uri.EscapeDataString(credential)}";
            result = await SendAsync(corpId, GetTokenApi, new HttpRequestMessage(HttpMethod.Get, uri), WeComJsonContext.Default.TokenResult, cancellationToken)
                .ConfigureAwait(false);
        }
        if (result.ErrCode != 0) throw WeComException.FromResult(api, result.ErrCode, result.ErrMsg);
        if (string.IsNullOrEmpty(result.AccessToken))
            throw WeComException.Transport(api, "the answer has errcode 0 but no access_token.");
        // expires_in is normally 7200 s; an answer without it is taken at that.
        var lifetime = TimeSpan.FromSeconds(result.ExpiresIn > 0 ? result.ExpiresIn : 7200);
        LogTokenFetched(app.Name, corpId, (int)lifetime.TotalSeconds);
        return (result.AccessToken, lifetime);
    }

    /// <summary>
    /// The corp that authorized a suite app and its permanent code, from the temporary auth code of its create_auth
    /// event (<c>service/get_permanent_code</c>). The auth code works once: a second delivery of the same event fails.
    /// </summary>
    public async Task<(string CorpId, string? CorpName, string PermanentCode)> GetPermanentCodeAsync(WeComApp app, string authCode, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new PermanentCodeRequest(authCode), WeComJsonContext.Default.PermanentCodeRequest);
        var result = await CallSuiteAsync(app, GetPermanentCodeApi, body, WeComJsonContext.Default.PermanentCodeResult, cancellationToken).ConfigureAwait(false);
        if (result.ErrCode != 0) throw WeComException.FromResult(GetPermanentCodeApi, result.ErrCode, result.ErrMsg);
        if (string.IsNullOrEmpty(result.PermanentCode) || result.AuthCorpInfo?.CorpId is not { Length: > 0 } corpId)
            throw WeComException.Transport(GetPermanentCodeApi, "the answer has no permanent_code or auth_corp_info.corpid.");
        return (corpId, result.AuthCorpInfo.CorpName, result.PermanentCode);
    }

    /// <summary>A call with the suite access token (<c>?suite_access_token=</c>), fetched again once if WeCom rejects it (40082, 42009).</summary>
    private async Task<T> CallSuiteAsync<T>(WeComApp app, string api, byte[] body, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : WeComResult
    {
        var refetched = false;
        while (true)
        {
            var (suiteSecret, token) = await SuiteTokenAsync(app, cancellationToken).ConfigureAwait(false);
            var request = new HttpRequestMessage(HttpMethod.Post, $"cgi-bin/{api}?suite_access_token={Uri.EscapeDataString(token.Value)}")
            {
                Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") { CharSet = "utf-8" } } },
            };
            var result = await SendAsync(SuiteScope(app), api, request, type, cancellationToken).ConfigureAwait(false);
            if (result.ErrCode != 0 && WeComException.Classify(result.ErrCode) == WeComErrorKind.SuiteTokenRejected && !refetched)
            {
                LogTokenRejected(api, result.ErrCode, app.Name);
                tokens.Invalidate(SuiteScope(app), suiteSecret, token);
                refetched = true;
                continue;
            }
            return result;
        }
    }

    /// <summary>
    /// The suite access token, from the same single-flight, early-renewing cache as corps' tokens (keyed by the
    /// suite, which no corpid can be taken for). Fetching it takes the latest suite_ticket: with none yet, or one WeCom
    /// no longer accepts, the call waits for WeCom's next push (<see cref="WeComErrorKind.AwaitingSuiteTicket"/>).
    /// </summary>
    private async Task<(string SuiteSecret, AccessToken Token)> SuiteTokenAsync(WeComApp app, CancellationToken cancellationToken)
    {
        var suiteSecret = await secrets.GetSecretAsync(app, AppSecretKind.SuiteSecret, cancellationToken).ConfigureAwait(false);
        var token = await tokens.GetAsync(SuiteScope(app), suiteSecret, async ct =>
        {
            var ticket = await vault.GetTicketAsync(app, ct).ConfigureAwait(false)
                ?? throw new WeComException(GetSuiteTokenApi, null, null, WeComErrorKind.AwaitingSuiteTicket,
                    $"No suite_ticket has arrived yet for WeCom app '{app.Name}' (suite {app.SuiteId}): WeCom pushes one every 10 minutes to the "
                    + "suite's callback URL (/api/wecom/callback/" + app.Name + ") once that URL is verified in the service-provider console. "
                    + "Runs waiting for it go on when it arrives.");
            var body = JsonSerializer.SerializeToUtf8Bytes(new SuiteTokenRequest(app.SuiteId!, suiteSecret, ticket), WeComJsonContext.Default.SuiteTokenRequest);
            var request = new HttpRequestMessage(HttpMethod.Post, $"cgi-bin/{GetSuiteTokenApi}")
            {
                Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") { CharSet = "utf-8" } } },
            };
            var result = await SendAsync(SuiteScope(app), GetSuiteTokenApi, request, WeComJsonContext.Default.SuiteTokenResult, ct).ConfigureAwait(false);
            if (result.ErrCode != 0) throw WeComException.FromResult(GetSuiteTokenApi, result.ErrCode, result.ErrMsg);
            if (string.IsNullOrEmpty(result.SuiteAccessToken))
                throw WeComException.Transport(GetSuiteTokenApi, "the answer has errcode 0 but no suite_access_token.");
            var lifetime = TimeSpan.FromSeconds(result.ExpiresIn > 0 ? result.ExpiresIn : 7200);
            LogSuiteTokenFetched(app.Name, (int)lifetime.TotalSeconds);
            return (result.SuiteAccessToken, lifetime);
        }, cancellationToken).ConfigureAwait(false);
        return (suiteSecret, token);
    }

    /// <summary>The token cache's and rate limiter's key of a suite: "suite:" and its id, which no corpid can be.</summary>
    private static string SuiteScope(WeComApp app) => "suite:" + app.SuiteId;

    private static HttpRequestMessage PostJson(string api, string token, byte[] body) =>
        new(HttpMethod.Post, $"cgi-bin/{api}?access_token={Uri.EscapeDataString(token)}")
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") { CharSet = "utf-8" } } },
        };

    private async Task<T> SendAsync<T>(string corpId, string api, HttpRequestMessage request, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : WeComResult
    {
        var started = Stopwatch.GetTimestamp();
        request.Options.Set(WeComRateLimitHandler.CorpIdKey, corpId);
        using (request)
        {
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                metrics.WeComCall(api, null, Stopwatch.GetElapsedTime(started));
                throw WeComException.Transport(api, $"the request failed ({ex.HttpRequestError}).", ex);
            }
            catch (TimeoutRejectedException ex)
            {
                metrics.WeComCall(api, null, Stopwatch.GetElapsedTime(started));
                throw WeComException.Transport(api, $"no answer within {ex.Timeout.TotalSeconds:0} s.", ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw WeComException.Transport(api, $"no answer within {http.Timeout.TotalSeconds:0} s.", ex);
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode)
                    throw WeComException.Transport(api, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
                T? result;
                try
                {
                    result = await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false);
                }
                catch (JsonException ex)
                {
                    throw WeComException.Transport(api, "the answer is not the expected JSON.", ex);
                }
                catch (HttpRequestException ex)
                {
                    throw WeComException.Transport(api, $"the answer broke off ({ex.HttpRequestError}).", ex);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw WeComException.Transport(api, $"the answer did not arrive within {http.Timeout.TotalSeconds:0} s.", ex);
                }
                if (result is null) throw WeComException.Transport(api, "the answer is JSON null.");
                var elapsed = Stopwatch.GetElapsedTime(started);
                metrics.WeComCall(api, result.ErrCode, elapsed);
                LogCall(api, result.ErrCode, elapsed.TotalMilliseconds);
                // The budget learns of WeCom's 45009 (the window is used up for every claimer; the hour cap is told apart).
                var retryAfter = await budget.AnsweredAsync(corpId, api, result.ErrCode, cancellationToken).ConfigureAwait(false);
                if (result.ErrCode == 45009) throw WeComException.FromResult(api, result.ErrCode, result.ErrMsg, retryAfter);
                return result;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "WeCom {Api} answered errcode {ErrCode} in {ElapsedMs:0.0} ms")]
    private partial void LogCall(string api, int errCode, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "WeCom {Api} rejected the access token of app {App} (errcode {ErrCode}); fetching a new one and retrying once")]
    private partial void LogTokenRejected(string api, int errCode, string app);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WeCom rejected the credential of app {App} (errcode 40001 or 40084); reading it again from {Source} in case it changed")]
    private partial void LogSecretRejected(string app, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fetched a WeCom access token for app {App} in corp {CorpId}, valid {LifetimeSeconds} s")]
    private partial void LogTokenFetched(string app, string corpId, int lifetimeSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fetched a WeCom suite access token for app {App}, valid {LifetimeSeconds} s")]
    private partial void LogSuiteTokenFetched(string app, int lifetimeSeconds);
}
