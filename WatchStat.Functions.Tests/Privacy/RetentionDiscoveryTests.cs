using Microsoft.Extensions.Time.Testing;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Privacy;

/// <summary>
/// With <c>Harvest:RetentionDays</c> set, the nightly discovery does not store again the old lives an anchor still
/// lists: retention would only delete them again. An anchor of its own and a clock years from any other test's.
/// </summary>
public sealed class RetentionDiscoveryTests : PipelineTest
{
    private readonly string _anchor = "liuyang" + Guid.NewGuid().ToString("N")[..6];
    private readonly FakeTimeProvider _time = new(
        new DateTimeOffset(2031, 1, 1, 8, 0, 0, TimeSpan.Zero).AddDays(14 * Random.Shared.Next(0, 50_000)));

    protected override TimeProvider? Time => _time;

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:Apps:default:AnchorUserIds"] = _anchor,
        ["Harvest:RetentionDays"] = "20",
    };

    [Fact]
    public async Task Discovery_stores_the_lives_retention_keeps_and_not_those_it_would_delete()
    {
        var lives = Simulator.State.Anchors.Add(_anchor, 150); // 7 h apart: some 44 days of lives
        var cutoff = _time.GetUtcNow().AddDays(-20);

        var decisions = await Host.Get<Discovery>().RunAsync(appName: null, dryRun: false, default);

        Assert.Equal(150, decisions.Count);
        var livings = Host.Get<LivingStore>();
        var (stored, notStored) = (0, 0);
        foreach (var live in lives)
        {
            var end = live.LivingStart > 0 ? live.LivingStart + live.LivingDuration : live.ReserveStart;
            var expired = end > 0 && DateTimeOffset.FromUnixTimeSeconds(end) < cutoff;
            var row = await livings.GetAsync(Lives.Sim(live.LivingId), default);
            Assert.True(expired == row is null, $"{live.LivingId} (status {live.Status}, ended {DateTimeOffset.FromUnixTimeSeconds(end):u}): {(row is null ? "not stored" : "stored")}");
            if (row is null) notStored++; else stored++;
        }
        Assert.InRange(notStored, 20, 130); // the cutoff cuts through the anchor's history
        Assert.InRange(stored, 20, 130);
    }
}
