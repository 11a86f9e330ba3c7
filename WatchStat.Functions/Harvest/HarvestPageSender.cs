using WatchStat.Storage;

namespace WatchStat.Harvest;

/// <summary>
/// Sends <c>harvest-pages</c> messages from outside the chain (the nightly harvest, the stalled-run sweeper, the CLI).
/// Within a chain, the next page leaves through the queue output binding instead, which needs no poll to be picked up.
/// </summary>
public sealed class HarvestPageSender(StorageClients storage) : QueueSender(storage, HarvestPageMessage.QueueName)
{
    /// <summary>Sends a message, visible after <paramref name="delay"/> when one is given.</summary>
    public Task SendAsync(HarvestPageMessage message, TimeSpan? delay, CancellationToken cancellationToken) => SendAsync(message.ToJson(), delay, cancellationToken);
}
