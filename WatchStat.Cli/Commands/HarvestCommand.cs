using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
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

        [CommandOption("--no-summary")]
        [Description("Do not read the rows back for a summary at the end (quicker for large lives).")]
        public bool NoSummary { get; init; }

        [CommandOption("--json")]
        [Description("Print the outcome as one JSON object (and no progress or summary), for scripts and benchmarks.")]
        public bool Json { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = await CliHost.StartAsync(cancellationToken);
        if (CliHost.ResolveApp(host, settings.App) is not { } app) return ExitCodes.Usage;
        if (CliHost.ResolveCorp(app, settings.CorpId) is not { } corp) return ExitCodes.Usage;
        var live = new LiveKey(corp, settings.LivingId);
        var loop = ActivatorUtilities.CreateInstance<HarvestLoop>(host.Services);
        var store = host.Services.GetRequiredService<HarvestStore>();
        if (await store.GetAsync(live, cancellationToken) is { } stored && !HarvestRuns.IsSameApp(stored, app))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {HarvestRuns.OtherAppProblem(stored, app)}");
            return ExitCodes.Usage;
        }

        var started = TimeProvider.System.GetTimestamp();
        var status = settings.Json
            ? await loop.RunAsync(live, app, settings.Force, progress: null, cancellationToken)
            : await ProgressDisplay.RunAsync(
                $"Harvesting {settings.LivingId}",
                report => loop.RunAsync(live, app, settings.Force, report, cancellationToken));
        var elapsed = TimeProvider.System.GetElapsedTime(started);

        if (settings.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new HarvestOutcome(HarvestStatusView.From(status), elapsed.TotalSeconds), CliJson.Default.HarvestOutcome));
            return status.State == HarvestStates.Completed ? ExitCodes.Ok : ExitCodes.Failed;
        }

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

        if (settings.NoSummary)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"Completed: run {status.RunId}, {status.PagesDone:N0} pages, {status.MembersWritten + status.ExternalWritten:N0} viewers; this harvest took {elapsed.TotalSeconds:N1} s.");
            return ExitCodes.Ok;
        }
        await Summary.WriteAsync(store, status, cancellationToken);
        return ExitCodes.Ok;
    }
}

/// <summary>What <c>harvest --json</c> prints: the run as the HTTP API shows it, and how long this harvest took.</summary>
public sealed record HarvestOutcome(HarvestStatusView Harvest, double ElapsedSeconds);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HarvestOutcome))]
public sealed partial class CliJson : JsonSerializerContext;
