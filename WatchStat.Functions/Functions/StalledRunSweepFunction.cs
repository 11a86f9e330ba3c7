using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;

namespace WatchStat.Functions;

/// <summary>On <c>Harvest:SweepSchedule</c> (every 10 minutes by default): re-drives runs whose checkpoint stopped moving.</summary>
public sealed class StalledRunSweepFunction(StalledRunSweeper sweeper)
{
    [Function(nameof(StalledRunSweepFunction))]
    public Task Run([TimerTrigger("%Harvest:SweepSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        sweeper.SweepAsync(cancellationToken);
}
