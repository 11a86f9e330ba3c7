using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using WatchStat.Harvest;
using WatchStat.WeCom;

namespace WatchStat.Functions;

/// <summary>
/// Queue trigger on <c>discover-anchors</c>: one anchor of one app in one corp (or one app's arrivals) for the night
/// the nightly timer enqueued it for. Anchors are discovered in parallel across instances, and a failing anchor is
/// retried and, after <c>maxDequeueCount</c> deliveries, set aside in <c>discover-anchors-poison</c> without stopping
/// the others.
/// </summary>
/// <remarks>
/// A throttle of up to <see cref="MaxWait"/> (the budget's minute) is waited out here; a longer one (WeCom's hour cap,
/// the budget's hour) puts the message back with that delay instead of using up a delivery: taken up again, the
/// anchor's decisions are made afresh, and what was started before is the night's own and not started twice.
/// </remarks>
public sealed class DiscoverAnchorFunction(Discovery discovery, DiscoverySender sender, IOptions<HarvestOptions> options)
{
    /// <summary>The longest throttle an invocation waits out in place.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(90);

    [Function(nameof(DiscoverAnchorFunction))]
    public async Task Run([QueueTrigger(DiscoveryMessage.QueueName)] string body, CancellationToken cancellationToken)
    {
        var target = DiscoveryMessage.Parse(body);
        try
        {
            await discovery.DiscoverAsync(target, seen: null, dryRun: false, cancellationToken, MaxWait);
        }
        catch (WeComException ex) when (ex is { Kind: WeComErrorKind.Throttled, RetryAfter: { } after })
        {
            await sender.SendAsync(target, options.Value.Scaled(HarvestStep.Spread(after)), cancellationToken);
        }
    }
}
