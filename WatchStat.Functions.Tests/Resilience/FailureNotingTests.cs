using Microsoft.Extensions.Logging;
using WatchStat.Functions;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Resilience;

/// <summary>
/// How a failure is written down: WeCom's errmsg is WeCom's text of any length, and the status row holds at most
/// 32K characters in a property, so what is stored is bounded; and when writing a delivery's failure down fails too
/// (storage is down), the delivery's own error is what the host sees, with the noting failure logged beside it.
/// </summary>
public sealed class FailureNotingTests : PipelineTest
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:AttemptTimeoutSeconds"] = "1",
        ["WeCom:RetryDelayMilliseconds"] = "20",
        ["Harvest:DelayScale"] = "0.001",
    };

    /// <summary>40,000 characters, 120 KB as UTF-8: over a table property's limit on its own.</summary>
    private static readonly string LongErrMsg = "errmsg " + new string('长', 40_000);

    [Theory]
    [InlineData(FaultKind.IpNotTrusted, 60020)] // fails the run at once (HarvestStep.FailAsync)
    [InlineData(FaultKind.SystemBusy, -1)] // noted on each delivery, then failed from the poison queue
    public async Task A_WeCom_errmsg_of_40000_characters_fails_the_run_with_a_bounded_message(FaultKind kind, int errCode)
    {
        Simulator.State.Faults.Set([new FaultRule { Kinds = [kind], Api = WeComClient.GetWatchStatApi, ErrMsg = LongErrMsg }]);
        var livingId = NewLiveId("10m10x");

        await PostHarvestAsync(livingId);
        var driver = NewDriver();
        await driver.DrainAsync();

        var status = await StatusAsync(livingId);
        Assert.Equal((HarvestStates.Failed, errCode), (status.State, status.LastErrorCode));
        Assert.InRange(status.LastErrorMessage!.Length, 1000, HarvestRecord.MaxErrorMessageLength);
        Assert.Contains("errmsg 'errmsg 长长长", status.LastErrorMessage, StringComparison.Ordinal);
        Assert.Contains("characters, cut)", status.LastErrorMessage, StringComparison.Ordinal);
        // The answer the status route gives is the stored one.
        var answer = await HttpCall.RenderAsync(await Host.Activate<GetHarvestFunction>().Run(HttpCall.Request("GET"), livingId, default));
        Assert.Equal(status.LastErrorMessage, answer.Json.GetProperty("lastError").GetProperty("message").GetString());
        // The log lines are bounded too: no line carries the whole errmsg.
        Assert.DoesNotContain(Host.Logs.GetSnapshot(), r => (r.Message + r.Exception).Contains(new string('长', 2000), StringComparison.Ordinal));
    }

    [Fact]
    public void Cutting_never_splits_a_surrogate_pair_and_leaves_short_text_alone()
    {
        Assert.Equal("short", BoundedText.Cut("short", 100));
        var emoji = string.Concat(Enumerable.Repeat("😀", 100)); // 200 UTF-16 characters
        for (var max = 40; max < 60; max++)
        {
            var cut = BoundedText.Cut(emoji, max);
            Assert.True(cut.Length <= max, $"{cut.Length} > {max}");
            Assert.EndsWith("… (200 characters, cut)", cut, StringComparison.Ordinal);
            Assert.False(cut.Where((c, i) => char.IsHighSurrogate(c) && (i + 1 == cut.Length || !char.IsLowSurrogate(cut[i + 1]))).Any(), cut);
        }
    }

    [Fact]
    public async Task When_noting_a_failed_delivery_fails_too_the_deliverys_own_error_propagates_and_the_noting_failure_is_logged()
    {
        // Every WeCom page call answers 502: the delivery fails with a WeComException once its retries are spent.
        Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.Http502], Api = WeComClient.GetWatchStatApi }]);
        var livingId = NewLiveId("10m10x");
        await PostHarvestAsync(livingId);
        var message = (await Queue.ReceiveMessageAsync()).Value;
        var before = await StatusAsync(livingId);
        // Storage fails from the first WeCom page call on: the step has read its status, the noting cannot.
        Faults.FailNth(1, request => WeCom.Calls(WeComClient.GetWatchStatApi) > 0 && request.Uri.Path.Contains("/Harvests", StringComparison.Ordinal), times: 10);

        var thrown = await Assert.ThrowsAsync<WeComException>(() => Host.Activate<HarvestPageFunction>().Run(message, default));

        Assert.Contains("HTTP 502", thrown.Message, StringComparison.Ordinal);
        Assert.True(Faults.Injected >= 1, "the noting never reached storage");
        var logged = Assert.Single(Host.Logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("noting that on the status row failed", StringComparison.Ordinal));
        Assert.IsType<IOException>(logged.Exception);
        Assert.Contains("WeComException", logged.Message, StringComparison.Ordinal);
        Faults.FailNth(int.MaxValue, _ => false);
        Assert.Equal(before.ETag, (await StatusAsync(livingId)).ETag); // nothing was noted: the fault stopped it
    }
}
