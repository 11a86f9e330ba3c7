using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using WatchStat.Harvest;
using WatchStat.Secrets;
using WatchStat.Telemetry;
using WatchStat.WeCom;
using WatchStat.WeCom.Callbacks;

namespace WatchStat.Functions;

/// <summary>
/// <c>GET|POST /api/wecom/callback/{app}</c>: the URL a WeCom admin pastes into the app's 接收消息 (API接收) settings.
/// Anonymous to the Functions host (WeCom sends no function key); what protects it is msg_signature, checked in
/// constant time against the app's callback Token, and the AES key the events are encrypted with.
/// <list type="bullet">
/// <item>GET is WeCom's URL check: the decrypted <c>echostr</c>, as plain text and nothing else.</item>
/// <item>POST is an event: an empty 200 once it is handled (<see cref="LiveStatusCallbacks"/>), well within WeCom's 5 s.
/// For an app corps install through a suite, this is the suite's instruction callback (<see cref="SuiteCallbacks"/>:
/// suite_ticket, create_auth, change_auth, cancel_auth), answered <c>success</c>.</item>
/// <item>An app that is not configured, has no callback Token and EncodingAESKey, or whose Key Vault secrets for them
/// are named but missing: 404. A wrong signature: 401.
/// A body over 64 KiB, bad XML, a ciphertext that does not decrypt, another corp's message: 400. In each case nothing
/// is written or enqueued, and only the reason is logged, never the body.</item>
/// </list>
/// </summary>
public sealed partial class WeComCallbackFunction(
    WeComApps apps, WeComCallbackKeys keys, LiveStatusCallbacks events, SuiteCallbacks suites, WatchStatMetrics metrics, ILogger<WeComCallbackFunction> logger)
{
    public const string Route = "wecom/callback/{app}";

    /// <summary>The path WeCom is given for an app: <c>/api/wecom/callback/{app}</c>.</summary>
    public static string PathOf(string app) => "/api/wecom/callback/" + Uri.EscapeDataString(app);

    [Function(nameof(WeComCallbackFunction))]
    public async Task<WeComCallbackOutput> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = Route)] HttpRequest request,
        string app,
        CancellationToken cancellationToken)
    {
        // Says nothing of which apps there are: the caller is anonymous.
        if (apps.Find(app) is not { } weComApp || !keys.HasCallback(weComApp))
        {
            LogNoRoute(WeComApps.ValidName().IsMatch(app) ? app : "(not an app name)");
            return Answer(Problems.NotFound("No WeCom callback is configured at this address."));
        }

        WeComMessageCrypto crypto;
        try
        {
            crypto = await keys.ForAsync(weComApp, cancellationToken);
        }
        catch (SecretUnavailableException ex) when (!ex.IsRetryable)
        {
            // Named in settings but not in the vault (or not readable by the app's identity): no callback yet.
            LogKeysMissing(weComApp.Name, ex.Message);
            return Answer(Problems.NotFound("No WeCom callback is configured at this address."));
        }
        catch (SecretUnavailableException ex)
        {
            LogKeysUnavailable(ex, weComApp.Name);
            return Answer(Problems.Unavailable("The callback's keys cannot be read right now."));
        }
        catch (ArgumentException ex)
        {
            LogKeysUnavailable(ex, weComApp.Name);
            return Answer(Problems.Unavailable("The callback's keys are not configured correctly."));
        }

        var query = request.Query;
        string? signature = query["msg_signature"], timestamp = query["timestamp"], nonce = query["nonce"];
        try
        {
            if (HttpMethods.IsGet(request.Method))
            {
                var echo = crypto.VerifyAndDecrypt(signature, timestamp, nonce, query["echostr"]);
                metrics.Callback(weComApp.Name, "url-check");
                return Answer(new ContentResult { Content = echo, ContentType = "text/plain; charset=utf-8", StatusCode = StatusCodes.Status200OK });
            }

            var body = await ReadBodyAsync(request, cancellationToken);
            var encrypt = WeComCallbackEnvelope.ReadEncrypt(body);
            var callback = WeComCallbackEnvelope.ParseEvent(crypto.VerifyAndDecrypt(signature, timestamp, nonce, encrypt));
            if (weComApp.IsInstalled)
            {
                // A suite's instruction callback: WeCom wants the word "success" back.
                var done = await suites.HandleAsync(weComApp, callback, cancellationToken);
                return new WeComCallbackOutput
                {
                    Result = new ContentResult { Content = "success", ContentType = "text/plain; charset=utf-8", StatusCode = StatusCodes.Status200OK },
                    Messages = [.. done.Messages.Select(m => m.ToJson())],
                };
            }
            var outcome = await events.HandleAsync(weComApp, callback, cancellationToken);
            return new WeComCallbackOutput
            {
                Result = new OkResult(),
                Messages = outcome.FirstPage is { } first ? [first.ToJson()] : [],
            };
        }
        catch (WeComCallbackException ex)
        {
            LogRefused(weComApp.Name, ex.Reason, ex.Message);
            metrics.Callback(weComApp.Name, "refused-" + ex.Reason);
            return Answer(ex.Reason == WeComCallbackReason.BadSignature
                ? Problems.Unauthorized("msg_signature does not match this app's callback Token.")
                : Problems.BadRequest(ex.Message));
        }
    }

    /// <summary>The body as text, refused past <see cref="WeComCallbackEnvelope.MaxCharacters"/> bytes without reading further.</summary>
    private static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        const int max = WeComCallbackEnvelope.MaxCharacters;
        if (await RequestBodies.ReadAtMostAsync(request, max, cancellationToken) is not { } body)
            throw new WeComCallbackException(WeComCallbackReason.BadXml, $"The callback body is larger than {max / 1024} KiB.");
        try
        {
            return StrictUtf8.GetString(body.Span);
        }
        catch (DecoderFallbackException)
        {
            throw new WeComCallbackException(WeComCallbackReason.BadXml, "The callback body is not UTF-8.");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static WeComCallbackOutput Answer(IActionResult result) => new() { Result = result };

    [LoggerMessage(Level = LogLevel.Warning, Message = "WeCom callback for app {App} answered 404: no app of that name has a callback Token and EncodingAESKey")]
    private partial void LogNoRoute(string app);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WeCom callback for app {App} answered 404: its callback keys are named but cannot be read: {Why}")]
    private partial void LogKeysMissing(string app, string why);

    [LoggerMessage(Level = LogLevel.Error, Message = "WeCom callback for app {App} answered 503: its Token or EncodingAESKey could not be used")]
    private partial void LogKeysUnavailable(Exception exception, string app);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WeCom callback for app {App} refused ({Reason}): {Why}")]
    private partial void LogRefused(string app, WeComCallbackReason reason, string why);
}

/// <summary>The HTTP answer and, when an ended live starts a run, its first page for the queue.</summary>
public sealed class WeComCallbackOutput
{
    [HttpResult]
    public required IActionResult Result { get; init; }

    [QueueOutput(HarvestPageMessage.QueueName)]
    public string[] Messages { get; init; } = [];
}
