using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using WatchStat.Harvest;

namespace WatchStat.Functions;

/// <summary>
/// Queue trigger on <c>harvest-pages-poison</c>, where the host moves a message that failed <c>maxDequeueCount</c>
/// deliveries: its run becomes <c>failed</c> with the last error, instead of looking busy forever.
/// </summary>
public sealed partial class HarvestPoisonFunction(HarvestStep step, ILogger<HarvestPoisonFunction> logger)
{
    public const string QueueName = HarvestPageMessage.PoisonQueueName;

    /// <summary>host.json <c>extensions.queues.maxDequeueCount</c>.</summary>
    public const int MaxDeliveries = 5;

    [Function(nameof(HarvestPoisonFunction))]
    public async Task Run([QueueTrigger(QueueName)] QueueMessage message, CancellationToken cancellationToken)
    {
        HarvestPageMessage page;
        try
        {
            page = HarvestPageMessage.Parse(message.Body.ToString());
        }
        catch (FormatException ex)
        {
            LogUnreadable(message.MessageId, ex.Message);
            return;
        }
        if (await step.FailPoisonedAsync(page, MaxDeliveries, cancellationToken))
            LogPoisoned(page.LivingId, page.RunId, page.Page);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Harvest {LivingId} run {RunId} failed: page {Page} ended in the poison queue")]
    private partial void LogPoisoned(string livingId, string runId, int page);

    [LoggerMessage(Level = LogLevel.Error, Message = "A poison message {MessageId} is not a harvest page message: {Problem}")]
    private partial void LogUnreadable(string messageId, string problem);
}
