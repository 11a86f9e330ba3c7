using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using WatchStat.Functions;

namespace WatchStat.Tests.Infrastructure;

/// <summary>How the emulated host treats one delivery.</summary>
public enum Delivery
{
    /// <summary>Invoke, send the outputs, delete the message.</summary>
    Normal,
    /// <summary>Invoke and send the outputs, but the delete is lost: the same message (same id) comes again.</summary>
    Twice,
    /// <summary>The host dies after the function returned, before its outputs were sent: the message comes again.</summary>
    CrashBeforeOutputs,
    /// <summary>Two instances receive the same message at once and both run it.</summary>
    Racing,
}

/// <summary>
/// Drives <see cref="HarvestPageFunction"/> the way the Functions host does, through a real Azurite queue: receive,
/// invoke, send the output binding's messages, delete. A failed invocation leaves the message to come again
/// (at once here, rather than after host.json's visibilityTimeout) and after maxDequeueCount (5) moves it to the
/// poison queue, as the host does, where <see cref="HarvestPoisonFunction"/> is run on it.
/// </summary>
public sealed class QueueDriver(QueueClient queue, QueueClient poison, HarvestPageFunction function, HarvestPoisonFunction poisonFunction)
{
    public const int MaxDequeueCount = HarvestPoisonFunction.MaxDeliveries;

    public int Invocations { get; private set; }
    public int FailedInvocations { get; private set; }
    public int MessagesSent { get; private set; }
    public int Poisoned { get; private set; }
    public long MaxDequeueCountSeen { get; private set; }

    /// <summary>Called before each delivery; the default delivers normally.</summary>
    public Func<QueueMessage, Delivery> Plan { get; set; } = _ => Delivery.Normal;

    /// <summary>Called after each delivery (e.g. to move a fake clock).</summary>
    public Action? AfterDelivery { get; set; }

    public async Task DrainAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        while (true)
        {
            cancel.Token.ThrowIfCancellationRequested();
            foreach (var poisoned in (await poison.ReceiveMessagesAsync(16, TimeSpan.FromSeconds(60), cancel.Token)).Value)
            {
                await poisonFunction.Run(poisoned, cancel.Token);
                await poison.DeleteMessageAsync(poisoned.MessageId, poisoned.PopReceipt, cancel.Token);
            }
            var messages = (await queue.ReceiveMessagesAsync(16, TimeSpan.FromSeconds(60), cancel.Token)).Value;
            if (messages.Length == 0)
            {
                var properties = (await queue.GetPropertiesAsync(cancel.Token)).Value;
                var poisonProperties = (await poison.GetPropertiesAsync(cancel.Token)).Value;
                if (properties.ApproximateMessagesCount == 0 && poisonProperties.ApproximateMessagesCount == 0) return;
                await Task.Delay(20, cancel.Token); // some are invisible (delayed); wait for them
                continue;
            }
            foreach (var message in messages)
            {
                await DeliverAsync(message, Plan(message), cancel.Token);
                AfterDelivery?.Invoke();
            }
        }
    }

    private async Task DeliverAsync(QueueMessage message, Delivery delivery, CancellationToken cancellationToken)
    {
        MaxDequeueCountSeen = Math.Max(MaxDequeueCountSeen, message.DequeueCount);
        string[][] outputs;
        try
        {
            var runs = delivery == Delivery.Racing ? 2 : 1;
            Invocations += runs;
            outputs = await Task.WhenAll(Enumerable.Range(0, runs).Select(_ => Task.Run(() => function.Run(message, cancellationToken), cancellationToken)));
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            FailedInvocations++;
            if (message.DequeueCount >= MaxDequeueCount)
            {
                await poison.SendMessageAsync(message.Body.ToString(), cancellationToken);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                Poisoned++;
            }
            else
            {
                await ReleaseAsync(message, cancellationToken);
            }
            return;
        }

        if (delivery == Delivery.CrashBeforeOutputs)
        {
            await ReleaseAsync(message, cancellationToken);
            return;
        }
        foreach (var body in outputs.SelectMany(o => o))
        {
            await queue.SendMessageAsync(body, cancellationToken);
            MessagesSent++;
        }
        if (delivery == Delivery.Twice) await ReleaseAsync(message, cancellationToken);
        else await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
    }

    /// <summary>Makes a message visible again at once: it will be delivered again, with the same id.</summary>
    private Task ReleaseAsync(QueueMessage message, CancellationToken cancellationToken) =>
        queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, (string?)null, TimeSpan.Zero, cancellationToken);
}
