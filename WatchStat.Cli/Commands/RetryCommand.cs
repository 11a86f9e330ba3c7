using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Harvest;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat retry &lt;livingid&gt;</c>: re-drives a failed run from its checkpoint through the queue, as
/// <c>POST /api/harvests/{livingid}/retry</c> does, for the deployed app to pick up.
/// </summary>
public sealed class RetryCommand : AsyncCommand<LivingIdSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, LivingIdSettings settings, CancellationToken cancellationToken)
    {
        using var host = await CliHost.StartAsync(cancellationToken);
        if (CliHost.ResolveLive(settings, host.Services.GetRequiredService<WeCom.WeComApps>()) is not { } live) return ExitCodes.Usage;
        var retry = await host.Services.GetRequiredService<HarvestRuns>().RetryAsync(live, cancellationToken);
        if (retry.Next is null)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {retry.Problem}");
            return ExitCodes.Failed;
        }
        await host.Services.GetRequiredService<HarvestPageSender>().SendAsync(retry.Next, delay: null, cancellationToken);
        AnsiConsole.MarkupLineInterpolated(
            $"Run {retry.Status!.RunId} of live {settings.LivingId} goes on from page {retry.Next.Page} ({retry.Status.PagesDone} pages were done): its message is on the queue.");
        return ExitCodes.Ok;
    }
}
