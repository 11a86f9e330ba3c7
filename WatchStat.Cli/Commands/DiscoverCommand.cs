using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Harvest;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat discover [--app NAME] [--dry-run]</c>: the nightly harvest's discovery, run now; prints the lives it
/// enqueued (or would) and why each other one was skipped.
/// </summary>
public sealed class DiscoverCommand : AsyncCommand<DiscoverCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--app <NAME>")]
        [Description("Only this WeCom app (default: every configured app).")]
        public string? App { get; init; }

        [CommandOption("--dry-run")]
        [Description("Decide and print, but write and enqueue nothing.")]
        public bool DryRun { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = await CliHost.StartAsync(cancellationToken);
        if (settings.App is not null && CliHost.ResolveApp(host, settings.App) is null) return ExitCodes.Usage;
        var discovery = host.Services.GetRequiredService<Discovery>();

        var decisions = await AnsiConsole.Status().StartAsync(
            settings.DryRun ? "Discovering (dry run)..." : "Discovering...",
            _ => discovery.RunAsync(settings.App, settings.DryRun, cancellationToken));

        var table = new Table().AddColumns("app", "anchor", "livingid", "theme", "status", settings.DryRun ? "would enqueue" : "enqueued", "why");
        foreach (var d in decisions.OrderByDescending(d => d.Enqueue).ThenBy(d => d.App, StringComparer.Ordinal).ThenBy(d => d.LivingId, StringComparer.Ordinal))
        {
            table.AddRow(
                Markup.Escape(d.App), Markup.Escape(d.AnchorUserId ?? "(HTTP)"), Markup.Escape(d.LivingId), Markup.Escape(d.Theme ?? ""),
                d.Status?.ToString() ?? "", d.Enqueue ? "[green]yes[/]" : "no", Markup.Escape(d.Reason));
        }
        AnsiConsole.Write(table);
        var enqueued = decisions.Count(d => d.Enqueue);
        AnsiConsole.MarkupLineInterpolated($"{enqueued} of {decisions.Count} lives {(settings.DryRun ? "would be" : "were")} enqueued.");
        return ExitCodes.Ok;
    }
}
