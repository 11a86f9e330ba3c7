using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using System.Text.RegularExpressions;

namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// One real Azurite (the npm package installed by <c>npm ci</c>) for the whole test run: in memory, on loopback,
/// on ports the OS picks, so a second copy can never collide. <c>WATCHSTAT_TEST_STORAGE</c> (a connection string)
/// points the tests at storage started elsewhere instead.
/// </summary>
public sealed partial class Azurite
{
    private static readonly Lazy<Task<Azurite>> Instance = new(() => StartAsync(allowExternal: true));

    private Azurite(string connectionString) => ConnectionString = connectionString;

    public string ConnectionString { get; }

    /// <summary>The app's own table and queue clients for this Azurite, as <c>AzureWebJobsStorage</c> would give them.</summary>
    public WatchStat.Storage.StorageClients Clients() =>
        WatchStat.Storage.StorageClients.FromConfiguration(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [WatchStat.Storage.StorageClients.SettingName] = ConnectionString }).Build());

    public static Task<Azurite> SharedAsync() => Instance.Value;

    /// <summary>
    /// An Azurite of its own, for a consumer that must not share queues with the other tests (a real Functions host
    /// listens to harvest-pages and would take their messages). Stopped when the process exits.
    /// </summary>
    public static Task<Azurite> StartPrivateAsync() => StartAsync(allowExternal: false);

    private static async Task<Azurite> StartAsync(bool allowExternal)
    {
        var external = Environment.GetEnvironmentVariable("WATCHSTAT_TEST_STORAGE");
        if (allowExternal && !string.IsNullOrWhiteSpace(external)) return new Azurite(external);

        var script = RepoPaths.Combine("node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script))
            throw new InvalidOperationException($"Azurite is not installed ({script} is missing): run `npm ci` at the repository root first.");

        var workspace = Directory.CreateTempSubdirectory("watchstat-azurite-").FullName;
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workspace,
        };
        foreach (var arg in new[]
                 {
                     script, "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent",
                     "--blobHost", "127.0.0.1", "--blobPort", "0",
                     "--queueHost", "127.0.0.1", "--queuePort", "0",
                     "--tableHost", "127.0.0.1", "--tablePort", "0",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(process, workspace);

        var ports = new Dictionary<string, int>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (ports)
            {
                output.AppendLine(e.Data);
                if (Listening().Match(e.Data) is { Success: true } m) ports[m.Groups["service"].Value] = int.Parse(m.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (ports.Count == 3) ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (ports) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var finished = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        if (finished != ready.Task)
        {
            Stop(process, workspace);
            throw new InvalidOperationException($"Azurite did not start:\n{output}");
        }

        return new Azurite(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
            + $"BlobEndpoint=http://127.0.0.1:{ports["Blob"]}/devstoreaccount1;"
            + $"QueueEndpoint=http://127.0.0.1:{ports["Queue"]}/devstoreaccount1;"
            + $"TableEndpoint=http://127.0.0.1:{ports["Table"]}/devstoreaccount1;");
    }

    /// <summary>
    /// Removes Azurite's working directory (in memory, it holds nothing) and stops Azurite. The directory goes first:
    /// the test host may be ended soon after its exit handlers start, and on Linux a process's working directory can
    /// be removed while it runs.
    /// </summary>
    private static void Stop(Process process, string workspace)
    {
        try
        {
            Directory.Delete(workspace, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Already gone, or in use: a temporary directory, left for the OS to clean.
        }
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    [GeneratedRegex(@"Azurite (?<service>Blob|Queue|Table) service is successfully listening at https?://[^:]+:(?<port>\d+)")]
    private static partial Regex Listening();
}
