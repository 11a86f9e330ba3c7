using System.Diagnostics;
using Spectre.Console;

namespace WatchStat.Cli.Reporting;

/// <summary>
/// Progress of a command that reads a live's rows: a spinner with the rows read on a terminal, a plain line every
/// few seconds when the console is redirected (so a log shows it moving without filling up). Commands whose
/// stdout is data hand in the stderr console, so the data stays clean.
/// </summary>
public static class RowProgress
{
    /// <summary>How often <paramref name="work"/> should report (rows); reporting every row would cost more than the rows.</summary>
    public const int ReportEvery = 500;

    public static async Task<T> RunAsync<T>(IAnsiConsole console, string title, Func<Action<long>, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(work);
        if (console.Profile.Capabilities.Interactive)
        {
            return await console.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(title), ctx =>
                work(rows => ctx.Status($"{Markup.Escape(title)}: {rows:N0} rows read")));
        }

        console.WriteLine(title);
        var clock = Stopwatch.StartNew();
        var lastLine = TimeSpan.Zero;
        return await work(rows =>
        {
            if (clock.Elapsed - lastLine < TimeSpan.FromSeconds(2)) return;
            lastLine = clock.Elapsed;
            console.WriteLine($"  {rows:N0} rows read");
        });
    }
}
