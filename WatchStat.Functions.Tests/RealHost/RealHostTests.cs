using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Harvest;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;
using Xunit.Abstractions;

namespace WatchStat.Tests.RealHost;

/// <summary>
/// The published app in a real Azure Functions host, driven only as a user's system drives it: HTTP with function
/// keys, the queues, the tables. What the imitation of the host elsewhere in these tests cannot show: bindings,
/// keys, the listener's real polling and retries, timers, a crash of the whole process, and what the host logs.
/// </summary>
public sealed class RealHostTests(RealHostFixture host, ITestOutputHelper output) : IClassFixture<RealHostFixture>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    private SimulatorCounters WeCom => host.Simulator.State.Counters;

    [RealHostFact]
    public async Task A_discover_anchors_message_is_taken_up_by_the_host_and_harvests_the_anchors_ended_live()
    {
        // An anchor of this test only: five lives, of which the fifth (7 members, 3 external) ended a day ago.
        var anchor = "anchor" + Guid.NewGuid().ToString("N")[..8];
        var lives = host.Simulator.State.Anchors.Add(anchor, 5);
        var ended = lives.Single(l => l.Status == 2).LivingId;

        // What the nightly timer enqueues for one anchor of the default app's corp.
        var night = DateTimeOffset.UtcNow;
        await new DiscoverySender(host.AppStorage).SendAsync(new DiscoveryMessage("default", SimulatorOptions.DefaultCorpId, anchor, night), default);

        var status = await WaitForStateAsync(host.AppStore, ended, HarvestStates.Completed);
        Assert.Equal((10, true), (status.MembersWritten + status.ExternalWritten, status.StartedAt > night));
        foreach (var other in lives.Where(l => l.LivingId != ended))
            Assert.Null(await host.AppStore.GetAsync(Lives.Sim(other.LivingId), default)); // scheduled, live, expired, cancelled
    }

    [RealHostFact]
    public async Task A_POST_harvests_20000_viewers_into_exactly_the_simulators_rows_at_no_more_than_two_log_lines_a_page()
    {
        var livingId = NewLiveId("12000m8000x");
        var callsBefore = WeCom.Calls(WeComClient.GetWatchStatApi);
        var linesBefore = host.App.OutputLines;
        using var http = host.App.CreateClient();

        using var response = await PostAsync(http, livingId);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"/api/harvests/{livingId}", response.Headers.Location?.OriginalString);
        var status = await WaitForStateAsync(host.AppStore, livingId, HarvestStates.Completed);
        var lines = host.App.OutputLines - linesBefore;

        Assert.Equal((200, 12000, 8000), (status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.Equal(200, WeCom.Calls(WeComClient.GetWatchStatApi) - callsBefore); // one call a page, none twice
        RowAssertions.MatchSimulator(host.Simulator.State.FindLive(livingId)!, await RowsAsync(host.AppStore, livingId), status.RunId);
        output.WriteLine($"{lines} lines of host output for 200 pages:\n{host.App.OutputSince(linesBefore)}");
        Assert.True(lines <= 2 * 200, $"{lines} lines of output for 200 pages; at most 2 a page");

        var view = await http.GetStatusAsync(livingId);
        Assert.Equal(("completed", 20000), (view.GetProperty("state").GetString(), view.GetProperty("viewersWritten").GetInt32()));
    }

    [RealHostFact]
    public async Task Without_a_valid_function_key_the_HTTP_functions_answer_401_and_enqueue_nothing()
    {
        var queued = await QueuedAsync();
        using var anonymous = host.HttpOnly.CreateClient(withKey: false);
        using var wrongKey = host.HttpOnly.CreateClient(withKey: false);
        wrongKey.DefaultRequestHeaders.Add("x-functions-key", "not-" + host.HttpOnly.FunctionKey);
        var livingId = NewLiveId("1m1x");

        foreach (var client in new[] { anonymous, wrongKey })
        {
            using var post = await PostAsync(client, livingId);
            using var retry = await client.PostAsync($"api/harvests/{livingId}/retry", null);
            using var get = await client.GetAsync($"api/harvests/{livingId}");
            Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (post.StatusCode, retry.StatusCode, get.StatusCode));
        }
        Assert.Equal(queued, await QueuedAsync());
        Assert.Null(await host.HttpOnlyStore.GetAsync(Lives.Sim(livingId), default));

        // The same request with the key is accepted and its message is there to count: the check above can fail.
        using var keyed = host.HttpOnly.CreateClient();
        using var accepted = await PostAsync(keyed, livingId);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(queued + 1, await QueuedAsync());
    }

    public static TheoryData<string, string?, string?, string, string> BadRequests => StartHarvestValidationTests.BadRequests;

    [RealHostTheory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_through_the_real_HTTP_pipeline_is_a_400_problem_and_enqueues_nothing(
        string body, string? contentType, string? query, string mentions, string livingId)
    {
        var queued = await QueuedAsync();
        var rows = await CountRowsAsync(host.HttpOnlyStore.Harvests);
        using var http = host.HttpOnly.CreateClient();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null) content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        using var response = await http.PostAsync("api/harvests" + query, content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Contains(mentions, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(queued, await QueuedAsync());
        Assert.Equal(rows, await CountRowsAsync(host.HttpOnlyStore.Harvests));
        if (livingId.Length is > 0 and <= 128) Assert.Null(await host.HttpOnlyStore.GetAsync(Lives.Sim(livingId), default));
    }

    [RealHostFact]
    public void The_timers_are_indexed_with_their_schedules_read_from_the_settings()
    {
        var output = host.App.Output;

        Assert.Contains($"The next 5 occurrences of the 'NightlyHarvestFunction' schedule (Cron: '{HarvestOptions.DefaultNightlySchedule}')", output, StringComparison.Ordinal);
        Assert.Contains($"The next 5 occurrences of the 'StalledRunSweepFunction' schedule (Cron: '{RealHostFixture.SweepScheduleExpanded}')", output, StringComparison.Ordinal);
        Assert.Contains($"The next 5 occurrences of the 'RetentionFunction' schedule (Cron: '{HarvestOptions.RetentionSchedule}')", output, StringComparison.Ordinal);
        Assert.DoesNotContain("%Harvest:", output, StringComparison.Ordinal);
    }

    [RealHostFact]
    public async Task A_page_that_keeps_failing_goes_to_poison_fails_its_run_with_the_reason_and_a_retry_completes_it()
    {
        var livingId = NewLiveId("300m200x"); // 5 pages
        using var http = host.App.CreateClient();
        host.Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.Http502], Api = WeComClient.GetWatchStatApi }]);
        try
        {
            using var post = await PostAsync(http, livingId);
            Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
            var failed = await WaitForStateAsync(host.AppStore, livingId, HarvestStates.Failed);

            Assert.Equal(0, failed.PagesDone);
            Assert.Contains("failed 5 deliveries and was moved to harvest-pages-poison", failed.LastErrorMessage, StringComparison.Ordinal);
            Assert.Contains("502", failed.LastErrorMessage, StringComparison.Ordinal);
        }
        finally
        {
            host.Simulator.State.Faults.Clear();
        }

        using var retry = await http.PostAsync($"api/harvests/{Uri.EscapeDataString(livingId)}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var status = await WaitForStateAsync(host.AppStore, livingId, HarvestStates.Completed);

        Assert.Equal((5, 300, 200), (status.PagesDone, status.MembersWritten, status.ExternalWritten));
        RowAssertions.MatchSimulator(host.Simulator.State.FindLive(livingId)!, await RowsAsync(host.AppStore, livingId), status.RunId);
    }

    [RealHostFact]
    public async Task A_host_killed_mid_page_is_replaced_and_the_run_completes_with_exact_rows()
    {
        var livingId = NewLiveId("3000m2000x"); // 50 pages
        using var http = host.App.CreateClient();
        host.Simulator.State.Options.LatencyMilliseconds = 20;
        try
        {
            using var post = await PostAsync(http, livingId);
            Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
            await WaitUntilAsync(async () => (await host.AppStore.GetAsync(Lives.Sim(livingId), default))?.PagesDone >= 5, "5 pages done");

            // The next call hangs: the host dies holding that page's message, which the queue then hides for 10 minutes.
            var calls = WeCom.Calls(WeComClient.GetWatchStatApi);
            host.Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.Slow], Api = WeComClient.GetWatchStatApi, SlowMilliseconds = 120_000 }]);
            await WaitUntilAsync(() => Task.FromResult(WeCom.Calls(WeComClient.GetWatchStatApi) > calls), "a page in flight");
            host.App.Kill();
            var atKill = await host.AppStore.GetAsync(Lives.Sim(livingId), default);
            Assert.Equal(HarvestStates.Running, atKill!.State);
        }
        finally
        {
            host.Simulator.State.Faults.Clear();
            host.Simulator.State.Options.LatencyMilliseconds = 0;
        }

        var restarted = DateTimeOffset.UtcNow;
        await host.App.RestartAsync();
        var status = await WaitForStateAsync(host.AppStore, livingId, HarvestStates.Completed);
        output.WriteLine($"completed {(DateTimeOffset.UtcNow - restarted).TotalSeconds:0.0} s after the restart began");

        Assert.Equal((50, 3000, 2000), (status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.NotNull(status.RedrivenAt); // the sweeper, not the queue's 10 minutes, brought the page back
        RowAssertions.MatchSimulator(host.Simulator.State.FindLive(livingId)!, await RowsAsync(host.AppStore, livingId), status.RunId);
    }

    [RealHostFact]
    public async Task WeCom_reaches_the_anonymous_callback_its_URL_check_passes_and_a_live_it_says_ended_is_harvested_once()
    {
        var callback = new Uri(host.App.BaseUrl, "api/wecom/callback/default");
        var sender = host.Simulator.State.Callbacks;
        var check = await sender.RegisterCallbackAsync(SimulatorOptions.DefaultCorpId, callback.ToString(), RealHostFixture.CallbackToken, RealHostFixture.EncodingAesKey);
        Assert.True(check!.Verified, $"URL check through the real host: {check}"); // byte for byte: no quotes, BOM or newline
        var livingId = NewLiveId("600m400x");
        var callsBefore = WeCom.Calls(WeComClient.GetWatchStatApi);

        // No function key anywhere: WeCom has none. Three deliveries of the event, as WeCom's retries.
        var sent = await sender.ChangeStatusAsync(livingId, 2, SimulatorOptions.DefaultCorpId, deliveries: 3);
        Assert.All(sent.Deliveries, d => Assert.Equal((200, ""), (d.Status, d.Body)));
        var status = await WaitForStateAsync(host.AppStore, livingId, HarvestStates.Completed);

        Assert.Equal((10, 600, 400), (status.PagesDone, status.MembersWritten, status.ExternalWritten));
        Assert.Equal(10, WeCom.Calls(WeComClient.GetWatchStatApi) - callsBefore); // one run: no page fetched twice
        RowAssertions.MatchSimulator(host.Simulator.State.FindLive(livingId)!, await RowsAsync(host.AppStore, livingId), status.RunId);
        var living = (await new LivingStore(host.AppStorage).GetAsync(Lives.Sim(livingId), default))!;
        Assert.Equal((LivingStore.ArrivedViaCallback, "ended"), (living.GetString("ArrivedVia"), living.GetString("StatusName")));

        // A spoiled signature is refused by the real pipeline too.
        var tampered = await sender.ChangeStatusAsync(NewLiveId("1m1x"), 2, SimulatorOptions.DefaultCorpId, tamper: CallbackTamper.Signature);
        Assert.Equal(401, tampered.Deliveries.Single().Status);
    }

    [RealHostFact]
    public async Task The_report_export_and_overview_routes_serve_a_harvested_live_with_the_key_and_401_without()
    {
        var livingId = NewLiveId("30m20x");
        using var http = host.App.CreateClient();
        using (var post = await PostAsync(http, livingId)) Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        await WaitForStateAsync(host.AppStore, livingId, HarvestStates.Completed);

        using var report = await http.GetAsync($"api/lives/{livingId}/report");
        Assert.Equal((HttpStatusCode.OK, "text/html"), (report.StatusCode, report.Content.Headers.ContentType?.MediaType));
        var html = await report.Content.ReadAsStringAsync();
        Assert.Contains("data-figure=\"all.viewers\" data-value=\"50\"", html, StringComparison.Ordinal);
        using var export = await http.GetAsync($"api/lives/{livingId}/export?format=csv");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal(50 + 1, (await export.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/lives");
        request.Headers.Accept.ParseAdd("application/json");
        using var overview = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
        var live = JsonDocument.Parse(await overview.Content.ReadAsStringAsync()).RootElement.GetProperty("lives").EnumerateArray()
            .Single(l => l.GetProperty("livingId").GetString() == livingId); // dated when it arrived: no info of it yet
        Assert.Equal((HarvestStates.Completed, 50), (live.GetProperty("state").GetString(), live.GetProperty("viewers").GetInt32()));

        using var anonymous = host.App.CreateClient(withKey: false);
        foreach (var path in new[] { $"api/lives/{livingId}/report", $"api/lives/{livingId}/export", "api/lives" })
        {
            using var refused = await anonymous.GetAsync(path);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{path} without a key: {(int)refused.StatusCode}");
        }
    }

    [RealHostFact]
    public async Task No_secret_token_or_key_appears_anywhere_in_the_hosts_output()
    {
        // Callback traffic of its own, in the host that has the keys: a URL check, an event, a refused one.
        var sender = host.Simulator.State.Callbacks;
        var checkedUrl = await sender.RegisterCallbackAsync(SimulatorOptions.DefaultCorpId, new Uri(host.HttpOnly.BaseUrl, "api/wecom/callback/default").ToString(),
            RealHostFixture.CallbackToken, RealHostFixture.EncodingAesKey);
        Assert.True(checkedUrl!.Verified);
        await sender.ChangeStatusAsync(NewLiveId("1m1x"), 2, SimulatorOptions.DefaultCorpId);
        await sender.ChangeStatusAsync(NewLiveId("1m1x"), 2, SimulatorOptions.DefaultCorpId, tamper: CallbackTamper.Receiver);
        // Some token traffic of its own: a revoked token is rejected, fetched again and the call retried.
        host.Simulator.State.RevokeAllTokens();
        var livingId = NewLiveId("150m50x");
        using var http = host.App.CreateClient();
        using (var post = await PostAsync(http, livingId)) Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        await WaitForStateAsync(host.AppStore, livingId, HarvestStates.Completed);

        var tokens = host.Simulator.State.IssuedTokens();
        Assert.True(tokens.Count >= 2, $"{tokens.Count} tokens issued; the revoked one and its successor at least");
        string[] keys = [host.App.FunctionKey, host.App.MasterKey, host.HttpOnly.FunctionKey, host.HttpOnly.MasterKey];
        foreach (var (name, text) in new[] { ("app", host.App.Output), ("http-only", host.HttpOnly.Output) })
        {
            Assert.True(text.Length > 1000, $"the {name} host printed next to nothing");
            Assert.False(text.Contains(SimulatorOptions.DefaultSecret, StringComparison.Ordinal), $"the {name} host's output carries the WeCom secret");
            Assert.False(text.Contains(RealHostFixture.CallbackToken, StringComparison.Ordinal), $"the {name} host's output carries the callback Token");
            Assert.False(text.Contains(RealHostFixture.EncodingAesKey, StringComparison.Ordinal), $"the {name} host's output carries the EncodingAESKey");
            Assert.False(text.Contains("<Encrypt>", StringComparison.Ordinal), $"the {name} host's output carries a callback body");
            foreach (var token in tokens)
                Assert.False(text.Contains(token, StringComparison.Ordinal), $"the {name} host's output carries an access token");
            foreach (var key in keys)
                Assert.False(text.Contains(key, StringComparison.Ordinal), $"the {name} host's output carries a function or master key");
        }
    }

    private static string NewLiveId(string shape) => $"lv-host-{Guid.NewGuid().ToString("N")[..8]}-{shape}";

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string livingId) =>
        http.PostAsync("api/harvests", new StringContent(JsonSerializer.Serialize(new { livingid = livingId }), Encoding.UTF8, "application/json"));

    private async Task<int> QueuedAsync() =>
        (await host.HttpOnlyStorage.Queues.GetQueueClient(HarvestPageMessage.QueueName).GetPropertiesAsync()).Value.ApproximateMessagesCount;

    private static async Task<HarvestRecord> WaitForStateAsync(HarvestStore store, string livingId, string state)
    {
        HarvestRecord? status = null;
        await WaitUntilAsync(async () => (status = await store.GetAsync(Lives.Sim(livingId), default))?.State == state,
            $"live {livingId} {state} (last seen: {status?.State}, page {status?.PagesDone}, {status?.LastErrorMessage})");
        return status!;
    }

    /// <summary>Polls storage, not the host, so that the waiting adds no line to the host's output.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow + RunTimeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Not reached within {RunTimeout.TotalSeconds:0} s: {what}.");
            await Task.Delay(200);
        }
    }

    private static async Task<List<TableEntity>> RowsAsync(HarvestStore store, string livingId)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in store.ReadRowsAsync(Lives.Sim(livingId), default)) rows.Add(row);
        return rows;
    }

    private static async Task<int> CountRowsAsync(TableClient table)
    {
        var count = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(select: ["PartitionKey"])) count++;
        return count;
    }
}

internal static class HttpJson
{
    public static async Task<JsonElement> GetStatusAsync(this HttpClient http, string livingId)
    {
        using var response = await http.GetAsync($"api/harvests/{Uri.EscapeDataString(livingId)}");
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
