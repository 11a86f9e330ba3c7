using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;

namespace WatchStat.Functions;

/// <summary>
/// Queue trigger on <c>discover-anchors</c>: one anchor of one app in one corp (or one app's arrivals) for the night
/// the nightly timer enqueued it for. Anchors are discovered in parallel across instances, and a failing anchor is
/// retried and, after <c>maxDequeueCount</c> deliveries, set aside in <c>discover-anchors-poison</c> without stopping
/// the others.
/// </summary>
public sealed class DiscoverAnchorFunction(Discovery discovery)
{
    [Function(nameof(DiscoverAnchorFunction))]
    public Task Run([QueueTrigger(DiscoveryMessage.QueueName)] string body, CancellationToken cancellationToken) =>
        discovery.DiscoverAsync(DiscoveryMessage.Parse(body), seen: null, dryRun: false, cancellationToken);
}
