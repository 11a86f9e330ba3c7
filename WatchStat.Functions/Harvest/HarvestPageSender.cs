using Azure.Storage.Queues;
using WatchStat.Storage;

namespace WatchStat.Harvest;

/// <summary>
/// Sends <c>harvest-pages</c> messages from outside the chain (the nightly harvest, the stalled-run sweeper, the CLI):
/// a <see cref="QueueClient"/> with the same base64 encoding the trigger expects. Within a chain, the next page
/// leaves through the queue output binding instead, which needs no poll to be picked up.
/// </summary>
public sealed class HarvestPageSender(StorageClients storage)
{
    private readonly CreateOnce _created = new(ct => Task.WhenAll(
        storage.Queues.GetQueueClient(HarvestPageMessage.QueueName).CreateIfNotExistsAsync(cancellationToken: ct),
        storage.Queues.GetQueueClient(HarvestPageMessage.PoisonQueueName).CreateIfNotExistsAsync(cancellationToken: ct)));

    public QueueClient Client { get; } = storage.Queues.GetQueueClient(HarvestPageMessage.QueueName);

    /// <summary>
    /// Creates both queues once per process: the poison queue too, which the host would otherwise only create when it
    /// first moves a message there, while its listener polls it, answered 404 each time.
    /// </summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => _created.EnsureAsync(cancellationToken);

    /// <summary>Sends a message, visible after <paramref name="delay"/> when one is given.</summary>
    public async Task SendAsync(HarvestPageMessage message, TimeSpan? delay, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        await Client.SendMessageAsync(message.ToJson(), visibilityTimeout: delay, cancellationToken: cancellationToken);
    }
}
