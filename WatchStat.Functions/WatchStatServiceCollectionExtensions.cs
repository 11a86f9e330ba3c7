using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.WeCom;
using WatchStat.WeCom.Callbacks;

namespace WatchStat;

public static class WatchStatServiceCollectionExtensions
{
    /// <summary>Everything the harvester needs, for the Functions app, the CLI and the tests alike.</summary>
    public static IServiceCollection AddWatchStat(this IServiceCollection services)
    {
        services.AddWeCom();
        services.AddOptions<HarvestOptions>()
            .BindConfiguration(HarvestOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(sp => StorageClients.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        services.TryAddSingleton<HarvestStore>();
        services.TryAddSingleton<LivingStore>();
        services.TryAddSingleton<Reports.LiveReports>();
        services.TryAddSingleton<Reports.LivesOverview>();
        services.TryAddSingleton<InstallationStore>();
        services.TryAddSingleton<HarvestRuns>();
        services.TryAddSingleton<HarvestRequests>();
        services.TryAddSingleton<HarvestPageSender>();
        services.TryAddSingleton<DiscoverySender>();
        services.TryAddSingleton<WeComCallbackKeys>();
        services.TryAddSingleton<LiveStatusCallbacks>();
        services.TryAddTransient<SuiteCallbacks>();
        services.TryAddTransient<HarvestStep>();
        services.TryAddTransient<Discovery>();
        services.TryAddTransient<StalledRunSweeper>();
        services.TryAddTransient<Privacy.Retention>();
        return services;
    }
}
