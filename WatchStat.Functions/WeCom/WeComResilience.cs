using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using WatchStat.Telemetry;

namespace WatchStat.WeCom;

/// <summary>
/// How the WeCom client survives a flaky WeCom: a total timeout around jittered exponential retries around a
/// per-attempt timeout (Microsoft.Extensions.Http.Resilience), retrying transient HTTP faults (5xx, 408,
/// connection failures, attempt timeouts), answers that are not whole JSON, and errcode -1 (system busy). Each
/// attempt passes this process's pacing and the corp's shared budget per API. Token errors, throttling (45009/45033) and the rest
/// are the caller's business, not retried here.
/// </summary>
public static class WeComResilience
{
    public static IHttpClientBuilder AddWeComResilience(this IHttpClientBuilder builder)
    {
        builder.AddResilienceHandler("wecom", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<WeComOptions>>().Value;
            var metrics = context.ServiceProvider.GetRequiredService<WatchStatMetrics>();
            pipeline.AddTimeout(TimeSpan.FromSeconds(options.TimeoutSeconds));
            // WeCom:MaxRetries 0 means no retry strategy at all: Polly's accepts no fewer than one attempt.
            if (options.MaxRetries > 0)
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(options.RetryDelayMilliseconds),
                    ShouldHandle = args => ShouldRetryAsync(args.Outcome, args.Context.CancellationToken),
                    OnRetry = args =>
                    {
                        metrics.Retried(ApiOf(args.Context.GetRequestMessage()), Describe(args.Outcome));
                        return default;
                    },
                });
            }
            pipeline.AddTimeout(TimeSpan.FromSeconds(options.AttemptTimeoutSeconds));
        });
        // Inside the retries: every attempt takes a permit.
        builder.AddHttpMessageHandler(sp => new WeComRateLimitHandler(sp.GetRequiredService<WeComRateLimiter>(), sp.GetRequiredService<WeComBudget>()));
        return builder;
    }

    /// <summary>Whether an attempt's outcome is worth another attempt.</summary>
    public static async ValueTask<bool> ShouldRetryAsync(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken)
    {
        // Connection failures, attempt timeouts, 5xx, 408, 429. (Its overload taking the token is still experimental.)
#pragma warning disable CA2016
        if (HttpClientResiliencePredicates.IsTransient(outcome)) return true;
#pragma warning restore CA2016
        if (outcome.Result is not { IsSuccessStatusCode: true } response) return false;
        try
        {
            // WeCom answers JSON, failures included: a body that is not whole JSON, or errcode -1, is a passing fault.
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            return ErrCodeOf(body) is null or -1;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return true; // the body broke off
        }
    }

    /// <summary>The top-level errcode of a whole JSON document; null when the body is not whole JSON.</summary>
    internal static int? ErrCodeOf(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            int? errCode = 0; // an answer without errcode is taken as ok
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("errcode"u8))
                {
                    reader.Read();
                    errCode = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var code) ? code : errCode;
                }
                else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= 1)
                {
                    reader.Skip();
                }
            }
            return reader.BytesConsumed == body.Length || body[(int)reader.BytesConsumed..].Trim(" \t\r\n"u8).IsEmpty ? errCode : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static string ApiOf(HttpRequestMessage? request)
    {
        var path = request?.RequestUri?.AbsolutePath ?? "";
        var at = path.IndexOf("/cgi-bin/", StringComparison.Ordinal);
        return at < 0 ? "unknown" : path[(at + "/cgi-bin/".Length)..];
    }

    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } ex ? ex.GetType().Name : outcome.Result is { IsSuccessStatusCode: false } r ? $"HTTP {(int)r.StatusCode}" : "errcode -1 or not JSON";
}

/// <summary>
/// This process's pacing of WeCom calls per corp and API (<c>WeCom:MaxCallsPerMinute</c>): a token bucket refilled
/// every second, so that one instance's calls are spread over the minute rather than burst; callers queue for a
/// permit rather than fail. WeCom's per-corp limits are kept across processes by <see cref="WeComBudget"/>.
/// </summary>
public sealed class WeComRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<(string CorpId, string Api)> _limiter;

    public WeComRateLimiter(IOptions<WeComOptions> options)
    {
        var perSecond = Math.Max(1, options.Value.MaxCallsPerMinute / 60);
        _limiter = PartitionedRateLimiter.Create<(string CorpId, string Api), (string, string)>(key =>
            RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 100_000,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            }));
    }

    public ValueTask<RateLimitLease> AcquireAsync(string corpId, string api, CancellationToken cancellationToken) =>
        _limiter.AcquireAsync((corpId, api), 1, cancellationToken);

    public void Dispose() => _limiter.Dispose();
}

/// <summary>
/// Every attempt of a WeCom call takes a permit of this process's pacing (<see cref="WeComRateLimiter"/>), then one
/// call of the corp's shared budget (<see cref="WeComBudget"/>); the corpid travels in the request's options. A
/// used-up budget refuses the attempt with a throttle, which no retry here repeats.
/// </summary>
public sealed class WeComRateLimitHandler(WeComRateLimiter limiter, WeComBudget budget) : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<string> CorpIdKey = new("WatchStat.WeCom.CorpId");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Options.TryGetValue(CorpIdKey, out var corpId);
        var api = WeComResilience.ApiOf(request);
        using var lease = await limiter.AcquireAsync(corpId ?? "", api, cancellationToken);
        if (!lease.IsAcquired)
            throw new HttpRequestException("The client-side WeCom rate limit's queue is full; the call will be retried.");
        await budget.AcquireAsync(corpId ?? "", api, cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }
}
