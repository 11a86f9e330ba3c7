using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Cli;

/// <summary>
/// The CLI's services: the same registration and settings as the Functions app (<c>WeCom:*</c>,
/// <c>AzureWebJobsStorage</c>), read from environment variables (<c>WeCom__BaseUrl</c>, ...).
/// With no WeCom endpoint configured it talks to the local simulator and Azurite's development storage.
/// </summary>
public static class CliHost
{
    /// <summary>The simulator's default address and app, used when no WeCom endpoint is configured.</summary>
    public static readonly IReadOnlyDictionary<string, string?> LocalDefaults = new Dictionary<string, string?>
    {
        ["WeCom:BaseUrl"] = "http://127.0.0.1:5080/",
        ["WeCom:CorpId"] = "ww-sim-corp",
        ["WeCom:Secret"] = "sim-secret-0123456789abcdef",
        [StorageClients.SettingName] = "UseDevelopmentStorage=true",
    };

    /// <summary>The app a command names (or the default one); null after printing why there is none.</summary>
    public static WeComApp? ResolveApp(IHost host, string? name)
    {
        var apps = host.Services.GetRequiredService<WeComApps>();
        if (apps.Check(name) is not { } problem) return apps.Get(name);
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {problem}");
        return null;
    }

    public static async Task<IHost> StartAsync(CancellationToken cancellationToken)
    {
        var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        if (string.IsNullOrEmpty(environment["WeCom:BaseUrl"]))
        {
            builder.Configuration.AddInMemoryCollection(LocalDefaults);
        }
        else
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [StorageClients.SettingName] = "UseDevelopmentStorage=true" });
        }
        builder.Configuration.AddConfiguration(environment);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddWatchStat();
        var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false); // validates the settings
        return host;
    }
}
