using System.Text.Json;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Cli;

/// <summary>
/// Spectre.Console reads <c>[</c> and <c>]</c> as markup: a livingid, a name or an error that carries them, printed
/// as markup, throws ("unescaped ']'", "unknown style") or changes colour. Every command prints user data as text:
/// the commands about a live, run as processes against a live whose id and names carry markup, end as they would for
/// any live and show the id exactly.
/// </summary>
public sealed class CliMarkupTests : PipelineTest
{
    private Dictionary<string, string> Environment => new()
    {
        ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
        ["WeCom__CorpId"] = Simulator.State.Options.Apps[0].CorpId,
        ["WeCom__Secret"] = Simulator.State.Options.Apps[0].Secret,
        ["AzureWebJobsStorage"] = Azurite.ConnectionString,
    };

    [Theory]
    [InlineData("[red]x")] // a style that would colour the rest
    [InlineData("[")] // an unclosed tag: Spectre throws
    [InlineData("]x[[bold]")]
    public async Task Commands_about_a_live_whose_id_and_names_carry_markup_print_them_as_text(string marker)
    {
        var livingId = $"{marker}-{Guid.NewGuid().ToString("N")[..8]}";
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 20, Externals = 3, ExternalNames = ["[red]x[/]", "[", "]"] });
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        Assert.Equal(HarvestStates.Completed, (await StatusAsync(livingId)).State);

        var status = await CliRunner.RunAsync(Environment, "status", livingId);
        var json = await CliRunner.RunAsync(Environment, "status", livingId, "--json");
        var report = await CliRunner.RunAsync(Environment, "report", livingId);
        var export = await CliRunner.RunAsync(Environment, "export", livingId, "--format", "json");
        var enqueue = await CliRunner.RunAsync(Environment, "enqueue", livingId);
        var retry = await CliRunner.RunAsync(Environment, "retry", livingId);
        var harvest = await CliRunner.RunAsync(Environment, "harvest", livingId, "--force");
        var unknown = await CliRunner.RunAsync(Environment, "status", livingId + "-never");

        foreach (var (name, run, exit) in new[] { ("status", status, 0), ("status --json", json, 0), ("report", report, 0), ("export", export, 0), ("enqueue", enqueue, 0), ("harvest", harvest, 0) })
        {
            Assert.True(run.ExitCode == exit, $"{name}: exit {run.ExitCode}\n{run.Output}\n{run.Error}");
            Assert.DoesNotContain("Unhandled", run.Output + run.Error, StringComparison.Ordinal);
        }
        Assert.Contains(livingId, Flat(status.Output), StringComparison.Ordinal);
        Assert.Equal(livingId, JsonDocument.Parse(json.Output).RootElement.GetProperty("livingId").GetString());
        Assert.Contains($"live {livingId}", report.Output, StringComparison.Ordinal);
        Assert.Contains(Flat($"of live {livingId}"), Flat(export.Error), StringComparison.Ordinal);
        Assert.Contains(JsonDocument.Parse(export.Output).RootElement.EnumerateArray(), v => v.GetProperty("name").GetString() == "[red]x[/]");
        Assert.Contains(livingId, Flat(enqueue.Output), StringComparison.Ordinal);
        Assert.Contains(livingId, Flat(harvest.Output), StringComparison.Ordinal);
        // A problem that names the live: printed as text, with the exit code of the problem, not of a crash.
        Assert.True(retry.ExitCode == 1, retry.Output + retry.Error);
        Assert.Contains(Flat("only a failed run can be retried"), Flat(retry.Output + retry.Error), StringComparison.Ordinal);
        Assert.True(unknown.ExitCode == 1, unknown.Output + unknown.Error);
        Assert.Contains($"{livingId}-never", Flat(unknown.Output + unknown.Error), StringComparison.Ordinal);
    }

    /// <summary>The text without whitespace: Spectre wraps long lines at the console's width, at a space.</summary>
    private static string Flat(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));
}
