using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace WatchStat.Benchmarks;

/// <summary>A run of the real <c>watchstat</c> CLI: what it printed, its wall time and its peak working set.</summary>
public sealed record CliRun(int ExitCode, JsonElement? Json, string Output, TimeSpan Wall, long PeakWorkingSetBytes);

/// <summary>
/// Runs the CLI built with this benchmark (same configuration) as its own process, so that memory and time are the
/// CLI's alone. The peak working set is the kernel's high-water mark (VmHWM), sampled until the process exits.
/// </summary>
public sealed class CliProcess(IReadOnlyDictionary<string, string> environment)
{
    public static string Dll { get; } = Path.Combine(
        WatchStat.Tests.Infrastructure.RepoPaths.Root, "WatchStat.Cli", "bin",
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug",
        "net10.0", "watchstat.dll");

    public async Task<CliRun> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!process.HasExited)
        {
            peak = Math.Max(peak, HighWaterMark(process.Id));
            await Task.Delay(20);
        }
        await process.WaitForExitAsync();
        clock.Stop();
        if (peak == 0) peak = process.PeakWorkingSet64;

        var text = await output + await error;
        JsonElement? json = null;
        var lastLine = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (lastLine?.TrimStart().StartsWith('{') == true) json = JsonDocument.Parse(lastLine).RootElement.Clone();
        return new CliRun(process.ExitCode, json, text, clock.Elapsed, peak);
    }

    /// <summary>VmHWM of /proc/{pid}/status in bytes; 0 where there is no /proc.</summary>
    internal static long HighWaterMark(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
            // The process ended between the check and the read.
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0;
    }
}
