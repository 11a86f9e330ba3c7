using Azure.Data.Tables;
using WatchStat.Functions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WatchStat.Tests.Harvest;

/// <summary>
/// Bad input to the routes that name a live in their path (GET status, POST retry, the report and the export): a
/// 400, 404 or 409 problem that says what is wrong, and nothing enqueued or written. The livingid comes as the host
/// hands it to the function, decoded from the path: a lone surrogate, a '/', markup and the like.
/// </summary>
public sealed class RouteValidationTests(ITestOutputHelper output) : PipelineTest
{
    public static TheoryData<string, string, string?, int, string> BadRequests => new()
    {
        // route, livingid, query, status, what the problem must mention
        { "status", "lv\ud800x", null, 400, "not valid UTF-16" },
        { "retry", "lv\ud800x", null, 400, "not valid UTF-16" },
        { "report", "lv\ud800x", null, 400, "not valid UTF-16" },
        { "export", "lv\ud800x", null, 400, "not valid UTF-16" },
        { "status", "lv-\udc00", null, 400, "not valid UTF-16" },
        { "retry", "\udfff", null, 400, "not valid UTF-16" },
        { "status", "lv/slash", null, 400, "must not contain '/'" },
        { "retry", "lv/slash", null, 400, "must not contain '/'" },
        { "export", "lv/slash", null, 400, "must not contain '/'" },
        { "status", "lv with space", null, 400, "whitespace" },
        { "status", new string('a', 129), null, 400, "at most 128" },
        { "retry", "lv\u0001ctl", null, 400, "control characters" },
        { "status", "lv-ok", "?app=marketing", 400, "Unknown WeCom app 'marketing'." },
        { "retry", "lv-ok", "?app=marketing", 400, "Unknown WeCom app 'marketing'." },
        { "report", "lv-ok", "?app=marketing", 400, "Unknown WeCom app 'marketing'." },
        { "status", "lv-ok", "?corpid=bad%7Ccorp", 400, "is not a WeCom corpid" },
        { "export", "lv-ok", "?corpid=bad%7Ccorp", 400, "is not a WeCom corpid" },
        { "export", "lv-ok", "?format=xlsx", 400, "format must be csv or json" },
        { "export", "lv-ok", "?raw=maybe", 400, "raw must be true or false" },
        // Well-formed ids, markup and all, of lives never harvested: 404, nothing written.
        { "status", "[red]x[/]", null, 400, "must not contain '/'" },
        { "status", "[red]x", null, 404, "No harvest is recorded for live '[red]x'" },
        { "retry", "[", null, 404, "No harvest is recorded for live '['" },
        { "report", "<script>x</script>", null, 400, "must not contain '/'" },
        { "report", "<script>x", null, 404, "No harvest is recorded" },
        { "export", "=HYPERLINK(\"x\")", null, 404, "No harvest is recorded" },
        { "status", "lv-😀", null, 404, "No harvest is recorded" },
    };

    [Theory]
    [MemberData(nameof(BadRequests), DisableDiscoveryEnumeration = true)] // a lone surrogate does not survive xunit's serialization
    public async Task Bad_input_is_a_problem_and_changes_nothing(string route, string livingId, string? query, int status, string mentions)
    {
        var before = await CountRowsAsync();

        var answer = await CallAsync(route, livingId, query);

        var detail = answer.Json.GetProperty("detail").GetString();
        output.WriteLine($"{route} {Shown(livingId)} {query} => {answer.Status} {answer.Json.GetProperty("title").GetString()} {detail}");
        Assert.Equal(status, answer.Status);
        Assert.StartsWith("application/problem+json", answer.ContentType);
        Assert.Equal(status, answer.Json.GetProperty("status").GetInt32());
        Assert.Contains(mentions, detail, StringComparison.Ordinal);
        Assert.DoesNotContain("configured apps", detail, StringComparison.Ordinal);
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Equal(before, await CountRowsAsync());
    }

    [Fact]
    public async Task Retrying_a_run_that_has_not_failed_is_a_409_and_changes_nothing()
    {
        var livingId = NewLiveId("3m2x");
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        var completed = await StatusAsync(livingId);
        var before = await CountRowsAsync();

        var answer = await CallAsync("retry", livingId, null);

        output.WriteLine($"retry (completed run) => {answer.Status} {answer.Json.GetProperty("title").GetString()} {answer.Json.GetProperty("detail").GetString()}");
        Assert.Equal(409, answer.Status);
        Assert.StartsWith("application/problem+json", answer.ContentType);
        Assert.Contains("only a failed run can be retried", answer.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Equal(before, await CountRowsAsync());
        Assert.Equal(completed.ETag, (await StatusAsync(livingId)).ETag);
    }

    /// <summary>
    /// Over real HTTP (Kestrel decodes the path as the host does): a lone surrogate can only come percent-encoded as
    /// invalid UTF-8, and an encoded '/' stays "%2F" in the route value; either way a problem, never a 500.
    /// </summary>
    [Theory]
    [InlineData("lv%ED%A0%80x", 404)] // invalid UTF-8 is left encoded: the id "lv%ED%A0%80x", never harvested
    [InlineData("lv%2Fslash", 404)] // the id "lv%2Fslash": '%' is allowed, and it was never harvested
    [InlineData("lv%20space", 400)]
    [InlineData("lv%01ctl", 400)]
    public async Task Over_HTTP_an_encoded_bad_livingid_is_a_problem(string path, int status)
    {
        await using var endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        var before = await CountRowsAsync();
        foreach (var route in new[] { "report", "export" })
        {
            using var response = await endpoint.Client.GetAsync($"api/lives/{path}/{route}");
            var body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"GET /api/lives/{path}/{route} => {(int)response.StatusCode} {body}");
            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Equal(before, await CountRowsAsync());
    }

    private async Task<HttpAnswer> CallAsync(string route, string livingId, string? query)
    {
        var functions = Host.Activate<LiveReportFunctions>();
        switch (route)
        {
            case "status":
                return await HttpCall.RenderAsync(await Host.Activate<GetHarvestFunction>().Run(HttpCall.Request("GET", query: query), livingId, default));
            case "retry":
                var retry = await Host.Activate<RetryHarvestFunction>().Run(HttpCall.Request("POST", query: query), livingId, default);
                foreach (var message in retry.Messages) await Queue.SendMessageAsync(message);
                return await HttpCall.RenderAsync(retry.Result);
            case "report":
                return await HttpCall.RenderAsync(await functions.Report(HttpCall.Request("GET", query: query), livingId, default));
            case "export":
                return await HttpCall.RenderAsync(await functions.Export(HttpCall.Request("GET", query: query), livingId, default));
            default:
                throw new ArgumentOutOfRangeException(nameof(route), route, null);
        }
    }

    private static string Shown(string text) =>
        string.Concat((text.Length > 40 ? text[..20] + $"…({text.Length} chars)" : text).Select(c => char.IsSurrogate(c) || char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    /// <summary>The rows of the tables a request could write: Harvests and Livings (viewer rows are written only by a page step).</summary>
    private async Task<(int Harvests, int Livings)> CountRowsAsync()
    {
        var (harvests, livings) = (0, 0);
        await Host.Get<LivingStore>().Livings.CreateIfNotExistsAsync(); // a fresh Azurite has none until a live is recorded
        await foreach (var _ in Store.Harvests.QueryAsync<TableEntity>(select: ["PartitionKey"])) harvests++;
        await foreach (var _ in Host.Get<LivingStore>().Livings.QueryAsync<TableEntity>(select: ["PartitionKey"])) livings++;
        return (harvests, livings);
    }
}
