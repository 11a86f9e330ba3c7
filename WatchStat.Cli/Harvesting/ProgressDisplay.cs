using Spectre.Console;
using WatchStat.Storage;

namespace WatchStat.Cli.Harvesting;

/// <summary>
/// Live progress of a harvest: a spinner line on a terminal, a plain line every few seconds when output is
/// redirected (Spectre turns colours off there by itself).
/// </summary>
public static class ProgressDisplay
{
    public static async Task<HarvestRecord> RunAsync(string title, Func<Action<HarvestProgress>, Task<HarvestRecord>> work)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            return await AnsiConsole.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(title), async ctx =>
                await work(p => ctx.Status($"{Markup.Escape(title)}: {Describe(p)}")));
        }

        AnsiConsole.WriteLine(title);
        var lastLine = TimeSpan.Zero;
        var last = default(HarvestProgress);
        var result = await work(p =>
        {
            last = p;
            if (p.Elapsed - lastLine < TimeSpan.FromSeconds(2)) return;
            lastLine = p.Elapsed;
            AnsiConsole.WriteLine("  " + Describe(p));
        });
        if (last is not null) AnsiConsole.WriteLine("  " + Describe(last));
        return result;
    }

    private static string Describe(HarvestProgress p)
    {
        var viewers = p.Status.MembersWritten + p.Status.ExternalWritten;
        var rate = p.Elapsed.TotalSeconds > 0 ? viewers / p.Elapsed.TotalSeconds : 0;
        return $"page {p.Status.PagesDone:N0}, {viewers:N0} viewers, {rate:N0} viewers/s";
    }
}
