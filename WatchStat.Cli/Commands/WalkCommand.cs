using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using WatchStat.WeCom;

namespace WatchStat.Cli.Commands;

/// <summary><c>watchstat walk &lt;livingid&gt;</c>: pages through get_watch_stat and prints what WeCom answered.</summary>
public sealed class WalkCommand : AsyncCommand<LivingIdAndAppSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, LivingIdAndAppSettings settings, CancellationToken cancellationToken)
    {
        using var host = await CliHost.StartAsync(cancellationToken);
        var client = host.Services.GetRequiredService<WeComClient>();
        if (CliHost.ResolveApp(host, settings.App) is not { } app) return ExitCodes.Usage;
        if (CliHost.ResolveCorp(app, settings.CorpId) is not { } corp) return ExitCodes.Usage;

        var members = new Dictionary<string, WatchStatMember>(StringComparer.Ordinal);
        var externals = new Dictionary<string, WatchStatExternalUser>(StringComparer.Ordinal);
        var pages = 0;
        var nextKey = "0";
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            var page = await client.GetWatchStatAsync(app, corp, settings.LivingId, nextKey, cancellationToken);
            pages++;
            foreach (var user in page.Users) members[user.UserId] = user;
            foreach (var user in page.ExternalUsers) externals[user.ExternalUserId] = user;
            var key = page.NextKey is null ? "(none)" : page.NextKey.Length > 14 ? page.NextKey[..13] + "…" : page.NextKey;
            AnsiConsole.MarkupLineInterpolated(
                $"page {pages,4}: {page.Users.Count,3} members, {page.ExternalUsers.Count,3} external, ending {page.Ending}, next_key {key}");
            if (page.IsLastPage) break;
            nextKey = page.NextKey ?? throw WeComException.Transport(WeComClient.GetWatchStatApi, "a page with ending 0 has no next_key.");
        }

        var elapsed = TimeProvider.System.GetElapsedTime(started);
        var table = new Table().AddColumns("", "members", "external");
        table.AddRow("viewers", members.Count.ToString("N0"), externals.Count.ToString("N0"));
        table.AddRow("watch time (h)", (members.Values.Sum(m => (long)m.WatchTime) / 3600.0).ToString("N1"), (externals.Values.Sum(m => (long)m.WatchTime) / 3600.0).ToString("N1"));
        table.AddRow("commented", members.Values.Count(m => m.IsComment == 1).ToString("N0"), externals.Values.Count(m => m.IsComment == 1).ToString("N0"));
        table.AddRow("spoke on the mic", members.Values.Count(m => m.IsMic == 1).ToString("N0"), externals.Values.Count(m => m.IsMic == 1).ToString("N0"));
        table.AddRow("came through an invitor", members.Values.Count(m => m.InvitorUserId is not null || m.InvitorExternalUserId is not null).ToString("N0"),
            externals.Values.Count(m => m.InvitorUserId is not null || m.InvitorExternalUserId is not null).ToString("N0"));
        AnsiConsole.Write(table);

        var sample = new Table().Title("a few external viewers").AddColumns("external_userid", "type", "name", "watch_time", "invitor");
        foreach (var x in externals.Values.Take(5))
            sample.AddRow(Markup.Escape(x.ExternalUserId), x.Type.ToString(), Markup.Escape(x.Name ?? ""), x.WatchTime.ToString(), Markup.Escape(x.InvitorUserId ?? x.InvitorExternalUserId ?? ""));
        AnsiConsole.Write(sample);
        AnsiConsole.MarkupLineInterpolated($"{pages} pages, {members.Count + externals.Count:N0} viewers in {elapsed.TotalSeconds:0.00} s; nothing was stored.");
        return ExitCodes.Ok;
    }
}
