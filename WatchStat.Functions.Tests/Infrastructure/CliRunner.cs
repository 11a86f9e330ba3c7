using System.Diagnostics;
using System.Text;

namespace WatchStat.Tests.Infrastructure;

/// <summary>What a <c>watchstat</c> process printed and how it ended.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the real <c>watchstat</c> CLI (built with the tests) as a process, output redirected.</summary>
public static class CliRunner
{
    public static string Dll { get; } = Path.Combine(
        RepoPaths.Root, "WatchStat.Cli", "bin",
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug",
        "net10.0", "watchstat.dll");

    /// <summary>Starts the CLI and kills it (the whole process, no goodbye) after <paramref name="after"/>, if it still runs.</summary>
    public static async Task<bool> RunAndKillAsync(IReadOnlyDictionary<string, string> environment, TimeSpan after, params string[] args)
    {
        using var process = Process.Start(StartInfo(environment, args)) ?? throw new InvalidOperationException("could not start dotnet");
        var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        var exited = await Task.WhenAny(process.WaitForExitAsync(), Task.Delay(after)) is { IsCompleted: true } && process.HasExited;
        if (!exited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        await drain;
        return !exited;
    }

    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(environment, args)) ?? throw new InvalidOperationException("could not start dotnet");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await output, await error);
    }

    private static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> environment, string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var name in new[] { "WeCom__BaseUrl", "WeCom__CorpId", "WeCom__Secret", "AzureWebJobsStorage" })
            start.Environment.Remove(name);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        return start;
    }
}
