using Azure.Storage.Queues;
using WatchStat.Storage;

namespace WatchStat.Harvest;

/// <summary>Sends <c>discover-anchors</c> messages (the nightly timer), base64 as the queue trigger expects.</summary>
public sealed class DiscoverySender(StorageClients storage)
{
    private readonly CreateOnce _created = new(ct => Task.WhenAll(
        storage.Queues.GetQueueClient(DiscoveryMessage.QueueName).CreateIfNotExistsAsync(cancellationToken: ct),
        storage.Queues.GetQueueClient(DiscoveryMessage.PoisonQueueName).CreateIfNotExistsAsync(cancellationToken: ct)));

    public QueueClient Client { get; } = storage.Queues.GetQueueClient(DiscoveryMessage.QueueName);

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => _created.EnsureAsync(cancellationToken);

    public async Task SendAsync(DiscoveryMessage message, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        await Client.SendMessageAsync(message.ToJson(), cancellationToken: cancellationToken);
    }
}
