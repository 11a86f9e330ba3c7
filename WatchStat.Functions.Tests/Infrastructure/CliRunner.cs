using System.Diagnostics;
using System.Text;

namespace WatchStat.Tests.Infrastructure;

/// <summary>What a <c>watchstat</c> process printed and how it ended.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    /// <summary>stdout exactly as the process wrote it (a byte order mark included; <see cref="Output"/> has none).</summary>
    public byte[] OutputBytes { get; init; } = [];

    /// <summary>The process's peak resident set (VmHWM) as last seen while it ran, in bytes; 0 where it cannot be read.</summary>
    public long PeakWorkingSetBytes { get; init; }
}

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
        var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var exited = process.WaitForExitAsync(timeout.Token);
        // VmHWM only grows, so the last reading before the exit is the peak (to within one poll).
        var peak = 0L;
        while (!exited.IsCompleted)
        {
            peak = Math.Max(peak, PeakResidentBytes(process.Id));
            await Task.WhenAny(exited, Task.Delay(50));
        }
        await exited;
        await copy;
        var bytes = output.ToArray();
        var text = Encoding.UTF8.GetString(bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? bytes.AsSpan(Encoding.UTF8.Preamble.Length) : bytes);
        return new CliResult(process.ExitCode, text, await error) { OutputBytes = bytes, PeakWorkingSetBytes = peak };
    }

    /// <summary>VmHWM from /proc (Linux): the peak resident set of the process so far; 0 once it is gone or elsewhere.</summary>
    private static long PeakResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var kilobytes = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, System.Globalization.CultureInfo.InvariantCulture) * 1024;
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
