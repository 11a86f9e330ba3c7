using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Harvest;

/// <summary>Bad input to POST /api/harvests is a 400 problem that says what is wrong, and changes nothing.</summary>
public sealed class StartHarvestValidationTests : PipelineTest
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
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_is_a_400_problem_and_changes_nothing(string body, string? contentType, string? query, string mentions, string livingId)
    {
        var rowsBefore = await CountHarvestRowsAsync();

        var answer = await PostRawAsync(body, contentType, query);

        Assert.Equal(400, answer.Status);
        Assert.StartsWith("application/problem+json", answer.ContentType);
        Assert.Equal(400, answer.Json.GetProperty("status").GetInt32());
        Assert.Contains(mentions, answer.Json.GetProperty("detail").GetString());
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Equal(rowsBefore, await CountHarvestRowsAsync());
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

    private async Task<int> CountHarvestRowsAsync()
    {
        var count = 0;
        await foreach (var _ in Store.Harvests.QueryAsync<Azure.Data.Tables.TableEntity>(select: ["PartitionKey"])) count++;
        return count;
    }
}
