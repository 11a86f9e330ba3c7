using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Storage;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat migrate [--dry-run]</c>: moves the rows a WatchStat from before corp-scoped keys wrote (PartitionKey
/// the livingid) to today's layout (<c>{corpid}|{livingid}</c>), in Harvests, WatchStats and Livings. Run it once,
/// with the Functions app stopped, after upgrading; running it again finishes an interrupted migration and is
/// otherwise a no-op.
/// </summary>
public sealed class MigrateCommand : AsyncCommand<MigrateCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dry-run")]
        [Description("Count what would move, and move nothing.")]
        public bool DryRun { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = await CliHost.StartAsync(cancellationToken);
        var migration = ActivatorUtilities.CreateInstance<LayoutMigration>(host.Services);
        var report = await migration.RunAsync(settings.DryRun, line => CliHost.Stderr.MarkupLineInterpolated($"[grey]{line}[/]"), cancellationToken);

        var verb = settings.DryRun ? "would move" : "moved";
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{(settings.DryRun ? "Dry run: " : "")}{report.Lives:N0} lives {verb} to corp-scoped keys: {report.HarvestRows:N0} Harvests rows, "
            + $"{report.ViewerRows:N0} WatchStats rows, {report.LivingRows:N0} Livings rows, {report.IndexEntries:N0} active-run index entries; "
            + $"{report.DateEntries:N0} lives {(settings.DryRun ? "would be" : "")} dated for the lives overview.").Replace("  ", " ", StringComparison.Ordinal));
        foreach (var skip in report.Skipped) AnsiConsole.MarkupLineInterpolated($"[yellow]skipped[/] {skip}");
        if (report.Lives == 0 && report.LivingRows == 0 && report.Skipped.Count == 0) AnsiConsole.MarkupLine("Nothing to migrate: every row is in today's layout.");
        return report.Skipped.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
