using System.Net;
using System.Text;
using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom.Callbacks;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Callbacks;

/// <summary>
/// WeCom's callback end to end: the simulator, as WeCom, calls <c>/api/wecom/callback/{app}</c> over real HTTP on
/// 127.0.0.1 (the function behind a real listener, as the host serves it); the runs it starts are driven through the
/// Azurite queue by the queue driver. The clock is injected so that the stalled-run sweeper can be brought in.
/// </summary>
public sealed class WeComCallbackTests : PipelineTest
{
    public const string Token = "WatchStatSim42";
    public const string AesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    private const string Corp = SimulatorOptions.DefaultCorpId;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private FunctionEndpoint _endpoint = null!;

    protected override TimeProvider? Time => _time;

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:CallbackToken"] = Token,
        ["WeCom:EncodingAesKey"] = AesKey,
        // An app with no callback keys: it has no callback route.
        ["WeCom:Apps:sales:CorpId"] = "ww-sim-sales",
        ["WeCom:Apps:sales:Secret"] = "sales-secret",
    };

    private CallbackSender Sender => Simulator.State.Callbacks;
    private HttpClient Http => _endpoint.Client;
    private LivingStore Livings => Host.Get<LivingStore>();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Livings.EnsureCreatedAsync();
        _endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        // As the admin saving the URL in the console: WeCom checks it first, and saves it only if the check passes.
        var check = await Sender.RegisterCallbackAsync(Corp, _endpoint.CallbackUrl("default").ToString(), Token, AesKey);
        Assert.True(check!.Verified, $"URL check: {check}");
    }

    public override async Task DisposeAsync()
    {
        await _endpoint.DisposeAsync();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task The_URL_check_answers_the_decrypted_echostr_as_plain_text_and_nothing_else()
    {
        var crypto = new WeComMessageCrypto(Token, AesKey, Corp);
        var echo = crypto.Encrypt("6230218093587431402");

        using var response = await Http.GetAsync(Query("api/wecom/callback/default", crypto.Signature("1732960000", "n0nce", echo), "1732960000", "n0nce", echo));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Encoding.UTF8.GetBytes("6230218093587431402"), await response.Content.ReadAsByteArrayAsync());
        Assert.True((await Sender.VerifyCallbackAsync(Corp)).Verified);
    }

    [Fact]
    public async Task A_live_that_ends_in_the_simulator_is_harvested_through_the_callback_with_every_row()
    {
        var livingId = NewLiveId("300m200x");

        var sent = await Sender.ChangeStatusAsync(livingId, LivingStatus.Ended);

        Assert.Equal((200, ""), (sent.Deliveries.Single().Status, sent.Deliveries.Single().Body));
        Assert.Equal(1, await QueueLengthAsync());
        await NewDriver().DrainAsync();
        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Completed, 300, 200), (status.State, status.MembersWritten, status.ExternalWritten));
        RowAssertions.MatchSimulator(Simulator.State.FindLive(livingId)!, await RowsAsync(livingId), status.RunId);

        var living = await Livings.GetAsync(Lives.Sim(livingId), default);
        Assert.Equal((LivingStore.ArrivedViaCallback, LivingStatus.Ended, "ended"),
            (living!.GetString("ArrivedVia"), living.GetInt32("Status"), living.GetString("StatusName")));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(sent.CreateTime!.Value), living.GetDateTimeOffset("StatusAt"));
        // The nightly harvest (dry run here: it would touch other tests' lives in the shared tables) refreshes it like
        // a live that arrived over HTTP: it reads its details from WeCom and would harvest it again.
        var decision = (await Host.Get<Discovery>().RunAsync("default", dryRun: true, default)).Single(d => d.LivingId == livingId);
        Assert.True(decision.Enqueue, decision.Reason);
        Assert.StartsWith("arrived through WeCom's callback", decision.Reason, StringComparison.Ordinal);
        Assert.Equal(LivingStatus.Ended, decision.Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_same_event_three_times_starts_one_run_and_again_after_it_completed_none(bool concurrent)
    {
        var livingId = NewLiveId("150m50x");

        var sent = await Sender.ChangeStatusAsync(livingId, LivingStatus.Ended, deliveries: 3, concurrent: concurrent);

        Assert.All(sent.Deliveries, d => Assert.Equal(200, d.Status));
        Assert.Equal(1, await QueueLengthAsync());
        await NewDriver().DrainAsync();
        var run = await StatusAsync(livingId);
        Assert.Equal(HarvestStates.Completed, run.State);
        var callsBefore = WeCom.Calls("living/get_watch_stat");

        // WeCom delivers it once more, after the run has completed: still the same event, still no new run.
        var late = await Sender.ChangeStatusAsync(livingId, LivingStatus.Ended, createTime: sent.CreateTime);
        Assert.Equal(200, late.Deliveries.Single().Status);
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Equal((run.RunId, HarvestStates.Completed), ((await StatusAsync(livingId)).RunId, (await StatusAsync(livingId)).State));
        Assert.Equal(callsBefore, WeCom.Calls("living/get_watch_stat"));

        // A new ended event (a later CreateTime), an hour on, is news: it harvests the live again.
        _time.Advance(TimeSpan.FromHours(1));
        var again = await Sender.ChangeStatusAsync(livingId, LivingStatus.Ended, createTime: sent.CreateTime + 3600);
        Assert.Equal(200, again.Deliveries.Single().Status);
        Assert.Equal(1, await QueueLengthAsync());
        Assert.NotEqual(run.RunId, (await StatusAsync(livingId)).RunId);
    }

    [Fact]
    public async Task A_delivery_that_dies_after_starting_the_run_is_retried_into_that_run_not_a_second()
    {
        var livingId = NewLiveId("200m100x");
        // The first delivery dies between starting the run and noting it on the event's claim: WeCom gets no answer.
        Faults.FailNth(1, r => r.Method == RequestMethod.Patch && r.Uri.Path.Contains("ended-event-", StringComparison.Ordinal));

        var first = await Sender.ChangeStatusAsync(livingId, LivingStatus.Ended);
        Assert.Equal(500, first.Deliveries.Single().Status);
        var run = await StatusAsync(livingId);
        Assert.Equal(HarvestStates.Queued, run.State);
        Assert.Equal(0, await QueueLengthAsync()); // the function failed, so its output was never sent

        // The run whose first page was never sent is the sweeper's: a stall period later it is re-driven and completes.
        _time.Advance(TimeSpan.FromSeconds(Host.Get<Microsoft.Extensions.Options.IOptions<HarvestOptions>>().Value.StallSeconds + 1));
        var redriven = await Host.Get<StalledRunSweeper>().SweepAsync(default);
        Assert.Contains(redriven, r => r.LivingId == livingId && r.RunId == run.RunId);
        await NewDriver().DrainAsync();
        var done = await StatusAsync(livingId);
        Assert.Equal((run.RunId, HarvestStates.Completed, 300), (done.RunId, done.State, done.MembersWritten + done.ExternalWritten));

        // WeCom's retry comes only now. Its claim has no run noted, but the run started since the claim is the event's own.
        _time.Advance(TimeSpan.FromSeconds(5));
        var retry = await Sender.ChangeStatusAsync(livingId, LivingStatus.Ended, createTime: first.CreateTime);
        Assert.Equal(200, retry.Deliveries.Single().Status);
        Assert.Equal((0, run.RunId, HarvestStates.Completed), (await QueueLengthAsync(), (await StatusAsync(livingId)).RunId, (await StatusAsync(livingId)).State));

        // The retry noted the run: one more delivery is a plain duplicate.
        var third = await Sender.ChangeStatusAsync(livingId, LivingStatus.Ended, createTime: first.CreateTime);
        Assert.Equal(200, third.Deliveries.Single().Status);
        Assert.Equal((0, run.RunId), (await QueueLengthAsync(), (await StatusAsync(livingId)).RunId));
        Assert.Equal(run.RunId, (await Livings.Livings.GetEntityAsync<TableEntity>(Lives.Sim(livingId).PartitionKey, LivingStore.EndedEventRowKey(first.CreateTime!.Value))).Value.GetString("RunId"));
    }

    [Fact]
    public async Task Scheduled_live_and_cancelled_update_the_live_and_start_nothing_and_a_late_older_event_changes_nothing()
    {
        var livingId = NewLiveId("20m20x");
        var at = _time.GetUtcNow().ToUnixTimeSeconds();

        foreach (var (status, name, offset) in new[] { (LivingStatus.Scheduled, "scheduled", 0), (LivingStatus.Live, "live", 60) })
        {
            var sent = await Sender.ChangeStatusAsync(livingId, status, createTime: at + offset);
            Assert.Equal(200, sent.Deliveries.Single().Status);
            var row = await Livings.GetAsync(Lives.Sim(livingId), default);
            Assert.Equal((status, name), (row!.GetInt32("Status"), row.GetString("StatusName")));
        }
        // A retry of the "scheduled" event, late: the live stays live.
        await Sender.ChangeStatusAsync(livingId, LivingStatus.Scheduled, createTime: at);
        Assert.Equal("live", (await Livings.GetAsync(Lives.Sim(livingId), default))!.GetString("StatusName"));

        var cancelled = NewLiveId("1m1x");
        await Sender.ChangeStatusAsync(cancelled, LivingStatus.Cancelled);
        Assert.Equal("cancelled", (await Livings.GetAsync(Lives.Sim(cancelled), default))!.GetString("StatusName"));

        Assert.Equal(0, await QueueLengthAsync());
        Assert.Null(await Store.GetAsync(Lives.Sim(livingId), default));
        Assert.Null(await Store.GetAsync(Lives.Sim(cancelled), default));
        Assert.Null((await Livings.GetAsync(Lives.Sim(livingId), default))!.GetString("ArrivedVia"));
    }

    [Theory]
    [InlineData("<xml><ToUserName><![CDATA[ww-sim-corp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1732960000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType><UserID>zhangsan</UserID></xml>", "event", "change_contact")]
    [InlineData("<xml><ToUserName><![CDATA[ww-sim-corp]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1732960000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好 lv-zzz]]></Content><MsgId>1234</MsgId><AgentID>1000002</AgentID></xml>", "text", "")]
    public async Task Other_events_and_message_types_are_acknowledged_and_ignored_with_their_type_only_at_Debug(string xml, string msgType, string eventName)
    {
        Host.Logs.Clear();

        var sent = await Sender.SendRawAsync(Corp, xml);

        Assert.Equal(200, sent.Deliveries.Single().Status);
        Assert.Equal(0, await QueueLengthAsync());
        var line = Assert.Single(Host.Logs.GetSnapshot(), r => r.Message.Contains("ignored", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Debug, line.Level);
        Assert.Contains($"MsgType {msgType}", line.Message, StringComparison.Ordinal);
        if (eventName.Length > 0) Assert.Contains(eventName, line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Host.Logs.GetSnapshot(), r => r.Message.Contains("zhangsan", StringComparison.Ordinal) || r.Message.Contains("你好", StringComparison.Ordinal));
    }

    public static TheoryData<CallbackTamper, int, string> Tampered => new()
    {
        { CallbackTamper.Signature, 401, "BadSignature" },
        { CallbackTamper.Ciphertext, 401, "BadSignature" },
        { CallbackTamper.Timestamp, 401, "BadSignature" },
        { CallbackTamper.Receiver, 400, "WrongReceiver" },
        { CallbackTamper.Xml, 400, "BadXml" },
    };

    [Theory]
    [MemberData(nameof(Tampered))]
    public async Task A_tampered_event_or_one_for_another_corp_is_refused_and_changes_nothing(CallbackTamper tamper, int status, string reason)
    {
        var livingId = NewLiveId("10m10x");
        Host.Logs.Clear();

        var sent = await Sender.ChangeStatusAsync(livingId, LivingStatus.Ended, deliveries: 2, tamper: tamper);

        Assert.All(sent.Deliveries, d => Assert.Equal(status, d.Status));
        await AssertNothingChangedAsync(livingId);
        var refused = Host.Logs.GetSnapshot().Where(r => r.Message.Contains("refused", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, refused.Count);
        Assert.All(refused, r => Assert.Contains($"({reason})", r.Message, StringComparison.Ordinal));
        AssertNoBodyOrKeyLogged();
        Assert.Contains("application/problem+json", await ProblemTypeAsync(tamper), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_requests_get_their_status_and_change_nothing()
    {
        var crypto = new WeComMessageCrypto(Token, AesKey, Corp);
        var livingId = NewLiveId("5m5x");
        var ended = CallbackSender.LivingStatusEvent(Corp, "1000002", livingId, LivingStatus.Ended, 1732960000);
        var encrypt = crypto.Encrypt(ended);
        var body = WeComCallbackEnvelope.Build(Corp, "1000002", encrypt);
        var signed = Query("api/wecom/callback/default", crypto.Signature("1732960000", "n1", encrypt), "1732960000", "n1");
        Host.Logs.Clear();

        var cases = new (string What, Func<Task<HttpResponseMessage>> Send, int Status)[]
        {
            ("no signature", () => Http.PostAsync("api/wecom/callback/default", Xml(body)), 401),
            ("URL check without echostr", () => Http.GetAsync(Query("api/wecom/callback/default", crypto.Signature("1", "n", ""), "1", "n")), 401),
            ("a body over 64 KiB", () => Http.PostAsync(signed, Xml(body.Replace("</xml>", $"<Pad>{new string('x', 65 * 1024)}</Pad></xml>", StringComparison.Ordinal))), 400),
            ("a DTD", () => Http.PostAsync(signed, Xml("<!DOCTYPE xml [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>" + body)), 400),
            ("no Encrypt", () => Http.PostAsync(signed, Xml("<xml><ToUserName>ww-sim-corp</ToUserName></xml>")), 400),
            ("not UTF-8", () => Http.PostAsync(signed, new ByteArrayContent(new byte[] { 0x3c, 0x78, 0xff, 0xfe })), 400),
            ("an app with no callback keys", () => Http.PostAsync(signed.Replace("/default", "/sales", StringComparison.Ordinal), Xml(body)), 404),
            ("an app that does not exist", () => Http.PostAsync(signed.Replace("/default", "/nobody", StringComparison.Ordinal), Xml(body)), 404),
        };
        foreach (var (what, send, expected) in cases)
        {
            using var response = await send();
            Assert.True(expected == (int)response.StatusCode, $"{what}: {(int)response.StatusCode}, expected {expected}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var detail = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("sales", detail, StringComparison.Ordinal); // 404 does not tell an anonymous caller which apps exist
        }
        await AssertNothingChangedAsync(livingId);
        AssertNoBodyOrKeyLogged(encrypt);

        // The same signed body, sent as is, is accepted: the cases above fail for what they change, not by accident.
        using var accepted = await Http.PostAsync(signed, Xml(body));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(1, await QueueLengthAsync());
    }

    private async Task AssertNothingChangedAsync(string livingId)
    {
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Null(await Store.GetAsync(Lives.Sim(livingId), default));
        Assert.Null(await Livings.GetAsync(Lives.Sim(livingId), default));
        var anyClaim = Livings.Livings.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {TableKeys.Escape(livingId)}"));
        await foreach (var row in anyClaim) Assert.Fail($"row {row.RowKey} written for {livingId}");
    }

    private void AssertNoBodyOrKeyLogged(string? encrypt = null)
    {
        foreach (var record in Host.Logs.GetSnapshot())
        {
            var text = record.Message + record.Exception;
            Assert.DoesNotContain("<xml", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
            Assert.DoesNotContain(AesKey, text, StringComparison.Ordinal);
            if (encrypt is not null) Assert.DoesNotContain(encrypt[..24], text, StringComparison.Ordinal);
        }
    }

    /// <summary>The content type of a refusal, seen by sending one tampered event straight to the endpoint.</summary>
    private async Task<string> ProblemTypeAsync(CallbackTamper tamper)
    {
        var post = CallbackSender.Seal(new CallbackCipher(Token, AesKey), Corp, "1000002",
            CallbackSender.LivingStatusEvent(Corp, "1000002", "lv-probe", LivingStatus.Ended, 1), tamper, 1732960000, "probe");
        using var response = await Http.PostAsync(Query("api/wecom/callback/default", post.MsgSignature, post.Timestamp, post.Nonce), Xml(post.Body));
        return response.Content.Headers.ContentType?.ToString() ?? "";
    }

    private static StringContent Xml(string body) => new(body, Encoding.UTF8, "text/xml");

    private static string Query(string path, string signature, string timestamp, string nonce, string? echostr = null) =>
        $"{path}?msg_signature={Uri.EscapeDataString(signature)}&timestamp={timestamp}&nonce={nonce}"
        + (echostr is null ? "" : "&echostr=" + Uri.EscapeDataString(echostr));
}
