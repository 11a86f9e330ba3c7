using Azure.Storage.Queues;
using WatchStat.Storage;

namespace WatchStat.Harvest;

/// <summary>
/// Sends messages to one of the app's queues from outside a function's output binding, with the same base64 encoding
/// the queue trigger expects (<see cref="StorageClients"/>): the queue and its poison queue are created once per
/// process, the poison queue too, which the host would otherwise only create when it first moves a message there,
/// while its listener polls it, answered 404 each time.
/// </summary>
public abstract class QueueSender
{
    private readonly CreateOnce _created;

    protected QueueSender(StorageClients storage, string queueName)
    {
        Client = storage.Queues.GetQueueClient(queueName);
        var poison = storage.Queues.GetQueueClient(queueName + "-poison");
        _created = new CreateOnce(ct => Task.WhenAll(Client.CreateIfNotExistsAsync(cancellationToken: ct), poison.CreateIfNotExistsAsync(cancellationToken: ct)));
    }

    public QueueClient Client { get; }

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => _created.EnsureAsync(cancellationToken);

    /// <summary>Sends a message body, visible after <paramref name="delay"/> when one is given.</summary>
    protected async Task SendAsync(string body, TimeSpan? delay, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken);
        await Client.SendMessageAsync(body, visibilityTimeout: delay, cancellationToken: cancellationToken);
    }
}
