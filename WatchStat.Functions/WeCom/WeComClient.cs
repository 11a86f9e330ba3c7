using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Polly.Timeout;
using WatchStat.Secrets;
using WatchStat.Telemetry;

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
    WatchStatMetrics metrics,
    ILogger<WeComClient> logger)
{
    public const string GetTokenApi = "gettoken";
    public const string GetWatchStatApi = "living/get_watch_stat";
    public const string GetUserAllLivingIdApi = "living/get_user_all_livingid";
    public const string GetLivingInfoApi = "living/get_living_info";

    /// <summary>Most lives one get_user_all_livingid page may list.</summary>
    public const int MaxLivingIdsPerPage = 100;

    /// <summary>One page of a live's watch detail. <paramref name="nextKey"/> is "0" for the first page.</summary>
    public Task<WatchStatResult> GetWatchStatAsync(WeComApp app, string livingId, string nextKey, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new WatchStatRequest(livingId, nextKey), WeComJsonContext.Default.WatchStatRequest);
        return CallAsync(app, GetWatchStatApi, token => PostJson(GetWatchStatApi, token, body), WeComJsonContext.Default.WatchStatResult, cancellationToken);
    }

    /// <summary>Every live the app created for an anchor, following <c>next_cursor</c> until it comes back empty.</summary>
    public async Task<IReadOnlyList<string>> ListLivingIdsAsync(WeComApp app, string anchorUserId, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        var seenCursors = new HashSet<string>(StringComparer.Ordinal);
        var cursor = "";
        do
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new UserAllLivingIdRequest(anchorUserId, cursor, MaxLivingIdsPerPage), WeComJsonContext.Default.UserAllLivingIdRequest);
            var page = await CallAsync(app, GetUserAllLivingIdApi, token => PostJson(GetUserAllLivingIdApi, token, body), WeComJsonContext.Default.UserAllLivingIdResult, cancellationToken)
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
    public async Task<LivingInfo> GetLivingInfoAsync(WeComApp app, string livingId, CancellationToken cancellationToken)
    {
        var query = $"&livingid={Uri.EscapeDataString(livingId)}";
        var result = await CallAsync(app, GetLivingInfoApi,
            token => new HttpRequestMessage(HttpMethod.Get, $"cgi-bin/{GetLivingInfoApi}?access_token={Uri.EscapeDataString(token)}{query}"),
            WeComJsonContext.Default.LivingInfoResult, cancellationToken).ConfigureAwait(false);
        return result.LivingInfo ?? throw WeComException.Transport(GetLivingInfoApi, "the answer has errcode 0 but no living_info.");
    }

    /// <summary>
    /// One API call with the app's token. A token WeCom rejects (40014, 42001) is dropped and fetched again, and a
    /// secret it rejects (40001: maybe rotated) is read again from its source; each at most once per call.
    /// </summary>
    private async Task<T> CallAsync<T>(
        WeComApp app, string api, Func<string, HttpRequestMessage> request, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : WeComResult
    {
        var secretReread = false;
        var tokenRefetched = false;
        while (true)
        {
            var secret = await secrets.GetSecretAsync(app, AppSecretKind.Secret, cancellationToken).ConfigureAwait(false);
            AccessToken token;
            try
            {
                token = await GetTokenAsync(app, secret, cancellationToken).ConfigureAwait(false);
            }
            catch (WeComException ex) when (ex.Kind == WeComErrorKind.InvalidSecret)
            {
                if (secretReread)
                {
                    throw new WeComException(ex.Api, ex.ErrCode, ex.ErrMsg, ex.Kind,
                        $"{ex.Message} WeCom rejected the secret of app '{app.Name}' again after it was read anew from {secrets.Describe(app, AppSecretKind.Secret)}.", ex);
                }
                LogSecretRejected(app.Name, secrets.Describe(app, AppSecretKind.Secret));
                secrets.Invalidate(app, AppSecretKind.Secret, secret);
                secretReread = true;
                continue;
            }

            var result = await SendAsync(app, api, request(token.Value), type, cancellationToken).ConfigureAwait(false);
            if (result.ErrCode != 0 && WeComException.Classify(result.ErrCode) == WeComErrorKind.TokenRejected && !tokenRefetched)
            {
                LogTokenRejected(api, result.ErrCode, app.Name);
                tokens.Invalidate(app.CorpId, secret, token);
                tokenRefetched = true;
                continue;
            }
            return result.ErrCode == 0 ? result : throw WeComException.FromResult(api, result.ErrCode, result.ErrMsg);
        }
    }

    private ValueTask<AccessToken> GetTokenAsync(WeComApp app, string secret, CancellationToken cancellationToken) =>
        tokens.GetAsync(app.CorpId, secret, ct => FetchTokenAsync(app, secret, ct), cancellationToken);

    private async Task<(string, TimeSpan)> FetchTokenAsync(WeComApp app, string secret, CancellationToken cancellationToken)
    {
        var uri = $"cgi-bin/{GetTokenApi}?corpid={Uri.EscapeDataString(app.CorpId)}&corpsecret={Uri.EscapeDataString(secret)}";
        var result = await SendAsync(app, GetTokenApi, new HttpRequestMessage(HttpMethod.Get, uri), WeComJsonContext.Default.TokenResult, cancellationToken)
            .ConfigureAwait(false);
        if (result.ErrCode != 0) throw WeComException.FromResult(GetTokenApi, result.ErrCode, result.ErrMsg);
        if (string.IsNullOrEmpty(result.AccessToken))
            throw WeComException.Transport(GetTokenApi, "the answer has errcode 0 but no access_token.");
        // expires_in is normally 7200 s; an answer without it is taken at that.
        var lifetime = TimeSpan.FromSeconds(result.ExpiresIn > 0 ? result.ExpiresIn : 7200);
        LogTokenFetched(app.Name, (int)lifetime.TotalSeconds);
        return (result.AccessToken, lifetime);
    }

    private static HttpRequestMessage PostJson(string api, string token, byte[] body) =>
        new(HttpMethod.Post, $"cgi-bin/{api}?access_token={Uri.EscapeDataString(token)}")
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") { CharSet = "utf-8" } } },
        };

    private async Task<T> SendAsync<T>(WeComApp app, string api, HttpRequestMessage request, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : WeComResult
    {
        var started = Stopwatch.GetTimestamp();
        request.Options.Set(WeComRateLimitHandler.CorpIdKey, app.CorpId);
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
                return result;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "WeCom {Api} answered errcode {ErrCode} in {ElapsedMs:0.0} ms")]
    private partial void LogCall(string api, int errCode, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "WeCom {Api} rejected the access token of app {App} (errcode {ErrCode}); fetching a new one and retrying once")]
    private partial void LogTokenRejected(string api, int errCode, string app);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WeCom rejected the secret of app {App} (errcode 40001); reading it again from {Source} in case it was rotated")]
    private partial void LogSecretRejected(string app, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fetched a WeCom access token for app {App}, valid {LifetimeSeconds} s")]
    private partial void LogTokenFetched(string app, int lifetimeSeconds);
}
