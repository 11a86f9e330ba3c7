using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace WatchStat.Telemetry;

/// <summary>
/// The worker's quiet defaults, as the lowest-precedence configuration: any <c>Logging:LogLevel:*</c> setting
/// (environment variable <c>Logging__LogLevel__Polly=Information</c>, an app setting) overrides them. The host's own
/// levels are in host.json. Together they keep a harvested page at no log line at Information.
/// </summary>
public static class LoggingDefaults
{
    public static IReadOnlyDictionary<string, string?> Values { get; } = new Dictionary<string, string?>
    {
        // The WeCom client's resilience pipeline logs every attempt of every call at Information; retries and
        // failures are Warning and stay.
        ["Logging:LogLevel:Polly"] = "Warning",
        // "Executing OkObjectResult, writing value of type ..." for every HTTP answer.
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
    };

    /// <summary>Puts <see cref="Values"/> under every other configuration source.</summary>
    public static IConfigurationBuilder AddWatchStatLoggingDefaults(this IConfigurationBuilder configuration)
    {
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Values });
        return configuration;
    }
}
