using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using WatchStat.WeCom.Callbacks;
using WatchStat.Tests.WeCom;
using WatchStat.WeComSimulator;
using static WatchStat.Tests.Simulator.SimulatorAssertions;

namespace WatchStat.Tests.Simulator;

/// <summary>
/// The simulator as WeCom's callback sender, checked against the app's own receiver crypto (WeComMessageCrypto): the
/// two are written apart, so each checks the other. The published vectors are WeCom's SDK samples (see MessageCryptoTests).
/// </summary>
public sealed class CallbackSenderTests : IAsyncLifetime
{
    // What the end-to-end tests register: the simulator's default corp.
    private const string CorpId = SimulatorOptions.DefaultCorpId;

    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly CallbackCipher Cipher = new(WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);
    private static readonly WeComMessageCrypto AppCrypto = new(WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey, WeComPublishedSample.CorpId);

    private readonly FakeTimeProvider _time = new(T0);
    private static readonly HttpClient Http = new();

    private RunningSimulator _simulator = null!;

    public async Task InitializeAsync() => _simulator = await SimulatorHost.StartAsync(new SimulatorOptions(), _time);

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Theory]
    [InlineData(WeComPublishedSample.EchoStr, WeComPublishedSample.EchoPlaintext, "1409659589", "263014780", "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3")]
    [InlineData(WeComPublishedSample.PostEncrypt, WeComPublishedSample.PostPlaintext, "1409659813", "1372623149", "477715d11cdb4164915debcba66cb864d751f3e6")]
    public void Encrypting_a_published_plaintext_with_its_random_bytes_reproduces_the_published_ciphertext_and_signature(
        string published, string plaintext, string timestamp, string nonce, string signature)
    {
        var random = RawDecrypt(published)[..16];

        Assert.Equal(published, Cipher.Encrypt(plaintext, WeComPublishedSample.CorpId, random));
        Assert.Equal(signature, Cipher.Signature(timestamp, nonce, published));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(32)]
    public void Pads_of_1_16_17_and_32_round_trip_through_the_apps_crypto(int pad)
    {
        // 16 random + 4 length + message + corpid, padded to 32: the message length that leaves this pad.
        var length = ((32 - pad - (20 + WeComPublishedSample.CorpId.Length)) % 32 + 32) % 32 + 64;
        var message = new string('m', length);

        var encrypt = Cipher.Encrypt(message, WeComPublishedSample.CorpId);

        var raw = RawDecrypt(encrypt);
        Assert.Equal(0, raw.Length % 32);
        Assert.All(raw[^pad..], b => Assert.Equal(pad, b));
        Assert.NotEqual(pad, raw[^(pad + 1)]);
        Assert.Equal(message, AppCrypto.VerifyAndDecrypt(Cipher.Signature("1", "2", encrypt), "1", "2", encrypt));
    }

    [Fact]
    public void A_sealed_status_change_verifies_and_decrypts_with_the_apps_crypto()
    {
        var xml = CallbackSender.LivingStatusEvent(WeComPublishedSample.CorpId, "1000002", "lv-42", 2, 1772442000);

        var post = CallbackSender.Seal(Cipher, WeComPublishedSample.CorpId, "1000002", xml, CallbackTamper.None, 1772442005, "1234567");

        Assert.Equal("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            + "<CreateTime>1772442000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[living_status_change]]></Event>"
            + "<LivingId><![CDATA[lv-42]]></LivingId><Status>2</Status><AgentID>1000002</AgentID></xml>", xml);
        Assert.Equal(("1772442005", "1234567"), (post.Timestamp, post.Nonce));
        var encrypt = WeComCallbackEnvelope.ReadEncrypt(post.Body);
        Assert.Equal(WeComCallbackEnvelope.Build(WeComPublishedSample.CorpId, "1000002", encrypt), post.Body);
        var decrypted = AppCrypto.VerifyAndDecrypt(post.MsgSignature, post.Timestamp, post.Nonce, encrypt);
        Assert.Equal(xml, decrypted);
        var e = WeComCallbackEnvelope.ParseEvent(decrypted);
        Assert.Equal(("event", "living_status_change", WeComPublishedSample.CorpId, "sys", 1772442000L, "1000002", "lv-42", 2),
            (e.MsgType, e.Event, e.ToUserName, e.FromUserName, e.CreateTime, e.AgentId, e.LivingId, e.Status));
    }

    [Theory]
    [InlineData(CallbackTamper.Signature, WeComCallbackReason.BadSignature)]
    [InlineData(CallbackTamper.Ciphertext, WeComCallbackReason.BadSignature)]
    [InlineData(CallbackTamper.Timestamp, WeComCallbackReason.BadSignature)]
    [InlineData(CallbackTamper.Receiver, WeComCallbackReason.WrongReceiver)]
    [InlineData(CallbackTamper.Xml, WeComCallbackReason.BadXml)]
    public void Each_tamper_mode_is_refused_by_the_apps_crypto(CallbackTamper tamper, WeComCallbackReason reason)
    {
        var xml = CallbackSender.LivingStatusEvent(WeComPublishedSample.CorpId, "1000002", "lv-42", 2, 1772442000);

        var post = CallbackSender.Seal(Cipher, WeComPublishedSample.CorpId, "1000002", xml, tamper, 1772442005, "1234567");

        var error = Assert.Throws<WeComCallbackException>(() => Receive(AppCrypto, post.MsgSignature, post.Timestamp, post.Nonce, post.Body));
        Assert.Equal(reason, error.Reason);
        if (tamper == CallbackTamper.Ciphertext)
        {
            // Even re-signed, the changed character garbles the length or message, not only the random bytes.
            var encrypt = WeComCallbackEnvelope.ReadEncrypt(post.Body);
            Assert.ThrowsAny<Exception>(() => Receive(AppCrypto, Cipher.Signature(post.Timestamp, post.Nonce, encrypt), post.Timestamp, post.Nonce, post.Body));
        }
    }

    [Fact]
    public async Task The_URL_check_passes_against_a_receiver_using_the_apps_crypto_and_saves_the_registration()
    {
        await using var receiver = await CallbackReceiver.StartAsync(CorpId);

        using var put = await Http.PutAsJsonAsync(Sim($"sim/callbacks/{CorpId}"),
            new { url = receiver.Url + "?code=function-key", token = WeComPublishedSample.Token, encodingAesKey = WeComPublishedSample.EncodingAesKey });
        var answer = await JsonAsync(put);

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.True(answer.GetProperty("verified").GetBoolean());
        Assert.Equal(200, answer.GetProperty("status").GetInt32());
        Assert.True(answer.GetProperty("elapsedMs").GetDouble() > 0);
        AssertNoSecrets(answer.GetRawText());
        var check = Assert.Single(receiver.Requests);
        Assert.Equal("GET", check.Method);
        Assert.Equal("function-key", check.Query["code"]);
        Assert.Equal(new[] { SimulatorOptions.DefaultCorpId }, _simulator.State.Callbacks.RegisteredCorpIds);

        using var again = await Http.PostAsync(Sim($"sim/callbacks/{CorpId}/verify"), null);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True((await JsonAsync(again)).GetProperty("verified").GetBoolean());
        Assert.Equal(2, (await Http.GetFromJsonAsync<JsonElement>(Sim("sim/counters"))).GetProperty("callbackUrlChecks").GetInt32());
    }

    [Fact]
    public async Task A_receiver_answering_with_a_trailing_newline_fails_the_URL_check_with_422_and_is_not_saved()
    {
        await using var receiver = await CallbackReceiver.StartAsync(CorpId, echoSuffix: "\n");

        using var put = await Http.PutAsJsonAsync(Sim($"sim/callbacks/{CorpId}"),
            new { url = receiver.Url, token = WeComPublishedSample.Token, encodingAesKey = WeComPublishedSample.EncodingAesKey, agentId = "1000002" });
        var answer = await JsonAsync(put);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, put.StatusCode);
        Assert.StartsWith("URL check failed: ", answer.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(answer.GetProperty("verified").GetBoolean());
        Assert.Equal(200, answer.GetProperty("status").GetInt32());
        Assert.EndsWith("\n", answer.GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.Matches("^[0-9]+\n$", answer.GetProperty("body").GetString()!);
        AssertNoSecrets(answer.GetRawText());
        Assert.Empty(_simulator.State.Callbacks.RegisteredCorpIds);
        using var verify = await Http.PostAsync(Sim($"sim/callbacks/{CorpId}/verify"), null);
        Assert.Equal(HttpStatusCode.NotFound, verify.StatusCode);
    }

    [Fact]
    public async Task A_URL_check_that_cannot_connect_is_422_with_status_0()
    {
        var check = await _simulator.State.Callbacks.RegisterCallbackAsync(CorpId, ClosedPortUrl(), WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);

        Assert.NotNull(check);
        Assert.Equal((false, 0), (check.Verified, check.Status));
        Assert.Contains("HttpRequestException", check.Error, StringComparison.Ordinal);
        Assert.Empty(_simulator.State.Callbacks.RegisteredCorpIds);
    }

    [Fact]
    public async Task A_status_change_is_delivered_as_WeComs_retries_and_answered_by_get_living_info()
    {
        await using var receiver = await CallbackReceiver.StartAsync(CorpId);
        var check = await _simulator.State.Callbacks.RegisterCallbackAsync(CorpId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);
        Assert.True(check!.Verified);
        const string livingId = "lv-callback-3m2x";

        using var live = await Http.PostAsJsonAsync(Sim($"sim/lives/{livingId}/status"), new { status = 1 });
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        _time.Advance(TimeSpan.FromMinutes(10));
        using var ended = await Http.PostAsJsonAsync(Sim($"sim/lives/{livingId}/status"), new { status = 2, corpId = CorpId, deliveries = 3 });
        var answer = await JsonAsync(ended);

        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Equal((livingId, 2, T0.AddMinutes(10).ToUnixTimeSeconds()),
            (answer.GetProperty("livingId").GetString(), answer.GetProperty("status").GetInt32(), answer.GetProperty("createTime").GetInt64()));
        Assert.Equal(3, answer.GetProperty("deliveries").GetArrayLength());
        Assert.All(answer.GetProperty("deliveries").EnumerateArray(), d =>
        {
            Assert.Equal(200, d.GetProperty("status").GetInt32());
            Assert.Equal("", d.GetProperty("body").GetString());
            Assert.True(d.GetProperty("elapsedMs").GetDouble() >= 0);
        });

        var posts = receiver.Requests.Where(r => r.Method == "POST").ToList();
        Assert.Equal(4, posts.Count);
        Assert.All(posts, p => Assert.Equal("text/xml", p.ContentType));
        var retries = posts.Skip(1).ToList();
        Assert.All(retries, p => Assert.Equal((livingId, 2, T0.AddMinutes(10).ToUnixTimeSeconds(), "1000002", CorpId),
            (p.Event!.LivingId, p.Event.Status, p.Event.CreateTime, p.Event.AgentId, p.Event.ToUserName)));
        Assert.Equal(3, retries.Select(p => p.Query["nonce"]).Distinct().Count());
        Assert.Equal(3, retries.Select(p => p.Body).Distinct().Count());
        Assert.Equal(1, posts[0].Event!.Status);

        var info = await LivingInfoAsync(livingId);
        Assert.Equal((2, T0.ToUnixTimeSeconds(), 600, 5),
            (info.GetProperty("status").GetInt32(), info.GetProperty("living_start").GetInt64(), info.GetProperty("living_duration").GetInt32(), info.GetProperty("viewer_num").GetInt32()));

        var counters = await Http.GetFromJsonAsync<JsonElement>(Sim("sim/counters"));
        Assert.Equal(4, counters.GetProperty("callbacksSent").GetInt32());
        using var reset = await Http.PostAsync(Sim("sim/counters/reset"), null);
        Assert.Equal(0, _simulator.State.Counters.CallbacksSent);
    }

    [Fact]
    public async Task An_anchors_live_that_ends_keeps_its_start_and_concurrent_deliveries_all_arrive()
    {
        await using var receiver = await CallbackReceiver.StartAsync(CorpId);
        await _simulator.State.Callbacks.RegisterCallbackAsync(CorpId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey, verify: false);
        var onAir = _simulator.State.Anchors.Add("anchor-cb", 10)[1];
        Assert.Equal(1, onAir.Status);

        var result = await _simulator.State.Callbacks.ChangeStatusAsync(onAir.LivingId, 2, deliveries: 5, concurrent: true);

        Assert.Equal(5, result.Deliveries.Count);
        Assert.All(result.Deliveries, d => Assert.Equal((200, (string?)null), (d.Status, d.Error)));
        Assert.Equal(5, receiver.Requests.Count(r => r.Event is { Status: 2 } e && e.LivingId == onAir.LivingId));
        var info = _simulator.State.Anchors.Info(onAir.LivingId, null)!;
        Assert.Equal((2, onAir.LivingStart, 1800), (info.Status, info.LivingStart, info.LivingDuration));
        Assert.Equal(info, _simulator.State.Anchors.LivesOf("anchor-cb")[1]);
    }

    [Theory]
    [InlineData("signature", "BadSignature")]
    [InlineData("ciphertext", "BadSignature")]
    [InlineData("timestamp", "BadSignature")]
    [InlineData("receiver", "WrongReceiver")]
    [InlineData("xml", "BadXml")]
    public async Task A_tampered_delivery_is_refused_by_a_receiver_using_the_apps_crypto(string tamper, string reason)
    {
        await using var receiver = await CallbackReceiver.StartAsync(CorpId);
        await _simulator.State.Callbacks.RegisterCallbackAsync(CorpId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);

        using var sent = await Http.PostAsJsonAsync(Sim("sim/lives/lv-tamper-1m1x/status"), new { status = 2, tamper });
        var answer = await JsonAsync(sent);

        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        var delivery = Assert.Single(answer.GetProperty("deliveries").EnumerateArray());
        Assert.Equal((400, reason), (delivery.GetProperty("status").GetInt32(), delivery.GetProperty("body").GetString()));
    }

    [Fact]
    public async Task A_raw_event_arrives_exactly_as_given()
    {
        await using var receiver = await CallbackReceiver.StartAsync(CorpId);
        await _simulator.State.Callbacks.RegisterCallbackAsync(CorpId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey, agentId: "1000017");
        const string xml = "<xml><ToUserName><![CDATA[ww-sim-corp]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><Note>直播 ✓</Note></xml>";

        using var sent = await Http.PostAsJsonAsync(Sim($"sim/callbacks/{CorpId}/send"), new { xml, deliveries = 2 });
        var answer = await JsonAsync(sent);

        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        Assert.False(answer.TryGetProperty("livingId", out _));
        Assert.False(answer.TryGetProperty("status", out _));
        Assert.Equal(2, answer.GetProperty("deliveries").GetArrayLength());
        var posts = receiver.Requests.Where(r => r.Method == "POST").ToList();
        Assert.Equal(2, posts.Count);
        Assert.All(posts, p => Assert.Equal(xml, p.Plaintext));
        Assert.All(posts, p => Assert.Contains("<AgentID><![CDATA[1000017]]></AgentID>", p.Body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_delivery_that_cannot_connect_is_status_0_with_the_exception()
    {
        using var put = await Http.PutAsJsonAsync(Sim($"sim/callbacks/{CorpId}?verify=false"),
            new { url = ClosedPortUrl(), token = WeComPublishedSample.Token, encodingAesKey = WeComPublishedSample.EncodingAesKey });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.True((await JsonAsync(put)).GetProperty("skipped").GetBoolean());

        using var sent = await Http.PostAsJsonAsync(Sim("sim/lives/lv-refused-2m0x/status"), new { status = 2 });
        var delivery = Assert.Single((await JsonAsync(sent)).GetProperty("deliveries").EnumerateArray());

        Assert.Equal(0, delivery.GetProperty("status").GetInt32());
        Assert.StartsWith("HttpRequestException: ", delivery.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, _simulator.State.Counters.CallbacksSent);
    }

    [Fact]
    public async Task The_corp_must_be_named_unless_exactly_one_is_registered_and_must_be_known()
    {
        using var none = await Http.PostAsJsonAsync(Sim("sim/lives/lv-x-1m1x/status"), new { status = 2 });
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);

        await _simulator.State.Callbacks.RegisterCallbackAsync("ww-corp-a", ClosedPortUrl(), WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey, verify: false);
        await _simulator.State.Callbacks.RegisterCallbackAsync("ww-corp-b", ClosedPortUrl(), WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey, verify: false);
        using var two = await Http.PostAsJsonAsync(Sim("sim/lives/lv-x-1m1x/status"), new { status = 2 });
        var error = (await JsonAsync(two)).GetProperty("error").GetString();
        Assert.Equal(HttpStatusCode.BadRequest, two.StatusCode);
        Assert.Contains("ww-corp-a, ww-corp-b", error, StringComparison.Ordinal);

        using var unknownCorp = await Http.PostAsJsonAsync(Sim("sim/lives/lv-x-1m1x/status"), new { status = 2, corpId = "ww-nobody" });
        Assert.Equal(HttpStatusCode.NotFound, unknownCorp.StatusCode);
        using var unknownLive = await Http.PostAsJsonAsync(Sim("sim/lives/no-such-live/status"), new { status = 2, corpId = "ww-corp-a" });
        Assert.Equal(HttpStatusCode.NotFound, unknownLive.StatusCode);
        using var unknownSend = await Http.PostAsJsonAsync(Sim("sim/callbacks/ww-nobody/send"), new { xml = "<xml/>" });
        Assert.Equal(HttpStatusCode.NotFound, unknownSend.StatusCode);
        Assert.Equal(0, _simulator.State.Counters.CallbacksSent);
    }

    [Theory]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "ftp://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "/api/wecom/callback/default", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "http://127.0.0.1/cb", "token": "QDG 6eK!", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "http://127.0.0.1/cb", "token": "QDG6eKQDG6eKQDG6eKQDG6eKQDG6eKQDG", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "http://127.0.0.1/cb", "token": "", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B*C"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "agentId": "app-1"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "secret": 1}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp?verify=maybe", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("PUT", "sim/callbacks/ww-sim-corp", "not json")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", "{}")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", """{"status": 3}""")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", """{"status": "2"}""")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", """{"status": 2, "deliveries": 0}""")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", """{"status": 2, "deliveries": 11}""")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", """{"status": 2, "tamper": "nonce"}""")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", """{"status": 2, "concurrent": "yes"}""")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", """{"status": 2, "createTime": "now"}""")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", """{"status": 2, "xml": "<xml/>"}""")]
    [InlineData("POST", "sim/lives/lv-1m1x/status", "[2]")]
    [InlineData("POST", "sim/callbacks/ww-sim-corp/send", """{"deliveries": 1}""")]
    [InlineData("POST", "sim/callbacks/ww-sim-corp/send", """{"xml": "<xml/>", "status": 2}""")]
    [InlineData("POST", "sim/callbacks/ww-sim-corp/send", """{"xml": "<xml/>", "tamper": 1}""")]
    // The older control endpoints, with a number sent as a string (they answered 500 before).
    [InlineData("PUT", "sim/lives/lv-strings-1m1x", """{"members": "2"}""")]
    [InlineData("PUT", "sim/settings", """{"pageSize": "50"}""")]
    [InlineData("PUT", "sim/anchors/zhangsan", """{"lives": "3"}""")]
    public async Task Bad_control_API_input_answers_400_without_echoing_secrets(string method, string path, string body)
    {
        await AssertBadRequestAsync(Http, method, Sim(path), body);

        Assert.Empty(_simulator.State.Callbacks.RegisteredCorpIds);
    }

    /// <summary>The app's receiving path: the Encrypt of the body, verified and decrypted, parsed as an event.</summary>
    private static WeComCallbackEvent Receive(WeComMessageCrypto crypto, string? signature, string? timestamp, string? nonce, string body) =>
        WeComCallbackEnvelope.ParseEvent(crypto.VerifyAndDecrypt(signature, timestamp, nonce, WeComCallbackEnvelope.ReadEncrypt(body)));

    private async Task<JsonElement> LivingInfoAsync(string livingId)
    {
        var token = await Http.GetFromJsonAsync<JsonElement>(
            Sim($"cgi-bin/gettoken?corpid={SimulatorOptions.DefaultCorpId}&corpsecret={SimulatorOptions.DefaultSecret}"));
        var info = await Http.GetFromJsonAsync<JsonElement>(
            Sim($"cgi-bin/living/get_living_info?access_token={token.GetProperty("access_token").GetString()}&livingid={livingId}"));
        Assert.Equal(0, info.GetProperty("errcode").GetInt32());
        return info.GetProperty("living_info");
    }

    /// <summary>A URL of the simulator, from a path relative to its root.</summary>
    private Uri Sim(string path) => new(_simulator.BaseUrl, path);

    /// <summary>An http URL on a loopback port nothing listens on.</summary>
    private static string ClosedPortUrl()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}/api/wecom/callback/default";
    }

    private static byte[] RawDecrypt(string encrypt)
    {
        using var aes = Aes.Create();
        aes.Key = Convert.FromBase64String(WeComPublishedSample.EncodingAesKey + "=");
        return aes.DecryptCbc(Convert.FromBase64String(encrypt), aes.Key.AsSpan(0, 16), PaddingMode.None);
    }
}
