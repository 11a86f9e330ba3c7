using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using WatchStat.Tests.WeCom;
using WatchStat.WeComSimulator;
using static WatchStat.Tests.Simulator.SimulatorAssertions;

namespace WatchStat.Tests.Simulator;

/// <summary>
/// The simulator as WeCom facing a service provider's third-party app (suite): the instruction callback with its
/// suite_ticket, create_auth, change_auth and cancel_auth pushes, received here with the app's own crypto
/// (WeComMessageCrypto, receiveid = suite_id); and service/get_suite_token, get_permanent_code and get_corp_token over
/// real HTTP, down to a corp token reading only its own corp's lives.
/// </summary>
public sealed class SuiteSimulatorTests : IAsyncLifetime
{
    private const string SuiteId = "wwsuite-sim-0001";
    private const string SuiteSecret = "suite-secret-0123456789abcdef";
    private const string CorpA = "ww-corp-a";
    private const string CorpB = "ww-corp-b";
    private const string SharedLive = "lv-shared-live";

    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly HttpClient Http = new();

    private readonly FakeTimeProvider _time = new(T0);
    private RunningSimulator _simulator = null!;

    private SuiteSide Suites => _simulator.State.Suites;

    public async Task InitializeAsync() =>
        _simulator = await SimulatorHost.StartAsync(new SimulatorOptions { Suites = [new SimulatedSuite { SuiteId = SuiteId, SuiteSecret = SuiteSecret }] }, _time);

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Fact]
    public async Task Registering_the_callback_pushes_a_ticket_at_once_then_one_every_ten_minutes_until_it_is_removed()
    {
        await using var receiver = await StartReceiverAsync(SuiteId);

        using var put = await Http.PutAsJsonAsync(Sim($"sim/suites/{SuiteId}/callback"),
            new { url = receiver.Url, token = WeComPublishedSample.Token, encodingAesKey = WeComPublishedSample.EncodingAesKey });
        var text = await put.Content.ReadAsStringAsync();
        var answer = JsonDocument.Parse(text).RootElement;

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.True(answer.GetProperty("verified").GetBoolean());
        var ticketPush = answer.GetProperty("ticket");
        Assert.Equal(("suite_ticket", 200, "success", true), (ticketPush.GetProperty("infoType").GetString(), ticketPush.GetProperty("status").GetInt32(),
            ticketPush.GetProperty("body").GetString(), ticketPush.GetProperty("accepted").GetBoolean()));
        AssertNoSecrets(text, SuiteSecret);
        Assert.Equal("GET", receiver.Requests[0].Method);
        var first = Assert.Single(receiver.Posts);
        var ticket1 = Suites.LatestTicket(SuiteId)!;
        Assert.Equal(SuiteSide.TicketMessage(SuiteId, ticket1, T0.ToUnixTimeSeconds()), first.Plaintext);
        Assert.Equal(
            $"<xml><SuiteId><![CDATA[{SuiteId}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>{T0.ToUnixTimeSeconds()}</TimeStamp>"
            + $"<SuiteTicket><![CDATA[{ticket1}]]></SuiteTicket></xml>", first.Plaintext);
        Assert.Matches($"^<xml><ToUserName><!\\[CDATA\\[{SuiteId}\\]\\]></ToUserName><Encrypt><!\\[CDATA\\[[A-Za-z0-9+/=]+\\]\\]></Encrypt><AgentID><!\\[CDATA\\[\\]\\]></AgentID></xml>$", first.Body);
        Assert.Equal(("text/xml", SuiteId, "suite_ticket", ticket1), (first.ContentType, first.Event!.Fields["SuiteId"], first.Event.Fields["InfoType"], first.Event.Fields["SuiteTicket"]));

        _time.Advance(TimeSpan.FromSeconds(599));
        Assert.Equal(ticket1, Suites.LatestTicket(SuiteId));
        _time.Advance(TimeSpan.FromSeconds(1));
        var ticket2 = Suites.LatestTicket(SuiteId)!;
        Assert.NotEqual(ticket1, ticket2);
        _time.Advance(TimeSpan.FromSeconds(600));
        var ticket3 = Suites.LatestTicket(SuiteId)!;
        Assert.NotEqual(ticket2, ticket3);
        var posts = await receiver.WaitForPostsAsync(3);
        Assert.Equal(new[] { ticket1, ticket2, ticket3 }, posts.Select(p => p.Event!.Fields["SuiteTicket"]));
        Assert.Equal(new[] { T0, T0.AddMinutes(10), T0.AddMinutes(20) }, posts.Select(p => DateTimeOffset.FromUnixTimeSeconds(long.Parse(p.Event!.Fields["TimeStamp"], System.Globalization.CultureInfo.InvariantCulture))));
        await WaitUntilAsync(() => Suites.Deliveries(SuiteId).Count == 3);
        Assert.All(Suites.Deliveries(SuiteId), d => Assert.True(d.Accepted));

        using var delete = await Http.DeleteAsync(Sim($"sim/suites/{SuiteId}/callback"));
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(ticket3, Suites.LatestTicket(SuiteId));
        Assert.Null(Suites.CallbackUrl(SuiteId));
        using var again = await Http.DeleteAsync(Sim($"sim/suites/{SuiteId}/callback"));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task A_failed_URL_check_is_422_saves_nothing_and_pushes_no_ticket()
    {
        await using var receiver = await StartReceiverAsync(SuiteId, echoSuffix: "\n");

        var check = await Suites.RegisterCallbackAsync(SuiteId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);

        Assert.False(check!.Verified);
        Assert.StartsWith("URL check failed: ", check.Error, StringComparison.Ordinal);
        Assert.Null(Suites.CallbackUrl(SuiteId));
        Assert.Null(Suites.LatestTicket(SuiteId));
        Assert.Empty(receiver.Posts);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Suites.PushTicketAsync(SuiteId));
    }

    [Fact]
    public async Task Get_suite_token_takes_any_ticket_pushed_in_the_last_30_minutes_and_refuses_the_rest()
    {
        await using var receiver = await StartReceiverAsync(SuiteId);
        await Suites.RegisterCallbackAsync(SuiteId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);
        var ticket1 = Suites.LatestTicket(SuiteId)!;
        _time.Advance(TimeSpan.FromMinutes(10));
        var ticket2 = Suites.LatestTicket(SuiteId)!;

        var ok = await GetSuiteTokenAsync(new { suite_id = SuiteId, suite_secret = SuiteSecret, suite_ticket = ticket1 });
        Assert.Equal((0, "ok", 7200), (ok.GetProperty("errcode").GetInt32(), ok.GetProperty("errmsg").GetString(), ok.GetProperty("expires_in").GetInt32()));
        Assert.Contains(ok.GetProperty("suite_access_token").GetString()!, Suites.IssuedSecrets());
        Assert.Equal(0, (await GetSuiteTokenAsync(new { suite_id = SuiteId, suite_secret = SuiteSecret, suite_ticket = ticket2 })).GetProperty("errcode").GetInt32());

        await AssertErrorAsync(41021, GetSuiteTokenAsync(new { suite_secret = SuiteSecret, suite_ticket = ticket2 }));
        await AssertErrorAsync(40083, GetSuiteTokenAsync(new { suite_id = "wwsuite-unknown", suite_secret = SuiteSecret, suite_ticket = ticket2 }));
        await AssertErrorAsync(40080, GetSuiteTokenAsync(new { suite_id = SuiteId, suite_secret = "wrong", suite_ticket = ticket2 }), "invalid suite_secret");
        await AssertErrorAsync(41023, GetSuiteTokenAsync(new { suite_id = SuiteId, suite_secret = SuiteSecret }));
        await AssertErrorAsync(40085, GetSuiteTokenAsync(new { suite_id = SuiteId, suite_secret = SuiteSecret, suite_ticket = "never-pushed" }), "invalid suite_ticket");

        _time.Advance(TimeSpan.FromMinutes(20)); // ticket1 is 30 minutes old, ticket2 20
        await AssertErrorAsync(40085, GetSuiteTokenAsync(new { suite_id = SuiteId, suite_secret = SuiteSecret, suite_ticket = ticket1 }));
        Assert.Equal(0, (await GetSuiteTokenAsync(new { suite_id = SuiteId, suite_secret = SuiteSecret, suite_ticket = ticket2 })).GetProperty("errcode").GetInt32());

        Assert.Equal(9, _simulator.State.Counters.Calls("service/get_suite_token"));
        Assert.Equal(3, _simulator.State.Counters.SuiteTokensIssued(SuiteId));
        Assert.Equal(2, _simulator.State.Counters.Errors(40085));
        var counters = await Http.GetFromJsonAsync<JsonElement>(Sim("sim/counters"));
        Assert.Equal(3, counters.GetProperty("suiteTokensIssued").GetProperty(SuiteId).GetInt32());
        Assert.Equal(9, counters.GetProperty("calls").GetProperty("service/get_suite_token").GetInt32());
    }

    [Fact]
    public async Task A_suite_token_is_checked_missing_unknown_and_expired()
    {
        _simulator.State.Options.SuiteTicketIntervalSeconds = 0; // no timer: only the first ticket
        await using var receiver = await StartReceiverAsync(SuiteId);
        await Suites.RegisterCallbackAsync(SuiteId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);
        var suiteToken = await SuiteTokenAsync();

        await AssertErrorAsync(41022, PostAsync("cgi-bin/service/get_corp_token", new { auth_corpid = CorpA, permanent_code = "x" }), "suite_access_token missing");
        await AssertErrorAsync(40082, PostAsync("cgi-bin/service/get_corp_token?suite_access_token=nope", new { auth_corpid = CorpA, permanent_code = "x" }), "invalid suite_token");
        await AssertErrorAsync(40084, PostAsync($"cgi-bin/service/get_corp_token?suite_access_token={suiteToken}", new { auth_corpid = CorpA, permanent_code = "x" }));
        await AssertErrorAsync(84054, PostAsync($"cgi-bin/service/get_corp_token?suite_access_token={suiteToken}", new { permanent_code = "x" }));
        await AssertErrorAsync(41025, PostAsync($"cgi-bin/service/get_corp_token?suite_access_token={suiteToken}", new { auth_corpid = CorpA }));

        _time.Advance(TimeSpan.FromSeconds(7199));
        await AssertErrorAsync(40029, PostAsync($"cgi-bin/service/get_permanent_code?suite_access_token={suiteToken}", new { auth_code = "nope" }));
        _time.Advance(TimeSpan.FromSeconds(1));
        await AssertErrorAsync(42009, PostAsync($"cgi-bin/service/get_permanent_code?suite_access_token={suiteToken}", new { auth_code = "nope" }), "suite_access_token expired");
        await AssertErrorAsync(42009, PostAsync($"cgi-bin/service/get_corp_token?suite_access_token={suiteToken}", new { auth_corpid = CorpA, permanent_code = "x" }));
        Assert.Equal(5, _simulator.State.Counters.Calls("service/get_corp_token", CorpA));
        Assert.Single(receiver.Posts);
    }

    [Fact]
    public async Task An_install_gives_a_corp_token_that_reads_its_own_corps_lives_and_nobody_elses()
    {
        _simulator.State.AddLive(SharedLive, new LiveSpec { Members = 3, Externals = 2, CorpId = CorpA });
        _simulator.State.AddLive(SharedLive, new LiveSpec { Members = 5, Externals = 1, CorpId = CorpB });
        _simulator.State.AddLive("lv-b-only", new LiveSpec { Members = 1, Externals = 1, CorpId = CorpB });
        using (var put = await Http.PutAsJsonAsync(Sim("sim/lives/lv-b-put-2m2x"), new { members = 4, externals = 0, corpid = CorpB }))
        {
            var live = await JsonAsync(put);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Equal((CorpB, 4), (live.GetProperty("corpId").GetString(), live.GetProperty("members").GetInt32()));
        }

        using (var anchor = await Http.PutAsJsonAsync(Sim("sim/anchors/zhangsan"), new { lives = 3, corpid = CorpB }))
        {
            Assert.Equal(HttpStatusCode.OK, anchor.StatusCode);
        }

        await using var receiver = await StartReceiverAsync(SuiteId);
        await Suites.RegisterCallbackAsync(SuiteId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);
        var suiteToken = await SuiteTokenAsync();

        var tokenA = await InstallAsync(receiver, suiteToken, CorpA, "甲公司");
        var tokenB = await InstallAsync(receiver, suiteToken, CorpB, null);
        Assert.True(Suites.IsAuthorized(SuiteId, CorpA));
        Assert.Equal(new[] { CorpA, CorpB }, Suites.AuthorizedCorpIds(SuiteId));

        // The same livingid is two lives; another corp's live, by its own id, is as unknown as a made-up one.
        var statA = await WatchStatAsync(tokenA, SharedLive);
        Assert.Equal((0, 3, 2), (statA.GetProperty("errcode").GetInt32(), Users(statA, "users"), Users(statA, "external_users")));
        var statB = await WatchStatAsync(tokenB, SharedLive);
        Assert.Equal((5, 1), (Users(statB, "users"), Users(statB, "external_users")));
        await AssertErrorAsync(40058, WatchStatAsync(tokenA, "lv-b-only"), "invalid livingid");
        await AssertErrorAsync(40058, WatchStatAsync(tokenA, "lv-b-put-2m2x"));
        Assert.Equal(4, Users(await WatchStatAsync(tokenB, "lv-b-put-2m2x"), "users"));
        await AssertErrorAsync(40058, WatchStatAsync(tokenA, "no-such-live"));
        // A live every corp sees (the id convention) still answers every corp; a gettoken token of the default corp sees no corp's own lives.
        Assert.Equal(2, Users(await WatchStatAsync(tokenA, "lv-everyone-2m1x"), "users"));
        var selfBuilt = (await Http.GetFromJsonAsync<JsonElement>(
            Sim($"cgi-bin/gettoken?corpid={SimulatorOptions.DefaultCorpId}&corpsecret={SimulatorOptions.DefaultSecret}"))).GetProperty("access_token").GetString()!;
        await AssertErrorAsync(40058, WatchStatAsync(selfBuilt, SharedLive));

        // Discovery: corp B's anchor and its lives are invisible to corp A.
        var bLive = _simulator.State.Anchors.LivesOf("zhangsan", CorpB)[0].LivingId;
        Assert.StartsWith($"lv-{CorpB}-zhangsan-", bLive, StringComparison.Ordinal);
        Assert.Equal(3, (await AllLivingIdsAsync(tokenB, "zhangsan")).Count);
        Assert.Empty(await AllLivingIdsAsync(tokenA, "zhangsan"));
        Assert.Empty(await AllLivingIdsAsync(selfBuilt, "zhangsan"));
        await AssertErrorAsync(40058, LivingInfoAsync(tokenA, bLive));
        await AssertErrorAsync(40058, WatchStatAsync(tokenA, bLive));
        Assert.Equal(0, (await LivingInfoAsync(tokenB, bLive)).GetProperty("errcode").GetInt32());
        await AssertErrorAsync(40058, LivingInfoAsync(tokenA, "lv-b-only"));
        Assert.Equal(0, (await LivingInfoAsync(tokenB, "lv-b-only")).GetProperty("errcode").GetInt32());

        var counters = _simulator.State.Counters;
        Assert.Equal((1, 1, 2), (counters.Calls("service/get_corp_token", CorpA), counters.Calls("service/get_corp_token", CorpB), counters.Calls("service/get_corp_token")));
        Assert.Equal((1, 1), (counters.Calls("service/get_permanent_code", CorpA), counters.Calls("service/get_permanent_code", CorpB)));
        Assert.Equal(6, counters.Calls("living/get_watch_stat", CorpA));
        Assert.Equal(2, counters.TokensIssuedFor(CorpA)); // get_permanent_code's and get_corp_token's
        var secrets = Suites.IssuedSecrets();
        Assert.Contains(tokenA, secrets);
        Assert.Contains(Suites.PermanentCode(SuiteId, CorpA)!, secrets);
        Assert.Contains(Suites.LatestTicket(SuiteId)!, secrets);
    }

    [Fact]
    public async Task An_auth_code_is_good_once_and_for_ten_minutes()
    {
        await using var receiver = await StartReceiverAsync(SuiteId);
        await Suites.RegisterCallbackAsync(SuiteId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);
        var suiteToken = await SuiteTokenAsync();

        var delivery = await Suites.AuthorizeAsync(SuiteId, CorpA);
        Assert.Equal(("create_auth", CorpA, true), (delivery.InfoType, delivery.CorpId, delivery.Accepted));
        var create = receiver.Posts[^1];
        var authCode = create.Event!.Fields["AuthCode"];
        Assert.Equal(SuiteSide.CreateAuthMessage(SuiteId, authCode, T0.ToUnixTimeSeconds()), create.Plaintext);
        Assert.Equal($"<xml><SuiteId><![CDATA[{SuiteId}]]></SuiteId><AuthCode><![CDATA[{authCode}]]></AuthCode><InfoType><![CDATA[create_auth]]></InfoType>"
            + $"<TimeStamp>{T0.ToUnixTimeSeconds()}</TimeStamp><State><![CDATA[]]></State></xml>", create.Plaintext);

        var first = await PermanentCodeAsync(suiteToken, authCode);
        Assert.False(first.TryGetProperty("errcode", out _));
        Assert.Equal((CorpA, CorpA, 1000005, "WatchStat"), (first.GetProperty("auth_corp_info").GetProperty("corpid").GetString(),
            first.GetProperty("auth_corp_info").GetProperty("corp_name").GetString(),
            first.GetProperty("auth_info").GetProperty("agent")[0].GetProperty("agentid").GetInt32(),
            first.GetProperty("auth_info").GetProperty("agent")[0].GetProperty("name").GetString()));
        Assert.Equal(Suites.PermanentCode(SuiteId, CorpA), first.GetProperty("permanent_code").GetString());
        await AssertErrorAsync(40029, PermanentCodeAsync(suiteToken, authCode), "invalid code");

        // A second install flow of the same corp: the same permanent code. An auth_code older than ten minutes: 40029.
        await Suites.AuthorizeAsync(SuiteId, CorpA);
        var second = await PermanentCodeAsync(suiteToken, receiver.Posts[^1].Event!.Fields["AuthCode"]);
        Assert.Equal(first.GetProperty("permanent_code").GetString(), second.GetProperty("permanent_code").GetString());
        await Suites.AuthorizeAsync(SuiteId, CorpA);
        var late = receiver.Posts[^1].Event!.Fields["AuthCode"];
        _time.Advance(TimeSpan.FromSeconds(SuiteSide.AuthCodeLifetimeSeconds));
        await AssertErrorAsync(40029, PermanentCodeAsync(suiteToken, late));
    }

    [Fact]
    public async Task Cancel_auth_is_pushed_and_revokes_the_permanent_code_and_corp_tokens_until_the_corp_installs_again()
    {
        await using var receiver = await StartReceiverAsync(SuiteId);
        await Suites.RegisterCallbackAsync(SuiteId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);
        var suiteToken = await SuiteTokenAsync();
        var oldToken = await InstallAsync(receiver, suiteToken, CorpA, "甲公司");
        var oldCode = Suites.PermanentCode(SuiteId, CorpA)!;

        using (var change = await Http.PostAsJsonAsync(Sim($"sim/suites/{SuiteId}/change"), new { corpid = CorpA }))
        {
            var answer = await JsonAsync(change);
            Assert.Equal((HttpStatusCode.OK, "change_auth", true), (change.StatusCode, answer.GetProperty("infoType").GetString(), answer.GetProperty("accepted").GetBoolean()));
            Assert.Equal(SuiteSide.ChangeAuthMessage(SuiteId, CorpA, T0.ToUnixTimeSeconds()), receiver.Posts[^1].Plaintext);
        }

        Assert.Equal(0, (await WatchStatAsync(oldToken, "lv-any-1m1x")).GetProperty("errcode").GetInt32());

        using var cancel = await Http.PostAsJsonAsync(Sim($"sim/suites/{SuiteId}/cancel"), new { corpid = CorpA });
        var cancelText = await cancel.Content.ReadAsStringAsync();
        var cancelled = JsonDocument.Parse(cancelText).RootElement;
        Assert.Equal((HttpStatusCode.OK, "cancel_auth", CorpA, 200, "success"), (cancel.StatusCode, cancelled.GetProperty("infoType").GetString(),
            cancelled.GetProperty("corpId").GetString(), cancelled.GetProperty("status").GetInt32(), cancelled.GetProperty("body").GetString()));
        AssertNoSecrets(cancelText, SuiteSecret);
        Assert.Equal($"<xml><SuiteId><![CDATA[{SuiteId}]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType><TimeStamp>{T0.ToUnixTimeSeconds()}</TimeStamp>"
            + $"<AuthCorpId><![CDATA[{CorpA}]]></AuthCorpId></xml>", receiver.Posts[^1].Plaintext);
        Assert.False(Suites.IsAuthorized(SuiteId, CorpA));
        Assert.Null(Suites.PermanentCode(SuiteId, CorpA));

        await AssertErrorAsync(40084, CorpTokenAsync(suiteToken, CorpA, oldCode), "invalid permanent_code");
        await AssertErrorAsync(48004, WatchStatAsync(oldToken, "lv-any-1m1x"), "auth relation invalid");
        using (var notAuthorized = await Http.PostAsJsonAsync(Sim($"sim/suites/{SuiteId}/change"), new { corpid = CorpA }))
        {
            Assert.Equal(HttpStatusCode.NotFound, notAuthorized.StatusCode);
        }

        var newToken = await InstallAsync(receiver, suiteToken, CorpA, null);
        var newCode = Suites.PermanentCode(SuiteId, CorpA)!;
        Assert.NotEqual(oldCode, newCode);
        Assert.Equal(0, (await WatchStatAsync(newToken, "lv-any-1m1x")).GetProperty("errcode").GetInt32());
        await AssertErrorAsync(40084, CorpTokenAsync(suiteToken, CorpA, oldCode));
        await AssertErrorAsync(48004, WatchStatAsync(oldToken, "lv-any-1m1x"));
        Assert.Equal(4, _simulator.State.Counters.Calls("service/get_corp_token", CorpA));
        Assert.Equal(2, _simulator.State.Counters.Errors(48004));
    }

    [Fact]
    public async Task The_control_API_drives_suites_and_never_answers_a_secret()
    {
        await using var receiver = await StartReceiverAsync("wwsuite-ctl");
        var answers = new StringBuilder();
        async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, object? body = null)
        {
            using var request = new HttpRequestMessage(method, Sim(path)) { Content = body is null ? null : JsonContent.Create(body) };
            using var response = await Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            answers.AppendLine(text);
            return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
        }

        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Put, "sim/suites/wwsuite-ctl/callback",
            new { url = receiver.Url, token = WeComPublishedSample.Token, encodingAesKey = WeComPublishedSample.EncodingAesKey })).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Put, "sim/suites/wwsuite-ctl", new { secret = "ctl-secret" })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Post, "sim/suites/wwsuite-ctl/ticket")).Status);
        var registered = await SendAsync(HttpMethod.Put, "sim/suites/wwsuite-ctl/callback",
            new { url = receiver.Url, token = WeComPublishedSample.Token, encodingAesKey = WeComPublishedSample.EncodingAesKey });
        Assert.Equal(HttpStatusCode.OK, registered.Status);
        var ticket = await SendAsync(HttpMethod.Post, "sim/suites/wwsuite-ctl/ticket");
        Assert.Equal(("suite_ticket", true), (ticket.Body.GetProperty("infoType").GetString(), ticket.Body.GetProperty("accepted").GetBoolean()));
        var authorized = await SendAsync(HttpMethod.Post, "sim/suites/wwsuite-ctl/authorize", new { corpid = CorpA, corpName = "甲公司" });
        Assert.Equal((HttpStatusCode.OK, "create_auth", CorpA), (authorized.Status, authorized.Body.GetProperty("infoType").GetString(), authorized.Body.GetProperty("corpId").GetString()));
        var suiteToken = await SuiteTokenAsync("wwsuite-ctl", "ctl-secret");
        var permanent = await PermanentCodeAsync(suiteToken, receiver.Posts[^1].Event!.Fields["AuthCode"]);
        Assert.Equal("甲公司", permanent.GetProperty("auth_corp_info").GetProperty("corp_name").GetString());
        var status = await SendAsync(HttpMethod.Get, "sim/suites/wwsuite-ctl");
        Assert.Equal(new[] { CorpA }, status.Body.GetProperty("authorizedCorpIds").EnumerateArray().Select(c => c.GetString()!));
        Assert.Equal(3, status.Body.GetProperty("deliveries").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "sim/suites/wwsuite-ctl/cancel", new { corpid = CorpA })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Post, "sim/suites/wwsuite-ctl/cancel", new { corpid = CorpA })).Status);
        var settings = await SendAsync(HttpMethod.Put, "sim/settings", new { suiteTicketLifetimeSeconds = 900 });
        Assert.Equal((600, 900, 7200), (settings.Body.GetProperty("suiteTicketIntervalSeconds").GetInt32(),
            settings.Body.GetProperty("suiteTicketLifetimeSeconds").GetInt32(), settings.Body.GetProperty("suiteTokenLifetimeSeconds").GetInt32()));
        await SendAsync(HttpMethod.Get, "sim/counters");

        var everything = answers.ToString();
        AssertNoSecrets(everything, SuiteSecret);
        Assert.NotEmpty(Suites.IssuedSecrets());
        Assert.All(Suites.IssuedSecrets(), secret => Assert.DoesNotContain(secret, everything, StringComparison.Ordinal));
        Assert.DoesNotContain("ctl-secret", everything, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PUT", "sim/suites/wwsuite-sim-0001", """{"secret": ""}""")]
    [InlineData("PUT", "sim/suites/wwsuite-sim-0001", """{"secret": 7}""")]
    [InlineData("PUT", "sim/suites/wwsuite-sim-0001", """{"secret": "s", "extra": 1}""")]
    [InlineData("PUT", "sim/suites/wwsuite-sim-0001/callback", """{"url": "ftp://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("PUT", "sim/suites/wwsuite-sim-0001/callback", """{"url": "http://127.0.0.1/cb", "token": "QDG 6eK!", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("PUT", "sim/suites/wwsuite-sim-0001/callback", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "short"}""")]
    [InlineData("PUT", "sim/suites/wwsuite-sim-0001/callback", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK"}""")]
    [InlineData("PUT", "sim/suites/wwsuite-sim-0001/callback?verify=maybe", """{"url": "http://127.0.0.1/cb", "token": "QDG6eK", "encodingAesKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}""")]
    [InlineData("POST", "sim/suites/wwsuite-sim-0001/authorize", "{}")]
    [InlineData("POST", "sim/suites/wwsuite-sim-0001/authorize", """{"corpid": 5}""")]
    [InlineData("POST", "sim/suites/wwsuite-sim-0001/authorize", """{"corpid": "ww-a", "corpName": 5}""")]
    [InlineData("POST", "sim/suites/wwsuite-sim-0001/change", """{"corpid": "ww-a", "corpName": "x"}""")]
    [InlineData("POST", "sim/suites/wwsuite-sim-0001/cancel", "[1]")]
    [InlineData("PUT", "sim/lives/lv-corp-1m1x", """{"members": 1, "corpid": 7}""")]
    [InlineData("PUT", "sim/lives/lv-corp-1m1x", """{"members": 1, "corpid": ""}""")]
    [InlineData("PUT", "sim/anchors/zhangsan", """{"lives": 3, "corpid": 7}""")]
    [InlineData("PUT", "sim/anchors/zhangsan", """{"lives": 3, "corpid": ""}""")]
    [InlineData("PUT", "sim/settings", """{"suiteTicketIntervalSeconds": -1}""")]
    public async Task Bad_suite_control_input_answers_400(string method, string path, string body)
    {
        await AssertBadRequestAsync(Http, method, Sim(path), body, SuiteSecret);

        Assert.Null(Suites.CallbackUrl(SuiteId));
    }

    /// <summary>The install flow as the app runs it: create_auth pushed, its auth_code exchanged, then a corp token from the permanent code.</summary>
    private async Task<string> InstallAsync(CallbackReceiver receiver, string suiteToken, string corpId, string? corpName)
    {
        var delivery = await Suites.AuthorizeAsync(SuiteId, corpId, corpName);
        Assert.True(delivery.Accepted);
        var create = receiver.Posts[^1].Event!;
        Assert.Equal(("create_auth", SuiteId), (create.Fields["InfoType"], create.Fields["SuiteId"]));

        var permanent = await PermanentCodeAsync(suiteToken, create.Fields["AuthCode"]);
        Assert.Equal((corpId, corpName ?? corpId), (permanent.GetProperty("auth_corp_info").GetProperty("corpid").GetString(),
            permanent.GetProperty("auth_corp_info").GetProperty("corp_name").GetString()));
        Assert.False(string.IsNullOrEmpty(permanent.GetProperty("access_token").GetString()));

        var corpToken = await CorpTokenAsync(suiteToken, corpId, permanent.GetProperty("permanent_code").GetString()!);
        Assert.False(corpToken.TryGetProperty("errcode", out _));
        Assert.Equal(7200, corpToken.GetProperty("expires_in").GetInt32());
        return corpToken.GetProperty("access_token").GetString()!;
    }

    private async Task<string> SuiteTokenAsync(string suiteId = SuiteId, string secret = SuiteSecret)
    {
        var answer = await GetSuiteTokenAsync(new { suite_id = suiteId, suite_secret = secret, suite_ticket = Suites.LatestTicket(suiteId) });
        Assert.Equal(0, answer.GetProperty("errcode").GetInt32());
        return answer.GetProperty("suite_access_token").GetString()!;
    }

    private Task<JsonElement> GetSuiteTokenAsync(object body) => PostAsync("cgi-bin/service/get_suite_token", body);

    private Task<JsonElement> PermanentCodeAsync(string suiteToken, string authCode) =>
        PostAsync($"cgi-bin/service/get_permanent_code?suite_access_token={suiteToken}", new { auth_code = authCode });

    private Task<JsonElement> CorpTokenAsync(string suiteToken, string corpId, string permanentCode) =>
        PostAsync($"cgi-bin/service/get_corp_token?suite_access_token={suiteToken}", new { auth_corpid = corpId, permanent_code = permanentCode });

    private Task<JsonElement> WatchStatAsync(string accessToken, string livingId) =>
        PostAsync($"cgi-bin/living/get_watch_stat?access_token={accessToken}", new { livingid = livingId, next_key = "0" });

    private Task<JsonElement> LivingInfoAsync(string accessToken, string livingId) =>
        Http.GetFromJsonAsync<JsonElement>(Sim($"cgi-bin/living/get_living_info?access_token={accessToken}&livingid={livingId}"));

    private async Task<IReadOnlyList<string>> AllLivingIdsAsync(string accessToken, string userId)
    {
        var answer = await PostAsync($"cgi-bin/living/get_user_all_livingid?access_token={accessToken}", new { userid = userId });
        Assert.Equal(0, answer.GetProperty("errcode").GetInt32());
        return [.. answer.GetProperty("livingid_list").EnumerateArray().Select(l => l.GetString()!)];
    }

    private async Task<JsonElement> PostAsync(string path, object body)
    {
        using var response = await Http.PostAsJsonAsync(Sim(path), body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await JsonAsync(response);
    }

    private static async Task AssertErrorAsync(int errcode, Task<JsonElement> call, string? errmsg = null)
    {
        var answer = await call;
        Assert.Equal(errcode, answer.GetProperty("errcode").GetInt32());
        if (errmsg is not null) Assert.Equal(errmsg, answer.GetProperty("errmsg").GetString());
    }

    private static int Users(JsonElement watchStat, string list) => watchStat.GetProperty("stat_info").GetProperty(list).GetArrayLength();

    private Uri Sim(string path) => new(_simulator.BaseUrl, path);

    /// <summary>A suite's instruction callback for <paramref name="suiteId"/> (receiveid = suite_id), answering a push "success".</summary>
    private static Task<CallbackReceiver> StartReceiverAsync(string suiteId, string echoSuffix = "") =>
        CallbackReceiver.StartAsync(suiteId, echoSuffix, postAnswer: "success");
}
