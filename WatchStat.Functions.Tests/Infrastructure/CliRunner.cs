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

    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
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

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await output, await error);
    }
}
