using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;

namespace WatchStat.Functions;

/// <summary>
/// The nightly harvest, on <c>Harvest:NightlySchedule</c> (NCRONTAB in UTC; 02:00 China time is <c>0 0 18 * * *</c>):
/// finds the lives that need harvesting and enqueues them.
/// </summary>
public sealed class NightlyHarvestFunction(Discovery discovery)
{
    [Function(nameof(NightlyHarvestFunction))]
    public Task Run([TimerTrigger("%Harvest:NightlySchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        discovery.RunAsync(appName: null, dryRun: false, cancellationToken);
}
