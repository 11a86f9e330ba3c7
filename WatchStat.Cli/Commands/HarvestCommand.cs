using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Cli.Harvesting;
using WatchStat.Harvest;
using WatchStat.Storage;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat harvest &lt;livingid&gt;</c>: harvests a live in-process with the same page step, checkpoint and rows
/// as the Functions app, showing progress; resumes a run left unfinished.
/// </summary>
public sealed class HarvestCommand : AsyncCommand<HarvestCommand.Settings>
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
        if (CliHost.ResolveApp(host, settings.App) is not { } app) return ExitCodes.Usage;
        var loop = ActivatorUtilities.CreateInstance<HarvestLoop>(host.Services);
        var store = host.Services.GetRequiredService<HarvestStore>();

        var status = await ProgressDisplay.RunAsync(
            $"Harvesting {settings.LivingId}",
            report => loop.RunAsync(settings.LivingId, app, settings.Force, report, cancellationToken));

        if (status.State == HarvestStates.Failed)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]Run {status.RunId} failed[/] at page {status.PagesDone + 1}: errcode {status.LastErrorCode?.ToString() ?? "-"}, {status.LastErrorMessage}");
            return ExitCodes.Failed;
        }
        if (status.State != HarvestStates.Completed)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]Run {status.RunId} is {status.State}[/]: another process is harvesting this live.");
            return ExitCodes.Failed;
        }

        await Summary.WriteAsync(store, status, cancellationToken);
        return ExitCodes.Ok;
    }
}
