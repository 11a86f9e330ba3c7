using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Harvest;

namespace WatchStat.Cli.Commands;

/// <summary>Settings of a command about one live: its livingid, checked by the same rules as the HTTP API.</summary>
public class LivingIdSettings : CommandSettings
{
    [CommandArgument(0, "<livingid>")]
    [Description("The live's id (livingid).")]
    public string LivingId { get; init; } = "";

    [CommandOption("--corpid <CORPID>")]
    [Description("The corp of the live; default: the app's corp (an app many corps install needs it named).")]
    public string? CorpId { get; init; }

    public override ValidationResult Validate() =>
        LivingIdRules.Check(LivingId) is { } wrong ? ValidationResult.Error(wrong)
        : CorpId is not null && !WeCom.WeComApps.IsValidCorpId(CorpId) ? ValidationResult.Error($"--corpid '{CorpId}' is not a WeCom corpid.")
        : ValidationResult.Success();
}

/// <summary>Settings of a command that calls WeCom for a live: its livingid and the WeCom app to call as.</summary>
public class LivingIdAndAppSettings : LivingIdSettings
{
    [CommandOption("--app <NAME>")]
    [Description("The WeCom app to call as (WeCom:Apps:{name}); default: the app named 'default'.")]
    public string? App { get; init; }
}
