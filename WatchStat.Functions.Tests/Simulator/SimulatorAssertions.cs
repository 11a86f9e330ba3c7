using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using WatchStat.Tests.WeCom;
using WatchStat.WeCom.Callbacks;

namespace WatchStat.Tests.Simulator;

/// <summary>What the simulator's tests share: checks on its control API's answers, and waiting for its timers and pushes.</summary>
internal static class SimulatorAssertions
{
    /// <summary>
    /// The published sample's token and EncodingAESKey (the first 20 characters: no stretch of it) are nowhere in
    /// <paramref name="text"/>, nor is any of <paramref name="secrets"/>.
    /// </summary>
    public static void AssertNoSecrets(string text, params string[] secrets)
    {
        Assert.DoesNotContain(WeComPublishedSample.Token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(WeComPublishedSample.EncodingAesKey[..20], text, StringComparison.Ordinal);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Sends <paramref name="body"/> as JSON with <paramref name="method"/> to <paramref name="url"/>: the answer is 400
    /// {"error": "..."} with an error to read, and no secret (<see cref="AssertNoSecrets"/>).
    /// </summary>
    public static async Task AssertBadRequestAsync(HttpClient http, string method, Uri url, string body, params string[] secrets)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()));
        AssertNoSecrets(text, secrets);
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met within 10 s");
            await Task.Delay(10);
        }
    }
}

internal sealed record ReceivedCallback(string Method, IReadOnlyDictionary<string, string?> Query, string? ContentType, string Body, string? Plaintext,
    WeComCallbackEvent? Event);

/// <summary>
/// A callback receiver on 127.0.0.1 built on the app's WeComMessageCrypto for one receiveid (an app's corpid, or a
/// suite's suite_id): answers the URL check with the echostr's plaintext (plus <c>echoSuffix</c>), a POST it can read
/// with 200 and <c>postAnswer</c> ("" as an app's callback does, "success" as a suite's must), and one it cannot with
/// 400 and the reason it was refused.
/// </summary>
internal sealed class CallbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedCallback> _requests = new();

    private CallbackReceiver(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public IReadOnlyList<ReceivedCallback> Requests => [.. _requests];

    public IReadOnlyList<ReceivedCallback> Posts => [.. _requests.Where(r => r.Method == "POST")];

    public async Task<IReadOnlyList<ReceivedCallback>> WaitForPostsAsync(int count)
    {
        await SimulatorAssertions.WaitUntilAsync(() => Posts.Count >= count);
        return Posts;
    }

    public static async Task<CallbackReceiver> StartAsync(string receiveId, string echoSuffix = "", string postAnswer = "")
    {
        var crypto = new WeComMessageCrypto(WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey, receiveId);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], EnvironmentName = "Production" });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new CallbackReceiver(app);
        app.MapMethods("/cb", ["GET", "POST"], async context =>
        {
            var query = context.Request.Query.ToDictionary(q => q.Key, q => (string?)q.Value.ToString(), StringComparer.Ordinal);
            string body;
            using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
                body = await reader.ReadToEndAsync();
            string? plaintext = null;
            WeComCallbackEvent? received = null;
            string answer;
            try
            {
                if (HttpMethods.IsGet(context.Request.Method))
                {
                    answer = crypto.VerifyAndDecrypt(query.GetValueOrDefault("msg_signature"), query.GetValueOrDefault("timestamp"),
                        query.GetValueOrDefault("nonce"), query.GetValueOrDefault("echostr")) + echoSuffix;
                }
                else
                {
                    plaintext = crypto.VerifyAndDecrypt(query.GetValueOrDefault("msg_signature"), query.GetValueOrDefault("timestamp"),
                        query.GetValueOrDefault("nonce"), WeComCallbackEnvelope.ReadEncrypt(body));
                    received = WeComCallbackEnvelope.ParseEvent(plaintext);
                    answer = postAnswer;
                }
            }
            catch (WeComCallbackException e)
            {
                context.Response.StatusCode = 400;
                answer = e.Reason.ToString();
            }

            receiver._requests.Enqueue(new ReceivedCallback(context.Request.Method, query, context.Request.ContentType, body, plaintext, received));
            context.Response.ContentType = "text/plain";
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(answer));
        });
        await app.StartAsync();
        receiver.Url = app.Urls.First().TrimEnd('/') + "/cb";
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
