using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;

namespace WatchStat.Functions;

/// <summary>
/// The nightly harvest, on <c>Harvest:NightlySchedule</c> (NCRONTAB in UTC; 02:00 China time is <c>0 0 18 * * *</c>):
/// puts the night's discovery on the <c>discover-anchors</c> queue, one message per app, corp and anchor
/// (<see cref="DiscoverAnchorFunction"/> takes them up), so the timer itself never runs long.
/// </summary>
public sealed class NightlyHarvestFunction(Discovery discovery)
{
    [Function(nameof(NightlyHarvestFunction))]
    public Task Run([TimerTrigger("%Harvest:NightlySchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        discovery.EnqueueNightAsync(cancellationToken);
}
