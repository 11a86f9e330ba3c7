using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CsvHelper;
using Microsoft.Playwright;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Reports;

/// <summary>
/// Names that viewers choose, built to attack the operator's spreadsheet and browser, through the real pipeline (the
/// simulator hands them out as WeCom would, the app stores them in Azurite): the CSV export escapes every text field
/// a spreadsheet would run as a formula, <c>--raw</c> / <c>raw=true</c> and the JSON export give them back exactly,
/// and the report page and the lives overview show them as text, their inline JSON included.
/// </summary>
public sealed class HostileTextTests : PipelineTest
{
    /// <summary>External names, in order: the first external viewers of the live get them.</summary>
    private static readonly string[] Names =
    [
        "=HYPERLINK(\"http://x\",\"click\")",
        "+1+1",
        "-2",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
        "=cmd|' /C calc'!A0",
        "</script><script>window.pwned=1</script>",
        "<img src=x onerror=\"window.pwned=2\">",
        "\"quoted\" & 'apos' <b>bold</b>",
        "[red]x[/]",
        "[",
        "a=1+1",
        "王伟",
    ];

    /// <summary>An id that starts like a formula, on a row written straight to the table (WeCom's ids never do).</summary>
    private const string FormulaId = "=wm-formula";

    private static readonly string[] TextColumns =
        ["LivingId", "CorpId", "ViewerType", "UserId", "ExternalUserId", "Name", "InvitorUserId", "InvitorExternalUserId", "App", "RunId"];

    private const string Theme = "</title><script>window.pwned=3</script> \"&' [red]主题[/]";

    /// <summary>What the CSV must hold for a text field: OWASP's characters get a leading quote.</summary>
    private static string Escaped(string text) => text.Length > 0 && "=+-@\t\r".Contains(text[0], StringComparison.Ordinal) ? "'" + text : text;

    private Dictionary<string, string> Environment => new()
    {
        ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
        ["WeCom__CorpId"] = Simulator.State.Options.Apps[0].CorpId,
        ["WeCom__Secret"] = Simulator.State.Options.Apps[0].Secret,
        ["AzureWebJobsStorage"] = Azurite.ConnectionString,
    };

    private async Task<string> HarvestHostileLiveAsync()
    {
        var livingId = NewLiveId("hostile");
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 3, Externals = Names.Length, InvitorShare = 0, ExternalNames = Names });
        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        var status = await StatusAsync(livingId);
        Assert.Equal(HarvestStates.Completed, status.State);
        await Store.WatchStats.UpsertEntityAsync(new TableEntity(Lives.Sim(livingId).PartitionKey, ViewerRows.ExternalRowKey(FormulaId))
        {
            ["LivingId"] = livingId, ["CorpId"] = SimulatorOptions.DefaultCorpId, ["ViewerType"] = ViewerRows.External,
            ["ExternalUserId"] = FormulaId, ["ExternalType"] = 1, ["Name"] = "-5", ["WatchTimeSeconds"] = 61, ["IsComment"] = false, ["IsMic"] = false,
            ["InvitorExternalUserId"] = "@wm-invitor", ["App"] = WeComApp.DefaultName, ["RunId"] = status.RunId, ["HarvestedAt"] = status.StartedAt,
        });
        await Host.Get<LivingStore>().SaveInfoAsync(Lives.Sim(livingId), WeComApp.DefaultName, new LivingInfo
        {
            Theme = Theme, AnchorUserId = "<i>anchor</i>", StatusValue = 2, LivingStart = DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeSeconds(), LivingDuration = 3600,
        }, DateTimeOffset.UtcNow, default);
        // The names arrived as WeCom gave them.
        var stored = (await RowsAsync(livingId)).Select(r => r.GetString("Name")).OfType<string>().ToHashSet(StringComparer.Ordinal);
        Assert.Superset(Names.ToHashSet(StringComparer.Ordinal), stored);
        return livingId;
    }

    [Fact]
    public async Task The_CSV_export_escapes_every_text_field_a_spreadsheet_would_run_and_raw_and_JSON_give_them_back_exactly()
    {
        var livingId = await HarvestHostileLiveAsync();
        var rows = await RowsAsync(livingId);

        var escaped = await CliRunner.RunAsync(Environment, "export", livingId);
        var raw = await CliRunner.RunAsync(Environment, "export", livingId, "--raw");
        var json = await CliRunner.RunAsync(Environment, "export", livingId, "--format", "json");
        Assert.True(escaped.ExitCode == 0, escaped.Error);
        Assert.True(raw.ExitCode == 0, raw.Error);
        Assert.True(json.ExitCode == 0, json.Error);

        var escapedRecords = ReadCsv(escaped.OutputBytes);
        var rawRecords = ReadCsv(raw.OutputBytes);
        Assert.Equal(rows.Count, escapedRecords.Count);
        Assert.Equal(rows.Count, rawRecords.Count);
        foreach (var row in rows)
        {
            var id = row.GetString("UserId") ?? row.GetString("ExternalUserId");
            var e = escapedRecords.Single(x => (x["UserId"] is { Length: > 0 } u ? u : x["ExternalUserId"]) == Escaped(id!));
            var r = rawRecords.Single(x => (x["UserId"] is { Length: > 0 } u ? u : x["ExternalUserId"]) == id);
            foreach (var column in TextColumns)
            {
                Assert.Equal(Escaped(row.GetString(column) ?? ""), e[column]);
                Assert.Equal(row.GetString(column) ?? "", r[column]);
            }
            // A number is a number, never escaped (the escaping is of text only).
            Assert.Equal(row.GetInt32("WatchTimeSeconds")!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), e["WatchTimeSeconds"]);
        }
        // Every attack is in the export, each escaped; the row written straight to the table has its ids escaped too.
        foreach (var name in Names) Assert.Contains(escapedRecords, r => r["Name"] == Escaped(name));
        Assert.Contains(escapedRecords, r => r["ExternalUserId"] == "'" + FormulaId && r["InvitorExternalUserId"] == "'@wm-invitor" && r["Name"] == "'-5");
        // The field that needs quotes as well: the quote goes inside them, and the field's own quotes are doubled.
        var csvText = Encoding.UTF8.GetString(escaped.OutputBytes);
        Assert.Contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\",", csvText, StringComparison.Ordinal);
        Assert.DoesNotContain(",=HYPERLINK(", csvText, StringComparison.Ordinal);
        Assert.DoesNotContain(",+1+1,", csvText, StringComparison.Ordinal);
        Assert.Contains(",=HYPERLINK(", Encoding.UTF8.GetString(raw.OutputBytes).Replace("\"", "", StringComparison.Ordinal), StringComparison.Ordinal);

        // JSON: exact, whatever a spreadsheet would make of it.
        var objects = JsonDocument.Parse(json.Output).RootElement.EnumerateArray().ToList();
        foreach (var name in Names) Assert.Contains(objects, o => o.GetProperty("name").GetString() == name);
        Assert.Contains(objects, o => o.GetProperty("externalUserId").GetString() == FormulaId && o.GetProperty("name").GetString() == "-5");
    }

    [Fact]
    public async Task The_export_route_escapes_by_default_gives_exact_text_with_raw_true_and_refuses_another_raw()
    {
        var livingId = await HarvestHostileLiveAsync();
        await using var endpoint = await FunctionEndpoint.StartAsync(Host, Queue);

        var escaped = ReadCsv(await endpoint.Client.GetByteArrayAsync($"api/lives/{livingId}/export?format=csv"));
        var raw = ReadCsv(await endpoint.Client.GetByteArrayAsync($"api/lives/{livingId}/export?format=csv&raw=true"));
        using var json = JsonDocument.Parse(await endpoint.Client.GetByteArrayAsync($"api/lives/{livingId}/export?format=json&raw=false"));
        using var bad = await endpoint.Client.GetAsync($"api/lives/{livingId}/export?format=csv&raw=yes");

        foreach (var name in Names)
        {
            Assert.Contains(escaped, r => r["Name"] == Escaped(name));
            Assert.Contains(raw, r => r["Name"] == name);
            Assert.Contains(json.RootElement.EnumerateArray(), o => o.GetProperty("name").GetString() == name);
        }
        Assert.DoesNotContain(escaped, r => r["Name"].StartsWith('='));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.Contains("raw must be true or false", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_report_page_and_the_overview_encode_the_names_the_theme_and_the_anchor_their_inline_JSON_included()
    {
        var livingId = await HarvestHostileLiveAsync();
        await using var endpoint = await FunctionEndpoint.StartAsync(Host, Queue);

        var page = await endpoint.Client.GetStringAsync($"api/lives/{livingId}/report");

        // The theme, in the title and the heading, is text: encoded, never markup.
        Assert.Contains("&lt;/title&gt;&lt;script&gt;window.pwned=3&lt;/script&gt; &quot;&amp;&#x27; [red]主题[/]", page, StringComparison.Ordinal);
        Assert.Contains("&lt;i&gt;anchor&lt;/i&gt;", page, StringComparison.Ordinal);
        // The inline data: one script element, whose JSON parses whole and holds every name exactly.
        var data = DataScript(page);
        Assert.DoesNotContain("<", data, StringComparison.Ordinal);
        Assert.DoesNotContain(">", data, StringComparison.Ordinal);
        Assert.DoesNotContain("&", data, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(data);
        var names = document.RootElement.GetProperty("viewers").EnumerateArray().Select(v => v[2].GetString()).ToList();
        foreach (var name in Names) Assert.Contains(name, names);
        Assert.Equal(Theme, document.RootElement.GetProperty("live").GetProperty("theme").GetString());

        // The overview: the theme (the live's link) and the anchor, also in the filter's echo of ?anchor=.
        var overview = await endpoint.Client.GetStringAsync("api/lives?anchor=" + Uri.EscapeDataString("\"><script>window.pwned=4</script>"));
        Assert.Contains("value=\"&quot;&gt;&lt;script&gt;window.pwned=4&lt;/script&gt;\"", overview, StringComparison.Ordinal);
        var all = await endpoint.Client.GetStringAsync("api/lives");
        Assert.Contains("&lt;/title&gt;&lt;script&gt;window.pwned=3&lt;/script&gt;", all, StringComparison.Ordinal);
        Assert.Contains("&lt;i&gt;anchor&lt;/i&gt;", all, StringComparison.Ordinal);
        Assert.Empty(ActiveMarkup(overview));
        Assert.Empty(ActiveMarkup(all));
        Assert.Empty(ActiveMarkup(page));
    }

    [Fact]
    public async Task A_name_or_theme_of_40000_characters_is_stored_cut_and_the_harvest_completes()
    {
        var livingId = NewLiveId("long-name");
        var longName = "名" + new string('长', 40_000); // 120 KB as UTF-8: over a table property's limit, and its batch's
        Simulator.State.AddLive(livingId, new LiveSpec { Members = 2, Externals = 2, InvitorShare = 0, ExternalNames = [longName, "王伟"] });

        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();
        await Host.Get<LivingStore>().SaveInfoAsync(Lives.Sim(livingId), WeComApp.DefaultName, new LivingInfo { Theme = longName, StatusValue = 2 }, DateTimeOffset.UtcNow, default);

        Assert.Equal(HarvestStates.Completed, (await StatusAsync(livingId)).State);
        var names = (await RowsAsync(livingId)).Select(r => r.GetString("Name")).OfType<string>().ToList();
        Assert.Contains("王伟", names);
        var cut = Assert.Single(names, n => n.StartsWith("名长", StringComparison.Ordinal));
        Assert.InRange(cut.Length, 900, BoundedText.MaxNameLength);
        Assert.EndsWith("… (40,001 characters, cut)", cut, StringComparison.Ordinal);
        var theme = (await Host.Get<LivingStore>().GetAsync(Lives.Sim(livingId), default))?.GetString("Theme");
        Assert.InRange(theme!.Length, 900, BoundedText.MaxNameLength);
    }

    [BrowserFact]
    public async Task In_a_browser_the_names_are_text_and_nothing_they_carry_runs()
    {
        var livingId = await HarvestHostileLiveAsync();
        await using var endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();

        await page.GotoAsync(new Uri(endpoint.BaseUrl, $"api/lives/{livingId}/report").ToString());
        await page.WaitForSelectorAsync("body[data-ready=true]");

        Assert.Equal(Theme, await page.InnerTextAsync("#title"));
        Assert.Equal(Theme + " · WatchStat", await page.TitleAsync());
        var cells = await page.Locator("#viewers tbody tr td:nth-child(3)").AllTextContentsAsync();
        foreach (var name in Names.Where(n => !n.StartsWith('\t') && !n.StartsWith('\r'))) Assert.Contains(name, cells);
        Assert.Equal(0, await page.Locator("#viewers img, #viewers b, header script").CountAsync());
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.pwned"));
    }

    /// <summary>The attacks' markers where they would run: in an element of the page's own markup rather than text.</summary>
    private static List<string> ActiveMarkup(string html) => [.. Markers.Where(m => html.Contains(m, StringComparison.Ordinal))];

    private static readonly string[] Markers = ["<script>window.pwned", "<img src=x", "<b>bold", "<i>anchor"];

    private static string DataScript(string page)
    {
        const string open = "<script id=\"data\" type=\"application/json\">";
        var start = page.IndexOf(open, StringComparison.Ordinal) + open.Length;
        Assert.True(start >= open.Length, "the page has no data script");
        return page[start..page.IndexOf("</script>", start, StringComparison.Ordinal)];
    }

    private static List<Dictionary<string, string>> ReadCsv(byte[] bytes)
    {
        using var reader = CsvReader.Create(bytes, new CsvReaderOptions { Separator = ',', HasHeader = true, TrimWhitespace = false });
        var records = new List<Dictionary<string, string>>();
        var header = new List<string>();
        while (reader.Read())
        {
            if (header.Count == 0) header.AddRange(reader.Headers);
            records.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(i => header[i], reader.GetString, StringComparer.Ordinal));
        }
        return records;
    }
}
