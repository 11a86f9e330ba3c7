using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat corps --app NAME [--corpid ID --anchors a,b]</c>: the corps that installed a suite app (from WeCom's
/// create_auth, change_auth and cancel_auth), and the anchors the nightly harvest lists lives of in each; with
/// <c>--corpid</c> and <c>--anchors</c>, sets that corp's anchors.
/// </summary>
public sealed class CorpsCommand : AsyncCommand<CorpsCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--app <NAME>")]
        [Description("The suite app (WeCom:Apps:{name} with a SuiteId).")]
        public string? App { get; init; }

        [CommandOption("--corpid <CORPID>")]
        [Description("The corp whose anchors --anchors sets.")]
        public string? CorpId { get; init; }

        [CommandOption("--anchors <USERIDS>")]
        [Description("The anchors (userids, comma separated) whose lives the nightly harvest lists in that corp; empty for none.")]
        public string? Anchors { get; init; }

        public override ValidationResult Validate() =>
            (CorpId is null) != (Anchors is null) ? ValidationResult.Error("--corpid and --anchors go together.")
            : CorpId is not null && !WeComApps.IsValidCorpId(CorpId) ? ValidationResult.Error($"--corpid '{CorpId}' is not a WeCom corpid.")
            : ValidationResult.Success();
    }

    private static string Since(DateTimeOffset? at) =>
        at is { } time ? time.ToLocalTime().ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) : "";

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = await CliHost.StartAsync(cancellationToken);
        if (CliHost.ResolveApp(host, settings.App) is not { } app) return ExitCodes.Usage;
        if (!app.IsInstalled)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] WeCom app '{app.Name}' is an app of one corp ({app.CorpId}); its anchors are the setting WeCom:Apps:{app.Name}:AnchorUserIds.");
            return ExitCodes.Usage;
        }
        var installations = host.Services.GetRequiredService<InstallationStore>();
        if (settings.CorpId is { } corpId)
        {
            if (await installations.GetAsync(app, corpId, cancellationToken) is not { IsAuthorized: true })
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] corp {corpId} has not authorized WeCom app '{app.Name}'.");
                return ExitCodes.Failed;
            }
            var anchors = settings.Anchors!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            await installations.SetAnchorsAsync(app, corpId, anchors, cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"Corp {corpId}: the nightly harvest lists the lives of {anchors.Length} anchors.");
            return ExitCodes.Ok;
        }

        var table = new Table().AddColumns("corpid", "name", "state", "anchors");
        var all = await installations.ListAsync(app, cancellationToken);
        foreach (var i in all.OrderBy(i => i.CorpId, StringComparer.Ordinal))
        {
            var state = i.IsAuthorized
                ? $"[green]authorized[/] {Since(i.ChangedAt ?? i.AuthorizedAt)}"
                : $"[red]cancelled[/] {Since(i.CancelledAt)}";
            table.AddRow(Markup.Escape(i.CorpId), Markup.Escape(i.CorpName ?? ""), state, Markup.Escape(string.Join(",", i.AnchorUserIds)));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"{all.Count(i => i.IsAuthorized)} of {all.Count} corps have the app installed.");
        return ExitCodes.Ok;
    }
}
