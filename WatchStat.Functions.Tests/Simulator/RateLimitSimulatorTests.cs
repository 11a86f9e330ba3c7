using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using WatchStat.Tests.WeCom;
using WatchStat.WeComSimulator;
using static WatchStat.Tests.Simulator.SimulatorAssertions;

namespace WatchStat.Tests.Simulator;

/// <summary>
/// WeCom's per-enterprise, per-API frequency limits as the simulator enforces them over real HTTP: 45009 "api freq
/// out of limit" beyond CorpCallsPerMinute in a calendar minute or CorpCallsPerHour in a calendar hour of its clock (a
/// FakeTimeProvider here), the API not run, other corps and other APIs untouched; their settings and counters; and a
/// long-history anchor listed page by page.
/// </summary>
public sealed class RateLimitSimulatorTests : IAsyncLifetime
{
    private const string CorpA = SimulatorOptions.DefaultCorpId;
    private const string SecretA = SimulatorOptions.DefaultSecret;
    private const string CorpB = "ww-corp-rate-b";
    private const string SecretB = "secret-b-0123456789abcdef";
    private const string SuiteId = "wwsuite-rate-0001";
    private const string SuiteSecret = "suite-secret-rate-0123456789";
    private const string WatchStat = "living/get_watch_stat";
    private const string LiveId = "lv-rate-3m2x";

    // Half a minute into 09:00 UTC: the calendar minute turns at 09:01:00, the hour at 10:00:00.
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 30, TimeSpan.Zero);
    private static readonly HttpClient Http = new();

    private readonly FakeTimeProvider _time = new(T0);
    private RunningSimulator _simulator = null!;

    private SimulatorCounters Counters => _simulator.State.Counters;

    public async Task InitializeAsync() =>
        _simulator = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            Apps = [new SimulatedApp { CorpId = CorpA, Secret = SecretA }, new SimulatedApp { CorpId = CorpB, Secret = SecretB }],
            Suites = [new SimulatedSuite { SuiteId = SuiteId, SuiteSecret = SuiteSecret }],
        }, _time);

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Fact]
    public async Task Unlimited_by_default()
    {
        var settings = await Http.GetFromJsonAsync<JsonElement>(Sim("sim/settings"));
        Assert.Equal((0, 0), (settings.GetProperty("corpCallsPerMinute").GetInt32(), settings.GetProperty("corpCallsPerHour").GetInt32()));
        var token = await TokenAsync(CorpA, SecretA);

        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(0, (await WatchStatAsync(token, LiveId)).GetProperty("errcode").GetInt32());
        }

        Assert.Equal(0, Counters.Errors(45009));
    }

    [Fact]
    public async Task The_sixth_call_in_a_minute_is_45009_and_does_not_run_until_the_next_minute()
    {
        await SetLimitsAsync(perMinute: 5, perHour: 12);
        var token = await TokenAsync(CorpA, SecretA);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(0, (await WatchStatAsync(token, LiveId)).GetProperty("errcode").GetInt32());
        }

        await AssertFrequencyLimitAsync(WatchStatAsync(token, LiveId));
        Assert.Equal(5, Counters.WatchStatTimeline(LiveId).Count); // the sixth got no page: the API did not run
        Assert.Equal(6, Counters.Calls(WatchStat, CorpA));
        Assert.Equal((1L, 0L), (Counters.RateLimited(CorpA, WatchStat, "minute"), Counters.RateLimited(CorpA, WatchStat, "hour")));
        Assert.Equal(1, Counters.Errors(45009));

        // Still the same calendar minute at 09:00:59, however long the client waited; 09:01:00 lets calls in again.
        _time.Advance(TimeSpan.FromSeconds(29));
        await AssertFrequencyLimitAsync(WatchStatAsync(token, LiveId));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, (await WatchStatAsync(token, LiveId)).GetProperty("errcode").GetInt32());
        Assert.Equal(6, Counters.WatchStatTimeline(LiveId).Count);
        Assert.Equal(2, Counters.RateLimited(CorpA, WatchStat, "minute"));
    }

    [Fact]
    public async Task After_the_hours_calls_every_call_is_45009_until_the_next_hour_across_minutes()
    {
        await SetLimitsAsync(perMinute: 5, perHour: 12);
        var token = await TokenAsync(CorpA, SecretA);

        Assert.Equal(5, await SucceedingCallsAsync(token, 6)); // 09:00: 5, then the minute's limit (refused calls use up nothing)
        _time.SetUtcNow(At(9, 1));
        Assert.Equal(5, await SucceedingCallsAsync(token, 5)); // 09:01: 10 in the hour
        _time.SetUtcNow(At(9, 2));
        Assert.Equal(2, await SucceedingCallsAsync(token, 4)); // 09:02: 12 in the hour, then the hour's limit
        Assert.Equal((1L, 2L), (Counters.RateLimited(CorpA, WatchStat, "minute"), Counters.RateLimited(CorpA, WatchStat, "hour")));

        foreach (var minute in new[] { 3, 17, 59 })
        {
            _time.SetUtcNow(At(9, minute));
            await AssertFrequencyLimitAsync(WatchStatAsync(token, LiveId));
        }

        _time.SetUtcNow(At(9, 59).AddSeconds(59));
        await AssertFrequencyLimitAsync(WatchStatAsync(token, LiveId));
        Assert.Equal(12, Counters.WatchStatTimeline(LiveId).Count);
        Assert.Equal((1L, 6L), (Counters.RateLimited(CorpA, WatchStat, "minute"), Counters.RateLimited(CorpA, WatchStat, "hour")));

        _time.SetUtcNow(At(10, 0));
        Assert.Equal(5, await SucceedingCallsAsync(token, 6)); // a new hour: the minute's limit again first
        Assert.Equal(17, Counters.WatchStatTimeline(LiveId).Count);
        Assert.Equal(2, Counters.RateLimited(CorpA, WatchStat, "minute"));
    }

    [Fact]
    public async Task Limits_are_per_corp_and_per_API()
    {
        _simulator.State.AddLive("lv-rate-info", new LiveSpec { Members = 2, Externals = 1 });
        await SetLimitsAsync(perMinute: 5, perHour: 0);
        var tokenA = await TokenAsync(CorpA, SecretA);
        var tokenB = await TokenAsync(CorpB, SecretB);

        Assert.Equal(5, await SucceedingCallsAsync(tokenA, 7));

        // Another corp, same API: its own budget.
        Assert.Equal(5, await SucceedingCallsAsync(tokenB, 5));
        // The same corp, other APIs: their own budgets.
        var info = await Http.GetFromJsonAsync<JsonElement>(Sim($"cgi-bin/living/get_living_info?access_token={tokenA}&livingid=lv-rate-info"));
        Assert.Equal(0, info.GetProperty("errcode").GetInt32());
        var list = await PostAsync($"cgi-bin/living/get_user_all_livingid?access_token={tokenA}", new { userid = "nobody" });
        Assert.Equal(0, list.GetProperty("errcode").GetInt32());

        Assert.Equal((2L, 0L), (Counters.RateLimited(CorpA, WatchStat, "minute"), Counters.RateLimited(CorpB, WatchStat, "minute")));
        Assert.Equal(0, Counters.RateLimited(CorpA, "living/get_living_info", "minute"));
        Assert.Equal(0, Counters.RateLimited(CorpA, WatchStat, "hour")); // the hour is unlimited: never refuses
    }

    [Fact]
    public async Task Gettoken_is_limited_per_corpid_and_only_calls_with_the_right_secret_count()
    {
        await SetLimitsAsync(perMinute: 3, perHour: 0);

        for (int i = 0; i < 3; i++)
        {
            await TokenAsync(CorpA, SecretA);
        }

        var refused = await GetTokenAsync(CorpA, SecretA);
        Assert.Equal((45009, "api freq out of limit"), (refused.GetProperty("errcode").GetInt32(), refused.GetProperty("errmsg").GetString()));
        Assert.False(refused.TryGetProperty("access_token", out _));
        Assert.Equal(3, Counters.TokensIssuedFor(CorpA)); // no token issued for the refused call

        // A wrong secret is refused for what it is, and uses up nothing: a stranger cannot block a corp's token.
        Assert.Equal(40001, (await GetTokenAsync(CorpA, "wrong-secret")).GetProperty("errcode").GetInt32());
        await TokenAsync(CorpB, SecretB);
        Assert.Equal(1, Counters.RateLimited(CorpA, "gettoken", "minute"));

        _time.Advance(TimeSpan.FromSeconds(30));
        await TokenAsync(CorpA, SecretA);
    }

    [Fact]
    public async Task The_suite_APIs_are_limited_per_suite_id()
    {
        _simulator.State.Options.SuiteTicketIntervalSeconds = 0; // no ticket timer: only the first ticket
        await using var receiver = await CallbackReceiver.StartAsync(SuiteId, postAnswer: "success");
        await _simulator.State.Suites.RegisterCallbackAsync(SuiteId, receiver.Url, WeComPublishedSample.Token, WeComPublishedSample.EncodingAesKey);
        var ticket = _simulator.State.Suites.LatestTicket(SuiteId);
        await SetLimitsAsync(perMinute: 2, perHour: 0);
        const string Api = "cgi-bin/service/get_suite_token";

        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(0, (await PostAsync(Api, new { suite_id = SuiteId, suite_secret = SuiteSecret, suite_ticket = ticket })).GetProperty("errcode").GetInt32());
        }

        await AssertFrequencyLimitAsync(PostAsync(Api, new { suite_id = SuiteId, suite_secret = SuiteSecret, suite_ticket = ticket }));
        Assert.Equal(40080, (await PostAsync(Api, new { suite_id = SuiteId, suite_secret = "wrong", suite_ticket = ticket })).GetProperty("errcode").GetInt32());
        Assert.Equal(2, Counters.SuiteTokensIssued(SuiteId));
        Assert.Equal(1, Counters.RateLimited(SuiteId, "service/get_suite_token", "minute"));
    }

    [Fact]
    public async Task Concurrent_calls_never_get_past_the_limit()
    {
        await SetLimitsAsync(perMinute: 10, perHour: 0);
        var token = await TokenAsync(CorpA, SecretA);

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => WatchStatAsync(token, LiveId)));

        Assert.Equal(10, answers.Count(a => a.GetProperty("errcode").GetInt32() == 0));
        Assert.Equal(30, answers.Count(a => a.GetProperty("errcode").GetInt32() == 45009));
        Assert.Equal(30, Counters.RateLimited(CorpA, WatchStat, "minute"));
        Assert.Equal(10, Counters.WatchStatTimeline(LiveId).Count);
    }

    [Fact]
    public async Task The_settings_endpoint_validates_the_limits_and_changes_them_at_run_time()
    {
        foreach (var body in new[]
        {
            """{"corpCallsPerMinute": -1}""",
            """{"corpCallsPerHour": -5}""",
            """{"corpCallsPerMinute": "5"}""",
            """{"corpCallsPerHour": 1.5}""",
            """{"corpCallsPerMinute": null}""",
            """{"corpCallsPerMinute": 5, "corpCallsPerHour": -1}""",
        })
        {
            await AssertBadRequestAsync(Http, "PUT", Sim("sim/settings"), body);
        }

        Assert.Equal((0, 0), (_simulator.State.Options.CorpCallsPerMinute, _simulator.State.Options.CorpCallsPerHour)); // nothing applied

        await SetLimitsAsync(perMinute: 1, perHour: 100);
        var token = await TokenAsync(CorpA, SecretA);
        Assert.Equal(0, (await WatchStatAsync(token, LiveId)).GetProperty("errcode").GetInt32());
        await AssertFrequencyLimitAsync(WatchStatAsync(token, LiveId));

        // 0 lifts the limit at once; the options object is the one the pipeline reads.
        await SetLimitsAsync(perMinute: 0, perHour: 100);
        Assert.Equal(0, (await WatchStatAsync(token, LiveId)).GetProperty("errcode").GetInt32());
        _simulator.State.Options.CorpCallsPerHour = 2;
        await AssertFrequencyLimitAsync(WatchStatAsync(token, LiveId));
        Assert.Equal((1L, 1L), (Counters.RateLimited(CorpA, WatchStat, "minute"), Counters.RateLimited(CorpA, WatchStat, "hour")));
    }

    [Fact]
    public async Task The_counters_endpoint_reports_the_refusals_by_corp_API_and_limit()
    {
        await SetLimitsAsync(perMinute: 2, perHour: 3);
        var token = await TokenAsync(CorpA, SecretA);
        Assert.Equal(2, await SucceedingCallsAsync(token, 3));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await SucceedingCallsAsync(token, 3));

        var counters = await Http.GetFromJsonAsync<JsonElement>(Sim("sim/counters"));
        var refused = counters.GetProperty("rateLimited");
        Assert.Equal(new[] { CorpA }, refused.EnumerateObject().Select(p => p.Name));
        var watchStat = refused.GetProperty(CorpA).GetProperty(WatchStat);
        Assert.Equal((1, 2), (watchStat.GetProperty("minute").GetInt32(), watchStat.GetProperty("hour").GetInt32()));
        Assert.False(refused.GetProperty(CorpA).TryGetProperty("gettoken", out _));
        Assert.Equal(3, counters.GetProperty("errors").GetProperty("45009").GetInt32());
        Assert.Throws<ArgumentException>(() => Counters.RateLimited(CorpA, WatchStat, "day"));

        // Resetting the counters forgets the refusals, not the calls the limits counted: the hour stays blocked.
        using (var reset = await Http.PostAsync(Sim("sim/counters/reset"), null))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        Assert.Empty((await Http.GetFromJsonAsync<JsonElement>(Sim("sim/counters"))).GetProperty("rateLimited").EnumerateObject());
        await AssertFrequencyLimitAsync(WatchStatAsync(token, LiveId));
        Assert.Equal(1, Counters.RateLimited(CorpA, WatchStat, "hour"));
    }

    [Fact]
    public async Task A_long_history_anchor_lists_300_lives_over_two_years_in_pages_of_100()
    {
        using (var put = await Http.PutAsJsonAsync(Sim("sim/anchors/zhaoliu"), new { lives = 300, corpid = CorpA, spacingHours = 58.4 }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var token = await TokenAsync(CorpA, SecretA);
        var ids = new List<string>();
        var pages = new List<int>();
        string cursor = "";
        do
        {
            var page = await PostAsync($"cgi-bin/living/get_user_all_livingid?access_token={token}", new { userid = "zhaoliu", cursor, limit = 100 });
            Assert.Equal(0, page.GetProperty("errcode").GetInt32());
            var list = page.GetProperty("livingid_list").EnumerateArray().Select(l => l.GetString()!).ToList();
            pages.Add(list.Count);
            ids.AddRange(list);
            cursor = page.GetProperty("next_cursor").GetString()!;
        }
        while (cursor.Length > 0 && pages.Count < 10);

        Assert.Equal(3, pages.Count);
        Assert.All(pages, count => Assert.Equal(100, count));
        Assert.Equal(300, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(_simulator.State.Anchors.LivesOf("zhaoliu", CorpA).Select(l => l.LivingId), ids);

        // The oldest (live 299, ended) started 299 × 58.4 hours ago: almost two years.
        var oldest = await Http.GetFromJsonAsync<JsonElement>(Sim($"cgi-bin/living/get_living_info?access_token={token}&livingid={ids[299]}"));
        var info = oldest.GetProperty("living_info");
        Assert.Equal(2, info.GetProperty("status").GetInt32());
        Assert.Equal(T0.ToUnixTimeSeconds() - (299 * (long)TimeSpan.FromHours(58.4).TotalSeconds), info.GetProperty("living_start").GetInt64());
        var age = T0 - DateTimeOffset.FromUnixTimeSeconds(info.GetProperty("living_start").GetInt64());
        Assert.InRange(age.TotalDays, 700, 730);

        // Directly: 300 lives two years apart end to end, in one pass.
        var lives = _simulator.State.Anchors.Add("qianqi", 300, TimeSpan.FromDays(730.0 / 300));
        Assert.Equal(300, lives.Count);
        Assert.InRange((T0 - DateTimeOffset.FromUnixTimeSeconds(lives.Where(l => l.Status == 2).Min(l => l.LivingStart))).TotalDays, 720, 730);
    }

    [Fact]
    public async Task The_anchor_endpoint_validates_the_spacing()
    {
        foreach (var body in new[]
        {
            """{"lives": 3, "spacingHours": 0}""",
            """{"lives": 3, "spacingHours": -1}""",
            """{"lives": 3, "spacingHours": "58"}""",
            """{"lives": 3, "spacingHours": 9000}""",
            """{"lives": 3, "spacingHours": 0.0001}""",
            """{"lives": 100000, "spacingHours": 8760}""",
        })
        {
            await AssertBadRequestAsync(Http, "PUT", Sim("sim/anchors/sunba"), body);
        }

        Assert.Empty(_simulator.State.Anchors.LivesOf("sunba"));
        using var ok = await Http.PutAsJsonAsync(Sim("sim/anchors/sunba"), new { lives = 3, spacingHours = (double?)null });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(3, _simulator.State.Anchors.LivesOf("sunba").Count);
    }

    /// <summary>Makes <paramref name="calls"/> get_watch_stat calls; how many were answered (0), the rest must be 45009.</summary>
    private async Task<int> SucceedingCallsAsync(string token, int calls)
    {
        int ok = 0;
        for (int i = 0; i < calls; i++)
        {
            var errcode = (await WatchStatAsync(token, LiveId)).GetProperty("errcode").GetInt32();
            Assert.True(errcode is 0 or 45009, $"errcode {errcode}");
            Assert.True(errcode == 45009 || ok == i, "a call got in after one was refused in the same window");
            ok += errcode == 0 ? 1 : 0;
        }

        return ok;
    }

    private async Task SetLimitsAsync(int perMinute, int perHour)
    {
        using var put = await Http.PutAsJsonAsync(Sim("sim/settings"), new { corpCallsPerMinute = perMinute, corpCallsPerHour = perHour });
        var settings = await JsonAsync(put);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal((perMinute, perHour), (settings.GetProperty("corpCallsPerMinute").GetInt32(), settings.GetProperty("corpCallsPerHour").GetInt32()));
    }

    private async Task<string> TokenAsync(string corpId, string secret)
    {
        var answer = await GetTokenAsync(corpId, secret);
        Assert.Equal(0, answer.GetProperty("errcode").GetInt32());
        return answer.GetProperty("access_token").GetString()!;
    }

    private Task<JsonElement> GetTokenAsync(string corpId, string secret) =>
        Http.GetFromJsonAsync<JsonElement>(Sim($"cgi-bin/gettoken?corpid={corpId}&corpsecret={secret}"));

    private Task<JsonElement> WatchStatAsync(string token, string livingId) =>
        PostAsync($"cgi-bin/living/get_watch_stat?access_token={token}", new { livingid = livingId, next_key = "0" });

    private async Task<JsonElement> PostAsync(string path, object body)
    {
        using var response = await Http.PostAsJsonAsync(Sim(path), body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await JsonAsync(response);
    }

    private static async Task AssertFrequencyLimitAsync(Task<JsonElement> call)
    {
        var answer = await call;
        Assert.Equal((45009, "api freq out of limit"), (answer.GetProperty("errcode").GetInt32(), answer.GetProperty("errmsg").GetString()));
    }

    private static DateTimeOffset At(int hour, int minute) => new(2026, 3, 2, hour, minute, 0, TimeSpan.Zero);

    private Uri Sim(string path) => new(_simulator.BaseUrl, path);
}
