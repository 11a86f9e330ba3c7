using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using WatchStat.Secrets;
using WatchStat.Telemetry;

namespace WatchStat.WeCom;

public static class WeComServiceCollectionExtensions
{
    /// <summary>
    /// The WeCom client, its token cache and its settings (section <c>WeCom</c>, validated at start).
    /// The Functions app, the CLI and the tests all register it through here.
    /// </summary>
    public static IServiceCollection AddWeCom(this IServiceCollection services)
    {
        services.AddOptions<WeComOptions>()
            .BindConfiguration(WeComOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WeComOptions>, WeComOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AccessTokenCache>();
        services.TryAddSingleton<WeComApps>();
        services.TryAddSingleton<Suites.SuiteVault>();
        services.TryAddSingleton<WeComRateLimiter>();
        services.TryAddSingleton<WeComBudget>();
        services.AddMetrics();
        services.TryAddSingleton<WatchStatMetrics>();
        services.AddWeComSecrets();

        services.AddHttpClient<WeComClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<WeComOptions>>().Value;
                var baseUrl = options.BaseUrl.ToString();
                http.BaseAddress = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/");
                // The resilience pipeline times calls out; this is only a backstop behind it.
                http.Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds + 5);
            })
            // Pooled connections are recycled by the handler itself, so holders of the typed client
            // (a CLI run, a long harvest) never keep a stale DNS answer.
            .UseSocketsHttpHandler((handler, _) => handler.PooledConnectionLifetime = TimeSpan.FromMinutes(2))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // Request URIs carry access_token and corpsecret in their query: the stock handlers log whole URIs
            // (their redaction is one AppContext switch away from off), so the client logs through its own lines only.
            .RemoveAllLoggers()
            .AddWeComResilience();

        return services;
    }
}
