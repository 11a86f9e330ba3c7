using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WatchStat.Functions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// Base of the tests that drive the app end to end: the WeCom simulator over real HTTP, real Azurite tables and
/// queues, the app's own service registration, and a storage fault policy at the transport edge.
/// </summary>
[Collection(SharedStorage.Name)]
public abstract class PipelineTest : IAsyncLifetime
{
    protected RunningSimulator Simulator { get; private set; } = null!;
    protected Azurite Azurite { get; private set; } = null!;
    protected AppHost Host { get; private set; } = null!;
    /// <summary>Faults before the storage SDK's retries: a crash of the process at that point.</summary>
    protected StorageFaults Faults { get; } = new();

    /// <summary>Faults inside the storage SDK's retries: a request the SDK retries (throttling, a dropped connection).</summary>
    protected StorageFaults TransportFaults { get; } = new();
    protected QueueClient Queue { get; private set; } = null!;
    protected QueueClient Poison { get; private set; } = null!;
    protected HarvestStore Store => Host.Get<HarvestStore>();
    protected SimulatorCounters WeCom => Simulator.State.Counters;

    protected virtual SimulatorOptions SimulatorOptions => new();
    protected virtual TimeProvider? Time => null;
    protected virtual IDictionary<string, string?>? Settings => null;

    /// <summary>Registrations that take the place of the app's own: they come after it, and the last registration wins.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public virtual async Task InitializeAsync()
    {
        Azurite = await Azurite.SharedAsync();
        Simulator = await SimulatorHost.StartAsync(SimulatorOptions, Time);
        var storage = StorageClients.FromConfiguration(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [StorageClients.SettingName] = Azurite.ConnectionString }).Build(),
            configureTables: o => { o.AddPolicy(Faults, HttpPipelinePosition.PerCall); o.AddPolicy(TransportFaults, HttpPipelinePosition.PerRetry); },
            configureQueues: o => { o.AddPolicy(Faults, HttpPipelinePosition.PerCall); o.AddPolicy(TransportFaults, HttpPipelinePosition.PerRetry); });
        Host = AppHost.Create(Simulator, Time, Azurite.ConnectionString, Settings, services =>
        {
            services.AddSingleton(storage);
            ConfigureServices(services);
        });

        Queue = storage.Queues.GetQueueClient(HarvestPageMessage.QueueName);
        Poison = storage.Queues.GetQueueClient(HarvestPageMessage.QueueName + "-poison");
        foreach (var queue in new[] { Queue, Poison })
        {
            await queue.CreateIfNotExistsAsync();
            await queue.ClearMessagesAsync();
        }
        await Store.EnsureCreatedAsync();
    }

    public virtual async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Simulator.DisposeAsync();
    }

    /// <summary>
    /// A livingid no other test uses (tables outlive a test): <c>lv-{random}-{shape}</c>, where a shape such as
    /// <c>1800m1300x</c> gives the simulator's live its members and external viewers.
    /// </summary>
    protected static string NewLiveId(string shape = "") => $"lv-{Guid.NewGuid().ToString("N")[..8]}-{shape}";

    protected QueueDriver NewDriver() => new(Queue, Poison, Host.Activate<HarvestPageFunction>(), Host.Activate<HarvestPoisonFunction>());

    /// <summary>POST /api/harvests as the host runs it: the function, then its queue output sent to the queue.</summary>
    protected async Task<HttpAnswer> PostRawAsync(string body, string? contentType = "application/json", string? query = null)
    {
        var output = await Host.Activate<StartHarvestFunction>().Run(HttpCall.Request("POST", body, contentType, query), default);
        foreach (var message in output.Messages) await Queue.SendMessageAsync(message);
        return await HttpCall.RenderAsync(output.Result);
    }

    protected Task<HttpAnswer> PostHarvestAsync(string livingId, bool force = false, string? app = null) =>
        PostRawAsync(
            System.Text.Json.JsonSerializer.Serialize(app is null ? new Dictionary<string, string> { ["livingid"] = livingId } : new() { ["livingid"] = livingId, ["app"] = app }),
            query: force ? "?force=true" : null);

    /// <summary>The live of that id in the corp of the app (default: the default app), as the tables key it.</summary>
    protected LiveKey LiveOf(string livingId, string? app = null) => new(Host.Get<global::WatchStat.WeCom.WeComApps>().Get(app).CorpId, livingId);

    protected async Task<HarvestRecord> StatusAsync(string livingId, string? app = null) =>
        await Store.GetAsync(LiveOf(livingId, app), default) ?? throw new Xunit.Sdk.XunitException($"no status row for {livingId}");

    protected async Task<List<TableEntity>> RowsAsync(string livingId, string? app = null)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in Store.ReadRowsAsync(LiveOf(livingId, app), default)) rows.Add(row);
        return rows;
    }

    protected async Task<int> QueueLengthAsync() => (await Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
}
