using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Harvest;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat enqueue &lt;livingid&gt; [--app NAME] [--force]</c>: requests a harvest exactly as
/// <c>POST /api/harvests</c> does (same checks, same no-second-chain rule) and puts the first page on the queue for
/// the deployed app to pick up.
/// </summary>
public sealed class EnqueueCommand : AsyncCommand<EnqueueCommand.Settings>
{
    public sealed class Settings : LivingIdAndAppSettings
    {
        [CommandOption("--force")]
        [Description("Start a new run even if one is queued or running.")]
        public bool Force { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = await CliHost.StartAsync(cancellationToken);
        // The operator is told which apps there are (an HTTP caller is not: HarvestRequests answers without them).
        if (CliHost.ResolveApp(host, settings.App) is null) return ExitCodes.Usage;
        var request = await host.Services.GetRequiredService<HarvestRequests>().RequestAsync(settings.LivingId, settings.App, settings.CorpId, settings.Force, cancellationToken);
        if (request is not { Start: { } start })
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {request.Problem}");
            return ExitCodes.Usage;
        }

        var run = start.Status;
        if (start.FirstPage is { } first)
        {
            try
            {
                await host.Services.GetRequiredService<HarvestPageSender>().SendAsync(first, delay: null, cancellationToken);
            }
            catch (Exception ex) when (CliHost.DescribeStorageFailure(ex) is { } failure)
            {
                // The run is recorded but its message is not out: say how it gets going, since enqueueing again
                // would only find the run queued.
                CliHost.Stderr.MarkupLineInterpolated($"[red]error:[/] {failure}");
                CliHost.Stderr.MarkupLineInterpolated(
                    $"Run {run.RunId} is recorded as queued without its message: the stalled-run sweeper sends it within Harvest:StallSeconds, or run [bold]watchstat enqueue {run.LivingId} --force[/].");
                return ExitCodes.Failed;
            }
        }
        if (start.Created)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[green]Queued[/] run {run.RunId} of live {run.LivingId} (app {run.App}): its first page is on the queue for the deployed app.");
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated(
                $"Run {run.RunId} of live {run.LivingId} (app {run.App}) is already [yellow]{run.State}[/] ({run.PagesDone:N0} pages done): nothing new was queued. --force starts a new run.");
        }
        return ExitCodes.Ok;
    }
}
