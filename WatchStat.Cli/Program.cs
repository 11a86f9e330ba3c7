using Microsoft.Extensions.Options;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.Cli;
using WatchStat.Cli.Commands;
using WatchStat.WeCom;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("watchstat");
    config.PropagateExceptions();
    config.AddCommand<HarvestCommand>("harvest")
        .WithDescription("Harvest a live into Table Storage in this process (same step and checkpoint as the Functions app); resumes an unfinished run.")
        .WithExample("harvest", "lv-demo-12000m8000x");
    config.AddCommand<RetryCommand>("retry")
        .WithDescription("Re-drive a failed run from its checkpoint through the queue (for the deployed app to pick up).")
        .WithExample("retry", "lv-demo-12000m8000x");
    config.AddCommand<DiscoverCommand>("discover")
        .WithDescription("Run the nightly harvest's discovery now: list the anchors' lives, record them, enqueue those that need harvesting.")
        .WithExample("discover", "--dry-run");
    config.AddCommand<WalkCommand>("walk")
        .WithDescription("Fetch every page of a live's watch detail from WeCom and show what came back, storing nothing.")
        .WithExample("walk", "lv-demo-120m80x");
});

try
{
    return await app.RunAsync(args);
}
catch (CommandAppException ex)
{
    // Unknown command, missing argument, bad option: usage errors.
    AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
    AnsiConsole.MarkupLine("Run [bold]watchstat --help[/] for usage.");
    return ExitCodes.Usage;
}
catch (Exception ex) when (ex is OptionsValidationException || ex is AggregateException { InnerExceptions: var all } && all.All(e => e is OptionsValidationException))
{
    var failures = ex is AggregateException aggregate ? aggregate.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures) : ((OptionsValidationException)ex).Failures;
    foreach (var failure in failures.Distinct()) AnsiConsole.MarkupLine($"[red]configuration error:[/] {Markup.Escape(failure)}");
    return ExitCodes.Usage;
}
catch (WeComException ex)
{
    AnsiConsole.MarkupLine($"[red]failed:[/] {Markup.Escape(ex.Message)}");
    return ExitCodes.Failed;
}
