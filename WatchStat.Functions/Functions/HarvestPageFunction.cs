using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.Harvest;

namespace WatchStat.Functions;

/// <summary>
/// Queue trigger on <c>harvest-pages</c>: one page step per message. The next page leaves through the queue
/// output binding, which wakes this host's listener at once instead of waiting for the next poll. A throttled page
/// goes back on the queue with a delay (the output binding cannot delay). A delivery that fails notes why on the
/// status row first, so a message that ends in the poison queue fails its run with the reason. Noting is best effort:
/// when it fails too (storage is down, the usual reason the delivery failed), that is logged with the delivery's own
/// error, and the delivery's error is what the host sees, never the noting's.
/// </summary>
public sealed partial class HarvestPageFunction(HarvestStep step, HarvestPageSender sender, IOptions<HarvestOptions> options, ILogger<HarvestPageFunction> logger)
{
    [Function(nameof(HarvestPageFunction))]
    [QueueOutput(HarvestPageMessage.QueueName)]
    public async Task<string[]> Run(
        [QueueTrigger(HarvestPageMessage.QueueName)] QueueMessage message,
        CancellationToken cancellationToken)
    {
        var page = HarvestPageMessage.Parse(message.Body.ToString());
        StepResult result;
        try
        {
            result = await step.ExecuteAsync(page, message.MessageId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            try
            {
                await step.RecordDeliveryFailureAsync(page, ex, CancellationToken.None);
            }
            catch (Exception noting)
            {
                LogNotingFailed(noting, page.LivingId, page.RunId, page.Page, ex.GetType().Name, ex.Message);
            }
            throw;
        }

        if (result is { Successor: { } again, RetryAfter: { } delay })
        {
            await sender.SendAsync(again, options.Value.Scaled(delay), cancellationToken);
            return [];
        }
        return result.Successor is { } next ? [next.ToJson()] : [];
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Harvest {LivingId} run {RunId}: page {Page} failed ({ErrorType}: {Error}), and noting that on the status row failed as well")]
    private partial void LogNotingFailed(Exception noting, string livingId, string runId, int page, string errorType, string error);
}
