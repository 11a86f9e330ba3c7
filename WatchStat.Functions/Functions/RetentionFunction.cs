using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;
using WatchStat.Privacy;

namespace WatchStat.Functions;

/// <summary>
/// Daily at 03:30 UTC (<see cref="HarvestOptions.RetentionSchedule"/>, fixed, so no app setting is needed): deletes
/// the lives that ended more than <c>Harvest:RetentionDays</c> ago (<see cref="Retention"/>); without that setting it
/// does nothing and touches no storage.
/// </summary>
public sealed class RetentionFunction(Retention retention)
{
    [Function(nameof(RetentionFunction))]
    public Task Run([TimerTrigger(HarvestOptions.RetentionSchedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        retention.ExpireAsync(cancellationToken);
}
