using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;

namespace WatchStat.Functions;

/// <summary>
/// Queue trigger on <c>harvest-pages</c>: one page step per message. The next page leaves through the queue
/// output binding, which wakes this host's listener at once instead of waiting for the next poll.
/// </summary>
public sealed class HarvestPageFunction(HarvestStep step)
{
    [Function(nameof(HarvestPageFunction))]
    [QueueOutput(HarvestPageMessage.QueueName)]
    public async Task<string[]> Run(
        [QueueTrigger(HarvestPageMessage.QueueName)] QueueMessage message,
        CancellationToken cancellationToken)
    {
        var page = HarvestPageMessage.Parse(message.Body.ToString());
        var result = await step.ExecuteAsync(page, message.MessageId, cancellationToken);
        return result.Successor is { } next ? [next.ToJson()] : [];
    }
}
