using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Cli.Reporting;
using WatchStat.Harvest;
using WatchStat.Storage;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat status &lt;livingid&gt; [--json]</c>: the live's status row, as a table or as the HTTP API's
/// <c>GET /api/harvests/{livingid}</c> answers it.
/// </summary>
public sealed class StatusCommand : AsyncCommand<StatusCommand.Settings>
{
    public sealed class Settings : LivingIdSettings
    {
        [CommandOption("--json")]
        [Description("Write the status as JSON (the HTTP API's shape, camelCase) instead of a table.")]
        public bool Json { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (CliHost.ResolveLive(settings) is not { } live) return ExitCodes.Usage;
        var status = await new HarvestStore(CliHost.OpenStorage()).GetAsync(live, cancellationToken);
        if (status is null)
        {
            // With --json, stdout stays empty or valid JSON.
            (settings.Json ? CliHost.Stderr : AnsiConsole.Console).MarkupLineInterpolated(
                $"[red]error:[/] no harvest is recorded for live '{settings.LivingId}'.");
            return ExitCodes.Failed;
        }

        var view = HarvestStatusView.From(status);
        if (settings.Json)
        {
            await JsonOutput.WriteAsync(view, cancellationToken);
            return ExitCodes.Ok;
        }

        var table = new Table().Title($"live {Markup.Escape(status.LivingId)}").HideHeaders().AddColumns("", "");
        table.AddRow("corp", Markup.Escape(status.CorpId));
        table.AddRow("app", Markup.Escape(status.App));
        table.AddRow("run", Markup.Escape(status.RunId));
        table.AddRow("state", State(status.State));
        table.AddRow("pages", $"{status.PagesDone:N0}");
        table.AddRow("members written", $"{status.MembersWritten:N0}");
        table.AddRow("external written", $"{status.ExternalWritten:N0}");
        table.AddRow("viewers written", $"{view.ViewersWritten:N0}");
        table.AddRow("started", Time(status.StartedAt));
        table.AddRow("updated", Time(status.UpdatedAt));
        table.AddRow("completed", status.CompletedAt is { } completed ? Time(completed) : "-");
        table.AddRow("throttles", status.ThrottledTotal == 0 && status.BudgetWaits == 0
            ? "none"
            : Markup.Escape($"{status.ThrottledTotal:N0} by WeCom, {status.Throttles:N0} in a row, {status.BudgetWaits:N0} waits for the budget"
                + (status.ThrottledUntil is { } until ? $", paused until {Time(until)}" : "")));
        table.AddRow("last error", status.LastErrorMessage is null
            ? "-"
            : $"[red]{Markup.Escape($"{(status.LastErrorCode is { } code ? $"errcode {code}: " : "")}{status.LastErrorMessage}")}[/]");
        AnsiConsole.Write(table);
        return ExitCodes.Ok;
    }

    private static string State(string state) => state switch
    {
        HarvestStates.Completed => "[green]completed[/]",
        HarvestStates.Failed => "[red]failed[/]",
        _ => $"[yellow]{Markup.Escape(state)}[/]",
    };

    /// <summary>A time as the operator reads it: in local time with its offset, unambiguous in every locale.</summary>
    private static string Time(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);
}
