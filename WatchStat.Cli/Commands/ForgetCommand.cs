using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Privacy;
using WatchStat.Storage;

namespace WatchStat.Cli.Commands;

/// <summary>
/// <c>watchstat forget --userid X | --external-userid Y [--app NAME | --corpid ID]</c>: removes one person from every
/// harvested live of their corp (<see cref="Forgetting"/>) and says what it changed.
/// </summary>
public sealed class ForgetCommand : AsyncCommand<ForgetCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--userid <USERID>")]
        [Description("The member (userid) to forget.")]
        public string? UserId { get; init; }

        [CommandOption("--external-userid <EXTERNAL_USERID>")]
        [Description("The external viewer (external_userid) to forget.")]
        public string? ExternalUserId { get; init; }

        [CommandOption("--app <NAME>")]
        [Description("The WeCom app whose corp the person belongs to (WeCom:Apps:{name}); default: the app named 'default'.")]
        public string? App { get; init; }

        [CommandOption("--corpid <CORPID>")]
        [Description("The corp the person belongs to, instead of --app (an app many corps install needs it).")]
        public string? CorpId { get; init; }

        public override ValidationResult Validate() =>
            (UserId is null) == (ExternalUserId is null) ? ValidationResult.Error("give exactly one of --userid and --external-userid.")
            : (UserId ?? ExternalUserId) is var id && string.IsNullOrEmpty(id)
                ? ValidationResult.Error($"an empty {(UserId is null ? "--external-userid" : "--userid")} names nobody.")
            : App is not null && CorpId is not null ? ValidationResult.Error("--app and --corpid both name the corp: give one (--corpid alone for a corp of an app many corps install).")
            : CorpId is not null && !WeCom.WeComApps.IsValidCorpId(CorpId) ? ValidationResult.Error($"--corpid '{CorpId}' is not a WeCom corpid.")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (CliHost.ResolveCorpId(settings.CorpId, settings.App) is not { } corpId) return ExitCodes.Usage;
        var person = new Person(corpId, settings.UserId is not null, settings.UserId ?? settings.ExternalUserId!);
        var kind = person.IsMember ? "member" : "external viewer";

        var result = await new Forgetting(new HarvestStore(CliHost.OpenStorage())).ForgetAsync(person, cancellationToken);

        AnsiConsole.MarkupLineInterpolated($"Removed {result.ViewerRows} viewer rows of {kind} '{person.Id}' in corp {corpId} (searched {result.LivesSearched} harvested lives).");
        AnsiConsole.MarkupLineInterpolated($"Also changed: {result.PageRecords} page records rewritten without them, {result.InviterRows} other viewers' rows no longer name them as inviter, {result.StatusRows} lives' viewer counts and watch time recounted.");
        if (result.RunningLives > 0)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]{result.RunningLives} of those lives are being harvested now:[/] the run counts them again at its end and may write them back; run forget again once it has completed.");
        }
        AnsiConsole.MarkupLine("A later harvest of a live that WeCom still lists them in (the nightly harvest refreshes lives within Harvest:LookbackDays) writes them back: run forget again after it.");
        return ExitCodes.Ok;
    }
}
