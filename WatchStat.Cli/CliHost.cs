using Azure;
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
        if (apps.Check(name, listApps: true) is not { } problem) return apps.Get(name);
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {problem}");
        return null;
    }

    /// <summary>
    /// The live a command names: its livingid in the corp of <c>--corpid</c>, else of the app (<c>--app</c>, or the
    /// default app) as configured; null after printing why there is none. Reads the settings without validating
    /// them, so the read-only commands work whatever else is misconfigured.
    /// </summary>
    public static LiveKey? ResolveLive(Commands.LivingIdSettings settings, WeComApps? apps = null, IAnsiConsole? console = null) =>
        ResolveCorpId(settings.CorpId, (settings as Commands.LivingIdAndAppSettings)?.App, apps, console) is { } corp ? new LiveKey(corp, settings.LivingId) : null;

    /// <summary>
    /// The corp a command about stored data means: <c>--corpid</c>, else the corp of the app (<c>--app</c>, or the
    /// default app) as configured; null after printing why there is none (an unknown app, a suite app without
    /// <c>--corpid</c>). Reads the settings without validating them.
    /// </summary>
    public static string? ResolveCorpId(string? corpId, string? appName, WeComApps? apps = null, IAnsiConsole? console = null)
    {
        if (corpId is not null) return corpId;
        if (apps is null)
        {
            var configuration = new ConfigurationBuilder();
            AddSettings(configuration);
            var options = configuration.Build().GetSection(WeComOptions.Section).Get<WeComOptions>() ?? new WeComOptions();
            apps = new WeComApps(Microsoft.Extensions.Options.Options.Create(options));
        }
        var problem = apps.All.Count == 0
            ? "no WeCom app is configured here to take the live's corp from: name it with --corpid <CORPID>."
            : apps.Check(appName, listApps: true);
        var corp = "";
        if (problem is null) problem = WeComApps.CheckCorp(apps.Get(appName), null, out corp);
        if (problem is null) return corp;
        (console ?? AnsiConsole.Console).MarkupLineInterpolated($"[red]error:[/] {problem}");
        return null;
    }

    /// <summary>The corp a command that calls WeCom as <paramref name="app"/> means (<see cref="WeComApps.CheckCorp"/>); null after printing why there is none.</summary>
    public static string? ResolveCorp(WeComApp app, string? corpId)
    {
        if (WeComApps.CheckCorp(app, corpId, out var corp) is not { } problem) return corp;
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {problem}");
        return null;
    }

    public static async Task<IHost> StartAsync(CancellationToken cancellationToken)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        AddSettings(builder.Configuration);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(sp => Storage(sp.GetRequiredService<IConfiguration>())); // before AddWatchStat's
        builder.Services.AddWatchStat();
        var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false); // validates the settings
        return host;
    }

    /// <summary>
    /// Storage alone, for the commands that only read the tables (status, export, report): the same
    /// <c>AzureWebJobsStorage</c> setting and defaults, without the WeCom, Key Vault and telemetry services a host
    /// builds and validates, so a misconfigured WeCom app does not stop anyone from looking, and a long export
    /// carries no more runtime than it needs.
    /// </summary>
    public static StorageClients OpenStorage()
    {
        var configuration = new ConfigurationBuilder();
        AddSettings(configuration);
        return Storage(configuration.Build());
    }

    /// <summary>The CLI reads whole partitions (export, report): its table reads buffer into pooled blocks.</summary>
    private static StorageClients Storage(IConfiguration configuration) =>
        StorageClients.FromConfiguration(configuration, configureTables: PooledResponsePolicy.AddTo);

    /// <summary>The CLI's settings: environment variables over the local defaults.</summary>
    private static void AddSettings(IConfigurationBuilder configuration)
    {
        var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        if (string.IsNullOrEmpty(environment["WeCom:BaseUrl"]))
        {
            configuration.AddInMemoryCollection(LocalDefaults);
        }
        else
        {
            configuration.AddInMemoryCollection(new Dictionary<string, string?> { [StorageClients.SettingName] = "UseDevelopmentStorage=true" });
        }
        configuration.AddConfiguration(environment);
    }

    /// <summary>
    /// The console for people when stdout carries data (a CSV, JSON): standard error, with Spectre's detection of
    /// ANSI and colours, so they appear only when stderr is a terminal. Spectre's own interactivity check looks at
    /// stdout, which is the data file in <c>watchstat export x &gt; viewers.csv</c>; the spinner belongs on stderr,
    /// so it is decided by stderr.
    /// </summary>
    public static IAnsiConsole Stderr { get; } = CreateStderr();

    private static IAnsiConsole CreateStderr()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = Console.IsErrorRedirected || !Environment.UserInteractive ? InteractionSupport.No : InteractionSupport.Yes,
        });
        // Redirected, stderr is a log: an error line that names an endpoint stays one line, whole, for grep.
        if (Console.IsErrorRedirected) console.Profile.Width = 1000;
        return console;
    }

    /// <summary>
    /// What went wrong with storage, in a line that names the endpoint, or null when <paramref name="exception"/>
    /// is not a storage failure. The SDK gives up on an unreachable endpoint with an AggregateException of its
    /// attempts (after its retries), and answers an HTTP error with a RequestFailedException.
    /// </summary>
    public static string? DescribeStorageFailure(Exception exception)
    {
        var failure = exception switch
        {
            RequestFailedException single => single,
            AggregateException { InnerExceptions: var attempts } when attempts.Count > 0 && attempts.All(e => e is RequestFailedException or TimeoutException or TaskCanceledException)
                => attempts[^1],
            _ => null,
        };
        if (failure is null) return null;

        // Which service failed is only in the stack: the queue client's frames are there when a send failed.
        var queue = exception.StackTrace?.Contains("Azure.Storage.Queues", StringComparison.Ordinal) == true;
        var service = queue ? "queue" : "table";
        string endpoint;
        try
        {
            var clients = OpenStorage();
            endpoint = (queue ? clients.Queues.Uri : clients.Tables.Uri).ToString().TrimEnd('/');
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            endpoint = $"(the endpoint of {StorageClients.SettingName})";
        }

        return failure is RequestFailedException { Status: > 0 } answer
            ? $"{service} storage at {endpoint} refused the request: HTTP {answer.Status} {answer.ErrorCode}: {FirstLine(answer.Message)}"
            : $"cannot reach {service} storage at {endpoint}: {FirstLine(failure.InnerException?.Message ?? failure.Message)}";
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
