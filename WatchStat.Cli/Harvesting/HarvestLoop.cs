using Microsoft.Extensions.Options;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Cli.Harvesting;

/// <summary>Progress of a CLI harvest after each page.</summary>
public sealed record HarvestProgress(HarvestRecord Status, int PagesThisSession, TimeSpan Elapsed);

/// <summary>
/// Runs a live's harvest in-process: the same page step the queue function runs, one page after another, on the
/// same checkpoint. An unfinished run (queued or running) is resumed where its checkpoint stands.
/// </summary>
public sealed class HarvestLoop(HarvestRuns runs, HarvestStep step, HarvestStore store, IOptions<HarvestOptions> options, TimeProvider time)
{
    public async Task<HarvestRecord> RunAsync(string livingId, WeComApp app, bool force, Action<HarvestProgress>? progress, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var start = await runs.StartAsync(livingId, app, force, cancellationToken);
        var status = start.Status;
        var pages = 0;
        var idle = 0;
        while (HarvestStates.IsActive(status.State))
        {
            var result = await step.ExecuteAsync(HarvestRuns.NextPageOf(status), deliveryId: null, cancellationToken);
            if (result is { Outcome: StepOutcome.Throttled, RetryAfter: { } delay })
            {
                // WeCom throttled: wait as the queue would, then go on from the same page.
                status = result.Status!;
                progress?.Invoke(new HarvestProgress(status, pages, time.GetElapsedTime(started)));
                await Task.Delay(options.Value.Scaled(delay), time, cancellationToken);
                continue;
            }
            if (result.Outcome is StepOutcome.Advanced or StepOutcome.Completed or StepOutcome.Failed)
            {
                status = result.Status!;
                if (result.Outcome != StepOutcome.Failed) pages++;
                idle = 0;
                progress?.Invoke(new HarvestProgress(status, pages, time.GetElapsedTime(started)));
                continue;
            }

            // Stale: someone else (the Functions app, another CLI) moved this live's run meanwhile. Follow the
            // checkpoint as it now stands; if another run replaced ours, it is that run's business.
            var fresh = await store.GetAsync(livingId, cancellationToken)
                ?? throw new InvalidOperationException($"The status row of live '{livingId}' disappeared during the harvest.");
            if (fresh.RunId != status.RunId) return fresh;
            status = fresh;
            if (++idle > 1) await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * idle)), time, cancellationToken);
        }
        return status;
    }
}
