using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WatchStat.Harvest;
using WatchStat.Storage;

namespace WatchStat.Functions;

/// <summary>
/// Creates the queues and tables when the worker starts, so the host's listeners find the poison queue from the
/// start (the deployment creates them all in Azure; Azurite starts empty). Best effort: a failure is logged, and
/// whatever first needs a queue or table creates it then.
/// </summary>
public sealed partial class StorageAtStart(HarvestPageSender sender, DiscoverySender discovery, HarvestStore store, WeCom.WeComBudget budget, ILogger<StorageAtStart> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(sender.EnsureCreatedAsync(cancellationToken), discovery.EnsureCreatedAsync(cancellationToken), store.EnsureCreatedAsync(cancellationToken),
                budget.EnsureCreatedAsync(cancellationToken));
        }
        catch (Azure.RequestFailedException ex)
        {
            LogNotCreated(ex.Status, ex.ErrorCode);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "The queues and tables could not be created at start (HTTP {Status} {ErrorCode}); they are created when first needed")]
    private partial void LogNotCreated(int status, string? errorCode);
}
