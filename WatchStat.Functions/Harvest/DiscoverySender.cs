using WatchStat.Storage;

namespace WatchStat.Harvest;

/// <summary>Sends <c>discover-anchors</c> messages (the nightly timer).</summary>
public sealed class DiscoverySender(StorageClients storage) : QueueSender(storage, DiscoveryMessage.QueueName)
{
    public Task SendAsync(DiscoveryMessage message, CancellationToken cancellationToken) => SendAsync(message.ToJson(), delay: null, cancellationToken);

    /// <summary>The same target again, visible after <paramref name="delay"/> (a throttle longer than an invocation waits).</summary>
    public Task SendAsync(DiscoveryMessage message, TimeSpan delay, CancellationToken cancellationToken) => SendAsync(message.ToJson(), delay, cancellationToken);
}
