using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Harvest;

/// <summary>Bad input to POST /api/harvests is a 400 problem that says what is wrong, and changes nothing.</summary>
public sealed class StartHarvestValidationTests(Xunit.Abstractions.ITestOutputHelper output) : PipelineTest
{
    public static TheoryData<string, string?, string?, string, string> BadRequests => new()
    {
        // body, content type, query, what the problem must mention, a livingid that must not get a row
        { "not json at all", "application/json", null, "not valid JSON", "" },
        { """["lv-array"]""", "application/json", null, "JSON object", "" },
        { "\"lv-string\"", "application/json", null, "JSON object", "" },
        { "{}", "application/json", null, "livingid is required", "" },
        { """{"livingid":""}""", "application/json", null, "must not be empty", "" },
        { """{"livingid":null}""", "application/json", null, "must be a string", "" },
        { """{"livingid":42}""", "application/json", null, "must be a string", "" },
        { $$"""{"livingid":"{{new string('a', 129)}}"}""", "application/json", null, "at most 128", new string('a', 129) },
        { """{"livingid":"lv with space"}""", "application/json", null, "whitespace", "lv with space" },
        { """{"livingid":"lv\ttab"}""", "application/json", null, "whitespace", "lv\ttab" },
        { """{"livingid":"lv\u0001ctl"}""", "application/json", null, "control characters", "lv\u0001ctl" },
        { $$"""{"livingid":"lv-big","padding":"{{new string('x', 17 * 1024)}}"}""", "application/json", null, "16 KiB", "lv-big" },
        { """{"livingid":"lv-text"}""", "text/plain", null, "Content-Type must be application/json", "lv-text" },
        { """{"livingid":"lv-no-type"}""", null, null, "Content-Type must be application/json", "lv-no-type" },
        { """{"livingid":"lv-force"}""", "application/json", "?force=maybe", "force must be true or false", "lv-force" },
        // Text that is no UTF-16 (an unpaired surrogate escaped in the JSON): a 400, never a 500 or a storage error.
        { """{"livingid":"lv\ud800x"}""", "application/json", null, "livingid is not valid UTF-16", "" },
        { """{"livingid":"lv\udc00x"}""", "application/json", null, "livingid is not valid UTF-16", "" },
        { """{"livingid":"lv-\ud83d"}""", "application/json", null, "livingid is not valid UTF-16", "" },
        { """{"livingid":"lv-lone-app","app":"\ud800"}""", "application/json", null, "app is not valid UTF-16", "lv-lone-app" },
        { """{"livingid":"lv-lone-corp","corpid":"\udfff"}""", "application/json", null, "corpid is not valid UTF-16", "lv-lone-corp" },
        // A '/' no status, retry, report or export URL could carry: refused here rather than started and unreadable.
        { """{"livingid":"lv/slash"}""", "application/json", null, "must not contain '/'", "lv/slash" },
        { """{"livingid":"lv%2Fslash/"}""", "application/json", null, "must not contain '/'", "lv%2Fslash/" },
        { """{"livingid":"lv-app-typed","app":7}""", "application/json", null, "app must be a string", "lv-app-typed" },
        { """{"livingid":"lv-corp-typed","corpid":true}""", "application/json", null, "corpid must be a string", "lv-corp-typed" },
        { """{"livingid":"lv-bad-corp","corpid":"bad|corp"}""", "application/json", null, "is not the corp of WeCom app 'default'", "lv-bad-corp" },
        // An unknown app: said so, without the deployment's list of apps (an HTTP caller is not the operator).
        { """{"livingid":"lv-no-app","app":"marketing"}""", "application/json", null, "Unknown WeCom app 'marketing'.", "lv-no-app" },
        { $$"""{"livingid":"lv-long-app","app":"{{new string('m', 15_000)}}"}""", "application/json", null, "characters, cut)'.", "lv-long-app" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_is_a_400_problem_and_changes_nothing(string body, string? contentType, string? query, string mentions, string livingId)
    {
        var rowsBefore = await CountHarvestRowsAsync();
        var livingsBefore = await CountLivingsRowsAsync();

        var answer = await PostRawAsync(body, contentType, query);

        Assert.Equal(400, answer.Status);
        Assert.StartsWith("application/problem+json", answer.ContentType);
        Assert.Equal(400, answer.Json.GetProperty("status").GetInt32());
        var detail = answer.Json.GetProperty("detail").GetString();
        output.WriteLine($"POST {query} {Shown(body)} => {answer.Status} {answer.Json.GetProperty("title").GetString()} {detail}");
        Assert.Contains(mentions, detail);
        Assert.DoesNotContain("configured apps", detail, StringComparison.Ordinal);
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Equal(rowsBefore, await CountHarvestRowsAsync());
        Assert.Equal(livingsBefore, await CountLivingsRowsAsync());
        if (livingId.Length > 0 && livingId.Length <= 128) Assert.Null(await Store.GetAsync(Lives.Sim(livingId), default));
    }

    [Fact]
    public async Task A_body_with_a_charset_and_unknown_fields_is_accepted()
    {
        var answer = await PostRawAsync("""{"livingid":"lv-charset-1m1x","note":"from a webhook"}""", "application/json; charset=utf-8");

        Assert.Equal(202, answer.Status);
        Assert.Equal(1, await QueueLengthAsync());
    }

    [Fact]
    public async Task Status_is_404_before_a_harvest_and_the_run_afterwards()
    {
        var get = Host.Activate<WatchStat.Functions.GetHarvestFunction>();

        var missing = await HttpCall.RenderAsync(await get.Run(HttpCall.Request("GET"), "lv-never-harvested", default));
        Assert.Equal(404, missing.Status);
        Assert.StartsWith("application/problem+json", missing.ContentType);

        var livingId = NewLiveId("150m50x");
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        var found = await HttpCall.RenderAsync(await get.Run(HttpCall.Request("GET"), livingId, default));

        Assert.Equal(200, found.Status);
        Assert.Equal("completed", found.Json.GetProperty("state").GetString());
        Assert.Equal(150, found.Json.GetProperty("membersWritten").GetInt32());
        Assert.Equal(50, found.Json.GetProperty("externalWritten").GetInt32());
        Assert.Equal(200, found.Json.GetProperty("viewersWritten").GetInt32());
        Assert.Equal(2, found.Json.GetProperty("pagesDone").GetInt32());
    }

    private static string Shown(string body) => body.Length > 80 ? body[..60] + $"…({body.Length} chars)" : body;

    private async Task<int> CountLivingsRowsAsync()
    {
        var count = 0;
        await Host.Get<LivingStore>().Livings.CreateIfNotExistsAsync(); // a fresh Azurite has none until a live is recorded
        await foreach (var _ in Host.Get<LivingStore>().Livings.QueryAsync<Azure.Data.Tables.TableEntity>(select: ["PartitionKey"])) count++;
        return count;
    }

    private async Task<int> CountHarvestRowsAsync()
    {
        var count = 0;
        await foreach (var _ in Store.Harvests.QueryAsync<Azure.Data.Tables.TableEntity>(select: ["PartitionKey"])) count++;
        return count;
    }
}
