using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace WatchStat.WeComSimulator;

/// <summary>A simulator started by <see cref="SimulatorHost.StartAsync"/>; dispose it to stop it.</summary>
public sealed class RunningSimulator : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);
    private readonly WebApplication _app;

    internal RunningSimulator(WebApplication app, Uri baseUrl, SimulatorState state)
    {
        _app = app;
        BaseUrl = baseUrl;
        State = state;
    }

    /// <summary>e.g. http://127.0.0.1:41234/ (with the trailing slash): WeCom's "https://qyapi.weixin.qq.com/" for clients.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The simulator's state (options, lives, tokens, counters).</summary>
    public SimulatorState State { get; }

    /// <summary>Stops the suites' ticket timers and the server (waiting at most 5 s for calls in flight) and releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        State.Suites.Stop();
        using (var timeout = new CancellationTokenSource(StopTimeout))
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Builds and starts the simulator.</summary>
public static class SimulatorHost
{
    /// <summary>Log categories that would write request URLs (with corpsecret / access_token in the query): Warning and above only.</summary>
    private static readonly string[] QuietCategories = ["Microsoft.AspNetCore", "Microsoft.Hosting"];

    /// <summary>
    /// Starts the simulator on 127.0.0.1:<paramref name="port"/> (0: a free port). Isolated from the test process's
    /// configuration (no appsettings, environment variables or URLs are read); logs Warning and above only.
    /// </summary>
    public static async Task<RunningSimulator> StartAsync(SimulatorOptions options, TimeProvider? time = null, int port = 0, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(SimulatorHost).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter(level => level >= LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));

        var app = Build(builder, options, time);
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
            string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            var baseUrl = new Uri(address.EndsWith('/') ? address : address + "/", UriKind.Absolute);
            return new RunningSimulator(app, baseUrl, app.Services.GetRequiredService<SimulatorState>());
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Shared by Program.cs and <see cref="StartAsync"/>: registers <see cref="SimulatorState"/>, quiets the log
    /// categories that would write secrets, builds the app and maps the endpoints. Addresses are the caller's business.
    /// </summary>
    public static WebApplication Build(WebApplicationBuilder builder, SimulatorOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var state = new SimulatorState(options, time);
        builder.Services.AddSingleton(state);
        QuietSecretLoggingCategories(builder.Services);

        var app = builder.Build();
        // The suites' ticket timers would outlive the server (a system timer is rooted while it runs).
        app.Lifetime.ApplicationStopping.Register(state.Suites.Stop);
        WeComApi.Map(app, state);
        ControlApi.Map(app, state);
        return app;
    }

    /// <summary>
    /// Forces "Microsoft.AspNetCore" and "Microsoft.Hosting" (and every sub-category) to Warning for every logger
    /// provider, whatever appsettings, environment variables or the command line say: hosting's request logs carry
    /// the full URL, and with it corpsecret and access_token.
    /// </summary>
    private static void QuietSecretLoggingCategories(IServiceCollection services)
    {
        services.PostConfigure<LoggerFilterOptions>(filter =>
        {
            var providers = filter.Rules.Select(r => r.ProviderName).Distinct(StringComparer.Ordinal).ToList();
            if (!providers.Contains(null))
            {
                providers.Add(null);
            }

            var kept = filter.Rules.Where(r => !IsQuietCategory(r.CategoryName)).ToList();
            filter.Rules.Clear();
            foreach (var rule in kept)
            {
                filter.Rules.Add(rule);
            }

            foreach (string? provider in providers)
            {
                foreach (string category in QuietCategories)
                {
                    filter.Rules.Add(new LoggerFilterRule(provider, category, LogLevel.Warning, filter: null));
                }
            }
        });
    }

    private static bool IsQuietCategory(string? category) =>
        category is not null && QuietCategories.Any(q => category.StartsWith(q, StringComparison.OrdinalIgnoreCase));
}
