using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// The app's real service registration (<see cref="WatchStatServiceCollectionExtensions.AddWatchStat"/>) pointed at
/// a simulator and, when given, Azurite; every log line of every category is captured.
/// </summary>
public sealed class AppHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private AppHost(ServiceProvider services) => _services = services;

    public IServiceProvider Services => _services;
    public WeComClient Client => _services.GetRequiredService<WeComClient>();
    public WeComApp App => _services.GetRequiredService<WeComApps>().Get(null);
    public FakeLogCollector Logs => _services.GetFakeLogCollector();

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>A function class, activated from the container as the worker activates it.</summary>
    public T Activate<T>() => ActivatorUtilities.CreateInstance<T>(_services);

    public static AppHost Create(
        RunningSimulator simulator,
        TimeProvider? time = null,
        string? storageConnectionString = null,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configure = null)
    {
        var app = simulator.State.Options.Apps[0];
        var values = new Dictionary<string, string?>
        {
            ["WeCom:BaseUrl"] = simulator.BaseUrl.ToString(),
            ["WeCom:CorpId"] = app.CorpId,
            ["WeCom:Secret"] = app.Secret,
            ["AzureWebJobsStorage"] = storageConnectionString ?? "UseDevelopmentStorage=true",
            // The tests share one Azurite, and many a frozen fake clock at the same instant and the simulator's default
            // corp: WeCom's real limits would be one budget for all of them. The budget's own tests set theirs.
            ["WeCom:CorpLimitPerMinute"] = "1000000",
            ["WeCom:CorpLimitPerHour"] = "100000000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) values[key] = value;

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddFakeLogging());
        if (time is not null) services.AddSingleton(time);
        services.AddWatchStat();
        configure?.Invoke(services);
        return new AppHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
