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

    public override ValidationResult Validate() =>
        LivingIdRules.Check(LivingId) is { } wrong ? ValidationResult.Error(wrong) : ValidationResult.Success();
}
