using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// Where a real Azure Functions host comes from: <c>WATCHSTAT_FUNCTIONS_HOST</c> (the folder of the source-built
/// host's <c>run-host.sh</c>; <c>.ci/run</c> sets it to <c>../shared/functions-host</c>), else Core Tools' <c>func</c>
/// on PATH. Neither: the real-host tests are skipped with <see cref="Missing"/>.
/// </summary>
public sealed record FunctionsHostLauncher(string Kind, string Path)
{
    public const string Variable = "WATCHSTAT_FUNCTIONS_HOST";

    public const string RunHostScript = "run-host.sh";

    private static readonly Lazy<FunctionsHostLauncher?> Found = new(Locate);

    public static FunctionsHostLauncher? Find() => Found.Value;

    /// <summary>Why there is no host, and what to install.</summary>
    public static string Missing =>
        $"No Azure Functions host: set {Variable} to the folder of the source-built host's {RunHostScript} (CI: ../shared/functions-host), "
        + "or install Azure Functions Core Tools v4 so that `func` is on PATH (https://learn.microsoft.com/azure/azure-functions/functions-run-local).";

    public bool IsCoreTools => Kind == "func";

    private static FunctionsHostLauncher? Locate()
    {
        var folder = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(folder))
        {
            var script = System.IO.Path.Combine(folder, RunHostScript);
            if (!File.Exists(script))
                throw new InvalidOperationException($"{Variable} is '{folder}', which has no {RunHostScript}.");
            return new FunctionsHostLauncher("run-host.sh", System.IO.Path.GetFullPath(script));
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var func = System.IO.Path.Combine(dir, "func");
            if (File.Exists(func)) return new FunctionsHostLauncher("func", func);
        }
        return null;
    }
}

/// <summary>
/// One real Functions host running the published WatchStat app, as a child process on a loopback port: file-based
/// keys this class writes (so it knows them), app settings as environment variables, every line of its output kept.
/// Start, wait until it serves, kill -9 it, start it again on the same port and keys.
/// </summary>
public sealed class FunctionsHost : IAsyncDisposable
{
    private static readonly SemaphoreSlim Starting = new(1, 1);
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);
    private static readonly string[] InheritedPrefixes =
    [
        "WeCom__", "Harvest__", "KeyVault__", "AzureWebJobs", "AzureFunctionsJobHost__", "APPLICATIONINSIGHTS_", "FUNCTIONS_",
        "CONTAINER_NAME", "WEBSITE_", "Logging__",
    ];

    private readonly FunctionsHostLauncher _launcher;
    private readonly string _appDir;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly string _logFile;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();
    private Process? _process;
    private int _lines;

    private FunctionsHost(FunctionsHostLauncher launcher, string appDir, string name, IReadOnlyDictionary<string, string> settings)
    {
        _launcher = launcher;
        _appDir = appDir;
        _settings = settings;
        Name = name;
        Port = FreePort();
        BaseUrl = new Uri($"http://127.0.0.1:{Port}/");
        var state = Directory.CreateDirectory(RepoPaths.Combine("artifacts", "functions-host", $"{name}-{Port}")).FullName;
        SecretsPath = Directory.CreateDirectory(System.IO.Path.Combine(state, "secrets")).FullName;
        LogPath = Directory.CreateDirectory(System.IO.Path.Combine(state, "logs")).FullName;
        _logFile = System.IO.Path.Combine(state, "host.log");
        FunctionKey = NewKey();
        MasterKey = NewKey();
        File.WriteAllText(System.IO.Path.Combine(SecretsPath, "host.json"), JsonSerializer.Serialize(new
        {
            masterKey = new { name = "master", value = MasterKey, encrypted = false },
            functionKeys = new[] { new { name = "default", value = FunctionKey, encrypted = false } },
            systemKeys = Array.Empty<object>(),
            hostName = $"127.0.0.1:{Port}",
            instanceId = "0",
            source = "runtime",
            decryptionKeyId = "",
        }));
    }

    public string Name { get; }
    public int Port { get; }
    public Uri BaseUrl { get; }
    public string FunctionKey { get; }
    public string MasterKey { get; }
    public string SecretsPath { get; }
    public string LogPath { get; }

    /// <summary>How many times the host was started (a restart after <see cref="Kill"/> adds one).</summary>
    public int Starts { get; private set; }

    /// <summary>Everything the host (and through it the worker) wrote to stdout and stderr, across restarts.</summary>
    public string Output
    {
        get { lock (_outputLock) return _output.ToString(); }
    }

    /// <summary>Lines of output so far; with <see cref="OutputSince"/>, what one piece of work printed.</summary>
    public int OutputLines
    {
        get { lock (_outputLock) return _lines; }
    }

    public string OutputSince(int line)
    {
        lock (_outputLock)
        {
            var text = _output.ToString();
            var index = 0;
            for (var i = 0; i < line && index >= 0; i++) index = text.IndexOf('\n', index) is var next and >= 0 ? next + 1 : -1;
            return index < 0 ? "" : text[index..];
        }
    }

    /// <summary>
    /// Publishes <c>WatchStat.Functions</c> (Release) once per process into <c>artifacts/functions-app/{assembly}</c>:
    /// what a deployment ships, the app's extensions in <c>.azurefunctions/</c> included. The folder is the test
    /// run's or the benchmark's own (this file is compiled into both): a host watches its app folder and restarts
    /// when another publish rewrites it.
    /// </summary>
    public static Task<string> PublishedAppAsync() => Published.Value;

    /// <summary>Starts a host for the published app with these app settings (<c>:</c> or <c>__</c> in names), and waits until it serves.</summary>
    public static async Task<FunctionsHost> StartAsync(FunctionsHostLauncher launcher, string name, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken = default)
    {
        var app = await PublishedAppAsync();
        var host = new FunctionsHost(launcher, app, name, settings);
        try
        {
            await host.StartProcessAsync(cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the host again (after <see cref="Kill"/> or <see cref="StopAsync"/>) on the same port, keys and settings.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException($"Host {Name} is still running.");
        return StartProcessAsync(cancellationToken);
    }

    /// <summary>kill -9 of the host and its worker: a crash, nothing finishes.</summary>
    public void Kill()
    {
        if (_process is null) return;
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.WaitForExit();
        Append($"--- {Name}: killed (SIGKILL) ---");
    }

    /// <summary>SIGTERM, as a platform stops an instance: running invocations finish, then the host exits.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process) return;
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>An HTTP client for the host, sending the default function key unless told not to.</summary>
    public HttpClient CreateClient(bool withKey = true)
    {
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        if (withKey) client.DefaultRequestHeaders.Add("x-functions-key", FunctionKey);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
    }

    /// <summary>The last lines of output, for failure messages.</summary>
    public string Tail(int lines = 60)
    {
        var all = Output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        // One start at a time: the first one unpacks the host, and two hosts starting at once on two cores time out.
        await Starting.WaitAsync(cancellationToken);
        try
        {
            _process?.Dispose();
            var start = _launcher.IsCoreTools
                ? new ProcessStartInfo(_launcher.Path) { WorkingDirectory = _appDir, ArgumentList = { "host", "start", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--enableAuth" } }
                : new ProcessStartInfo("bash") { ArgumentList = { _launcher.Path, _appDir, Port.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.UseShellExecute = false;
            foreach (var key in start.Environment.Keys.ToList())
            {
                if (InheritedPrefixes.Any(p => key.StartsWith(p, StringComparison.OrdinalIgnoreCase))) start.Environment.Remove(key);
            }
            start.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
            start.Environment["FUNCTIONS_SECRETS_PATH"] = SecretsPath;
            start.Environment["AzureWebJobsSecretStorageType"] = "files";
            start.Environment["FHOST_LOGPATH"] = LogPath;
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            foreach (var (key, value) in _settings) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

            Starts++;
            Append($"--- {Name}: start {Starts} on port {Port} ({_launcher.Kind}) ---");
            var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_launcher.Path}.");
            _process = process;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var startedAt = OutputLines;
            using var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(5) };
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var since = OutputSince(startedAt);
                if (process.HasExited || since.Contains("A host error has occurred", StringComparison.Ordinal))
                    throw new InvalidOperationException($"Host {Name} failed to start.\n{Tail()}");
                if (since.Contains("Job host started", StringComparison.Ordinal) && await PingsAsync(http)) return;
                if (DateTime.UtcNow > until) throw new TimeoutException($"Host {Name} did not start within 120 s.\n{Tail()}");
                await Task.Delay(100, cancellationToken);
            }
        }
        finally
        {
            Starting.Release();
        }
    }

    private static async Task<bool> PingsAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync("admin/host/ping");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    private void Append(string line)
    {
        lock (_outputLock)
        {
            _output.Append(line).Append('\n');
            _lines++;
            File.AppendAllText(_logFile, line + "\n");
        }
    }

    private static async Task<string> PublishAsync()
    {
        var output = RepoPaths.Combine("artifacts", "functions-app", typeof(FunctionsHost).Assembly.GetName().Name!);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                "publish", RepoPaths.Combine("WatchStat.Functions", "WatchStat.Functions.csproj"),
                "-c", "Release", "-o", output, "-nologo", "-v", "quiet", "-clp:ErrorsOnly", "-nodeReuse:false",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet publish.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"dotnet publish of WatchStat.Functions failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        return output;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(30)).Replace('+', '-').Replace('/', '_');
}
