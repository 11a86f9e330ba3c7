using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WatchStat.Reports;

/// <summary>The JSON of the lives overview (<c>GET /api/lives</c> with <c>Accept: application/json</c>), camelCase.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LivesOverviewResult))]
public sealed partial class OverviewJsonContext : JsonSerializerContext;

/// <summary>
/// The lives overview as a page: a filter form (dates, app, anchor), the trend of viewers and watch hours per day
/// (ECharts), and the lives of the range, each linking to its report. Same assets, encoding rules and offline
/// guarantees as <see cref="ReportPage"/>.
/// </summary>
public static class OverviewPage
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);

    /// <param name="reportQuery">The query each report link carries (the function key when it came as ?code=), with its leading '?' or empty.</param>
    public static async Task WriteAsync(TextWriter output, LivesOverviewResult overview, IReadOnlyList<string> apps, string reportQuery, CancellationToken cancellationToken)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(overview.TimeZone);
        string Local(DateTimeOffset at, string format) => TimeZoneInfo.ConvertTime(at, zone).ToString(format, CultureInfo.InvariantCulture);
        var html = new StringBuilder(32 * 1024);
        html.Append("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<link rel=\"icon\" href=\"data:,\"><title>Lives · WatchStat</title><style>").Append(ReportPage.Asset("report.css")).Append("</style></head>\n<body>\n");
        var (from, last) = (Local(overview.From, "yyyy-MM-dd"), Local(overview.To.AddTicks(-1), "yyyy-MM-dd"));
        html.Append("<header><h1>Lives 直播概览</h1><p class=\"meta\"><span id=\"range\">").Append(E(from)).Append(" – ").Append(E(last)).Append("</span><span>")
            .Append(E(overview.TimeZone)).Append("</span><span id=\"count\" data-value=\"").Append(overview.Lives.Count).Append("\">")
            .Append(overview.Lives.Count.ToString("N0", CultureInfo.InvariantCulture)).Append(" lives</span></p></header>\n");

        // The filters: a plain GET form, so that a filtered overview is a link to share. The function key rides along.
        html.Append("<form class=\"controls\" method=\"get\" id=\"filters\">")
            .Append("<label>from <input type=\"date\" name=\"from\" value=\"").Append(E(from)).Append("\"></label>")
            .Append("<label>to <input type=\"date\" name=\"to\" value=\"").Append(E(last)).Append("\"></label>")
            .Append("<select name=\"app\" aria-label=\"app\"><option value=\"\">every app</option>");
        foreach (var app in apps)
            html.Append("<option").Append(string.Equals(app, overview.App, StringComparison.OrdinalIgnoreCase) ? " selected" : "").Append('>').Append(E(app)).Append("</option>");
        html.Append("</select><input type=\"search\" name=\"anchor\" placeholder=\"anchor userid 主播\" value=\"").Append(E(overview.AnchorUserId ?? "")).Append("\">");
        foreach (var (name, value) in HiddenQuery(reportQuery))
            html.Append("<input type=\"hidden\" name=\"").Append(E(name)).Append("\" value=\"").Append(E(value)).Append("\">");
        html.Append("<button type=\"submit\">show 显示</button></form>\n");

        html.Append("<section><h2>Viewers and watch hours per day 每日观看</h2><div id=\"trend\" class=\"chart\"></div></section>\n");
        html.Append("<section><h2>Lives 直播</h2><div class=\"scroll\"><table id=\"lives\"><thead><tr><th>date 日期</th><th>theme 主题</th><th>anchor 主播</th>")
            .Append("<th class=\"num\">viewers</th><th class=\"num\">watch hours</th><th>harvest</th></tr></thead><tbody>");
        foreach (var live in overview.Lives)
        {
            var href = $"lives/{Uri.EscapeDataString(live.LivingId)}/report" + WithCorp(reportQuery, live.CorpId);
            html.Append("<tr data-livingid=\"").Append(E(live.LivingId)).Append("\"><td>").Append(E(Local(live.Date, "yyyy-MM-dd HH:mm"))).Append("</td><td><a href=\"")
                .Append(E(href)).Append("\">").Append(E(live.Theme is { Length: > 0 } theme ? theme : live.LivingId)).Append("</a></td><td>").Append(E(live.AnchorUserId ?? ""))
                .Append("</td><td class=\"num\">").Append(live.Viewers is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "")
                .Append("</td><td class=\"num\">").Append(live.WatchTimeSeconds is { } w ? (w / 3600.0).ToString("N1", CultureInfo.InvariantCulture) : "")
                .Append("</td><td><span class=\"state ").Append(E(live.State ?? "none")).Append("\">").Append(E(live.State ?? "not harvested")).Append("</span>");
            if (live.LastError is { } error) html.Append(" <span class=\"note error\">").Append(E(error)).Append("</span>");
            html.Append("</td></tr>");
        }
        html.Append("</tbody></table></div>");
        if (overview.Lives.Count == 0) html.Append("<p class=\"note\">No live in this range.</p>");
        html.Append("</section>\n<footer>WatchStat · the lives of the range from Livings and their harvest status; viewer rows are read by each live's report only</footer>\n");
        html.Append("<script id=\"data\" type=\"application/json\">")
            .Append(JsonSerializer.Serialize(overview.Days, OverviewJsonContext.Default.IReadOnlyListDaySummary))
            .Append("</script>\n<script>").Append(ReportPage.Asset("echarts.min.js")).Append("</script>\n<script>").Append(Trend).Append("</script>\n</body></html>\n");
        await output.WriteAsync(html, cancellationToken);
        await output.FlushAsync(cancellationToken);
    }

    /// <summary>The trend chart: viewers (bars) and watch hours (line) per day.</summary>
    private const string Trend = """
        (function () {
          "use strict";
          var days = JSON.parse(document.getElementById("data").textContent);
          var el = document.getElementById("trend");
          var chart = echarts.init(el, null, { renderer: "canvas", devicePixelRatio: Math.max(2, window.devicePixelRatio || 1) });
          chart.setOption({
            animation: false,
            tooltip: { trigger: "axis" },
            legend: { top: 0 },
            grid: { left: 48, right: 48, top: 32, bottom: 40 },
            xAxis: { type: "category", data: days.map(function (d) { return d.day.slice(5); }) },
            yAxis: [{ type: "value", name: "viewers", minInterval: 1 }, { type: "value", name: "hours" }],
            series: [
              { name: "viewers 观看人数", type: "bar", data: days.map(function (d) { return d.viewers; }), itemStyle: { color: "#2f6fb0" } },
              { name: "watch hours 观看小时", type: "line", yAxisIndex: 1, data: days.map(function (d) { return d.watchHours; }), itemStyle: { color: "#d9822b" } },
            ],
          });
          window.addEventListener("resize", function () { chart.resize(); });
          document.body.setAttribute("data-ready", "true");
        })();
        """;

    /// <summary>The query's parameters other than the form's own (the function key), for hidden fields.</summary>
    private static IEnumerable<(string, string)> HiddenQuery(string query)
    {
        foreach (var part in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = part.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(at < 0 ? part : part[..at]);
            if (name is "from" or "to" or "app" or "anchor") continue;
            yield return (name, Uri.UnescapeDataString(at < 0 ? "" : part[(at + 1)..]));
        }
    }

    private static string WithCorp(string query, string corpId) =>
        (query.Length == 0 ? "?" : query + "&") + "corpid=" + Uri.EscapeDataString(corpId);

    private static string E(string text) => Html.Encode(text);
}
