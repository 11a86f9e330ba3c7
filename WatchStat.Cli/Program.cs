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
    config.SetInterceptor(new UnknownArguments());
    config.AddCommand<HarvestCommand>("harvest")
        .WithDescription("Harvest a live into Table Storage in this process (same step and checkpoint as the Functions app); resumes an unfinished run.")
        .WithExample("harvest", "lv-demo-12000m8000x");
    config.AddCommand<RetryCommand>("retry")
        .WithDescription("Re-drive a failed run from its checkpoint through the queue (for the deployed app to pick up).")
        .WithExample("retry", "lv-demo-12000m8000x");
    config.AddCommand<DiscoverCommand>("discover")
        .WithDescription("Run the nightly harvest's discovery now: list the anchors' lives, record them, enqueue those that need harvesting.")
        .WithExample("discover", "--dry-run");
    config.AddCommand<StatusCommand>("status")
        .WithDescription("Show a live's harvest status (run, state, pages, viewers written, errors); --json as the HTTP API answers it.")
        .WithExample("status", "lv-demo-12000m8000x")
        .WithExample("status", "lv-demo-12000m8000x", "--json");
    config.AddCommand<EnqueueCommand>("enqueue")
        .WithDescription("Queue a harvest as POST /api/harvests does, for the deployed app to pick up (an active run is returned, not doubled).")
        .WithExample("enqueue", "lv-demo-12000m8000x", "--app", "sales");
    config.AddCommand<ExportCommand>("export")
        .WithDescription("Write every viewer row of a live as CSV (UTF-8 with BOM, the default) or JSON, to stdout or --out FILE, streamed.")
        .WithExample("export", "lv-demo-12000m8000x", "--format", "csv", "--out", "viewers.csv")
        .WithExample("export", "lv-demo-12000m8000x", "--format", "json");
    config.AddCommand<ReportCommand>("report")
        .WithDescription("Viewers, watch time (total, mean, median, histogram), commenters, mic speakers and top inviters of a live; --json for machines.")
        .WithExample("report", "lv-demo-12000m8000x")
        .WithExample("report", "lv-demo-12000m8000x", "--json");
    config.AddCommand<MigrateCommand>("migrate")
        .WithDescription("Move rows written before corp-scoped keys to today's layout ({corpid}|{livingid}); run once after upgrading, with the app stopped.")
        .WithExample("migrate", "--dry-run");
    config.AddCommand<CorpsCommand>("corps")
        .WithDescription("List the corps that installed a suite app; with --corpid and --anchors, set the anchors the nightly harvest walks in one.")
        .WithExample("corps", "--app", "provider")
        .WithExample("corps", "--app", "provider", "--corpid", "wwa1b2c3", "--anchors", "zhangsan,lisi");
    config.AddCommand<ForgetCommand>("forget")
        .WithDescription("Remove one person (a member's userid or an external_userid) from every harvested live of their corp; prints what it changed.")
        .WithExample("forget", "--userid", "zhangsan")
        .WithExample("forget", "--external-userid", "wmAbCdEf", "--app", "sales");
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
catch (UsageException ex)
{
    // On stderr: a command's stdout may be data (export, --json).
    CliHost.Stderr.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
    CliHost.Stderr.MarkupLineInterpolated($"Run [bold]watchstat {ex.Command} --help[/] for usage.");
    return ExitCodes.Usage;
}
catch (Exception ex) when (ex is OptionsValidationException || ex is AggregateException { InnerExceptions: var all } && all.All(e => e is OptionsValidationException))
{
    var failures = ex is AggregateException aggregate ? aggregate.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures) : ((OptionsValidationException)ex).Failures;
    foreach (var failure in failures.Distinct()) AnsiConsole.MarkupLine($"[red]configuration error:[/] {Markup.Escape(failure)}");
    return ExitCodes.Usage;
}
catch (Exception ex) when (CliHost.DescribeStorageFailure(ex) is { } failure)
{
    // On stderr: a command's stdout may be data (export, --json).
    CliHost.Stderr.MarkupLineInterpolated($"[red]error:[/] {failure}");
    return ExitCodes.Failed;
}
catch (WeComException ex)
{
    AnsiConsole.MarkupLine($"[red]failed:[/] {Markup.Escape(ex.Message)}");
    return ExitCodes.Failed;
}
