using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat;

public static class WatchStatServiceCollectionExtensions
{
    /// <summary>Everything the harvester needs, for the Functions app, the CLI and the tests alike.</summary>
    public static IServiceCollection AddWatchStat(this IServiceCollection services)
    {
        services.AddWeCom();
        services.TryAddSingleton(sp => StorageClients.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        return services;
    }
}
