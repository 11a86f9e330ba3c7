using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.RealHost;

/// <summary>A test that needs a real Functions host: skipped, saying what to install, when there is none.</summary>
public sealed class RealHostFactAttribute : FactAttribute
{
    public RealHostFactAttribute()
    {
        if (FunctionsHostLauncher.Find() is null) Skip = FunctionsHostLauncher.Missing;
    }
}

/// <inheritdoc cref="RealHostFactAttribute"/>
public sealed class RealHostTheoryAttribute : TheoryAttribute
{
    public RealHostTheoryAttribute()
    {
        if (FunctionsHostLauncher.Find() is null) Skip = FunctionsHostLauncher.Missing;
    }
}

/// <summary>
/// The published app in two real Functions hosts, each with an Azurite of its own (a host listens to harvest-pages
/// and would take the other tests' messages) and one WeCom simulator:
/// <list type="bullet">
/// <item><see cref="App"/>: the whole app as deployed, with test-sized waits: the queue retries a failed delivery after
/// 1 s instead of 30, WeCom calls are not retried in-process (the queue's retries are what is tested), and the sweeper
/// runs every 5 s and re-drives after 10 s without a sign of life.</item>
/// <item><see cref="HttpOnly"/>: the same app with its queue and timer functions disabled, so whatever its HTTP
/// functions put on the queue stays there to be counted.</item>
/// </list>
/// </summary>
public sealed class RealHostFixture : IAsyncLifetime
{
    public RunningSimulator Simulator { get; private set; } = null!;
    public FunctionsHost App { get; private set; } = null!;
    public FunctionsHost HttpOnly { get; private set; } = null!;
    public StorageClients AppStorage { get; private set; } = null!;
    public StorageClients HttpOnlyStorage { get; private set; } = null!;
    public HarvestStore AppStore { get; private set; } = null!;
    public HarvestStore HttpOnlyStore { get; private set; } = null!;

    /// <summary>The default app's callback keys, in both hosts.</summary>
    public const string CallbackToken = "RealHostToken7";
    public const string EncodingAesKey = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ";

    /// <summary>The sweep schedule of <see cref="App"/>: every 5 s.</summary>
    public const string SweepSchedule = "*/5 * * * * *";

    /// <summary><see cref="SweepSchedule"/> as the host writes it out when it indexes the timer.</summary>
    public const string SweepScheduleExpanded = "0,5,10,15,20,25,30,35,40,45,50,55 * * * * *";

    public async Task InitializeAsync()
    {
        if (FunctionsHostLauncher.Find() is not { } launcher) return;
        var published = FunctionsHost.PublishedAppAsync();
        var appAzurite = Azurite.StartPrivateAsync();
        var httpAzurite = Azurite.StartPrivateAsync();
        Simulator = await SimulatorHost.StartAsync(new SimulatorOptions());
        AppStorage = (await appAzurite).Clients();
        HttpOnlyStorage = (await httpAzurite).Clients();
        AppStore = new HarvestStore(AppStorage);
        HttpOnlyStore = new HarvestStore(HttpOnlyStorage);
        await published;

        var common = new Dictionary<string, string>
        {
            ["WeCom:BaseUrl"] = Simulator.BaseUrl.ToString(),
            ["WeCom:CorpId"] = SimulatorOptions.DefaultCorpId,
            ["WeCom:Secret"] = SimulatorOptions.DefaultSecret,
            ["WeCom:CallbackToken"] = CallbackToken,
            ["WeCom:EncodingAesKey"] = EncodingAesKey,
            ["Harvest:NightlySchedule"] = HarvestOptions.DefaultNightlySchedule,
        };
        App = await FunctionsHost.StartAsync(launcher, "app", new Dictionary<string, string>(common)
        {
            ["AzureWebJobsStorage"] = (await appAzurite).ConnectionString,
            ["Harvest:SweepSchedule"] = SweepSchedule,
            ["Harvest:StallSeconds"] = "10",
            ["WeCom:MaxRetries"] = "0",
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:01",
        });
        HttpOnly = await FunctionsHost.StartAsync(launcher, "http-only", new Dictionary<string, string>(common)
        {
            ["AzureWebJobsStorage"] = (await httpAzurite).ConnectionString,
            ["Harvest:SweepSchedule"] = HarvestOptions.DefaultSweepSchedule,
            ["AzureWebJobs.HarvestPageFunction.Disabled"] = "true",
            ["AzureWebJobs.HarvestPoisonFunction.Disabled"] = "true",
            ["AzureWebJobs.NightlyHarvestFunction.Disabled"] = "true",
            ["AzureWebJobs.StalledRunSweepFunction.Disabled"] = "true",
            ["AzureWebJobs.RetentionFunction.Disabled"] = "true",
        });
        // What the worker creates at start, there before the first count whatever the worker's timing.
        await new HarvestPageSender(HttpOnlyStorage).EnsureCreatedAsync();
        await HttpOnlyStore.EnsureCreatedAsync();
    }

    public async Task DisposeAsync()
    {
        if (App is not null) await App.DisposeAsync();
        if (HttpOnly is not null) await HttpOnly.DisposeAsync();
        if (Simulator is not null) await Simulator.DisposeAsync();
    }
}
