using WatchStat.Harvest;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Harvest;

/// <summary>
/// The nightly discovery takes livingids from WeCom, and holds them to the rules of every other way in: a live whose
/// id has a '/' (no status, retry, report or export URL could name it) is skipped, saying why, and nothing is
/// enqueued or written for it.
/// </summary>
public sealed class DiscoveryLivingIdTests : PipelineTest
{
    // The simulator's anchor lives are lv-{anchor}-{i}-…: an anchor userid with a '/' gives livingids with one.
    private readonly string _anchor = "slash/" + Guid.NewGuid().ToString("N")[..6];

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:Apps:default:AnchorUserIds"] = _anchor,
    };

    [Fact]
    public async Task Lives_whose_livingid_has_a_slash_are_skipped_with_the_reason_and_nothing_is_enqueued()
    {
        var lives = Simulator.State.Anchors.Add(_anchor, 10);
        Assert.Contains(lives, l => l.Status == 2 && l.EndedAt > DateTimeOffset.UtcNow.AddDays(-7)); // would be harvested otherwise

        // Only this anchor's: the night also refreshes lives other tests' POSTs left in the shared tables.
        var decisions = (await Host.Get<Discovery>().RunAsync(appName: null, dryRun: false, default)).Where(d => d.AnchorUserId == _anchor).ToList();

        Assert.Equal(lives.Select(l => l.LivingId).Order(StringComparer.Ordinal), decisions.Select(d => d.LivingId).Order(StringComparer.Ordinal));
        Assert.All(decisions, d => Assert.False(d.Enqueue));
        Assert.All(decisions, d => Assert.Contains("must not contain '/'", d.Reason, StringComparison.Ordinal));
        var queued = (await Queue.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString());
        Assert.DoesNotContain(queued, m => m.Contains(_anchor[6..], StringComparison.Ordinal));
        foreach (var live in lives) Assert.Null(await Store.GetAsync(Lives.Sim(live.LivingId), default));
    }
}
