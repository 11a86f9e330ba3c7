using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WatchStat.Reports;

/// <summary>What a live's report page shows besides its figures: the live's facts (from Livings) and its harvest's state.</summary>
/// <param name="State">The harvest's state (queued, running, completed, failed); null when the live was never harvested.</param>
public sealed record LiveFacts(
    string LivingId, string CorpId, string App, string? Theme, string? AnchorUserId, DateTimeOffset? Start, int? DurationSeconds,
    string? State, string? LastError, DateTimeOffset? HarvestedAt);

/// <summary>The JSON of the report pages: the figures as <c>watchstat report --json</c> has them (camelCase).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LiveReportResult))]
[JsonSerializable(typeof(LiveFacts))]
public sealed partial class ReportJsonContext : JsonSerializerContext;

/// <summary>
/// A live's report as one self-contained HTML page (<c>GET /api/lives/{livingid}/report</c>, <c>watchstat report
/// --html</c>): the headline figures, the watch-time histogram, members and external viewers, the top inviters and every
/// viewer, with its script, style and ECharts inlined, so it works offline and from a file. Text that comes from WeCom or
/// the viewers (themes, names, ids) is HTML-encoded where the server writes it and set as text (never markup) where the
/// script does; the page's data is JSON with every HTML-significant character escaped.
/// </summary>
public static class ReportPage
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);

    /// <summary>Writes the page. <paramref name="csvHref"/>: where the page's "Download CSV" link goes (the export of the same rows); null for none.</summary>
    public static async Task WriteAsync(
        TextWriter output, LiveFacts live, LiveReportResult report, IReadOnlyList<ReportViewer> viewers, string? csvHref, CancellationToken cancellationToken)
    {
        var html = new StringBuilder(64 * 1024);
        var title = live.Theme is { Length: > 0 } theme ? theme : live.LivingId;
        html.Append("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">")
            .Append("<title>").Append(E(title)).Append(" · WatchStat</title><style>").Append(Asset("report.css")).Append("</style></head>\n<body>\n");

        html.Append("<header><h1 id=\"title\">").Append(E(title)).Append("</h1><p class=\"meta\">");
        html.Append("<span>live 直播 <code id=\"livingid\">").Append(E(live.LivingId)).Append("</code></span>");
        if (live.AnchorUserId is { } anchor) html.Append("<span>anchor 主播 <b id=\"anchor\">").Append(E(anchor)).Append("</b></span>");
        if (live.Start is { } start) html.Append("<span id=\"start\">").Append(E(start.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture))).Append("</span>");
        html.Append("<span id=\"duration\">").Append(report.DurationSeconds is { } d ? E(Duration(d)) : "duration unknown").Append("</span>");
        html.Append("<span class=\"state ").Append(E(live.State ?? "none")).Append("\" id=\"state\">").Append(E(live.State ?? "not harvested")).Append("</span>");
        html.Append("</p>");
        if (live.State is not null && live.State != "completed")
        {
            html.Append("<p class=\"note").Append(live.State == "failed" ? " error" : "").Append("\">The harvest is ").Append(E(live.State))
                .Append(": the figures are of the rows written so far.").Append(live.LastError is { } error ? " " + E(error) : "").Append("</p>");
        }
        html.Append("</header>\n");

        var all = report.All;
        html.Append("<section class=\"cards\">");
        Card(html, "viewers 观看人数", "all.viewers", all.Viewers, N(all.Viewers), $"{N(report.Members.Viewers)} members · {N(report.Externals.Viewers)} external");
        Card(html, "watch time 观看时长", "all.watchTimeSeconds", all.WatchTimeSeconds, $"{all.WatchTimeSeconds / 3600.0:N1} h", $"mean {all.MeanWatchTimeSeconds / 60:N1} min");
        Card(html, "median 中位数", "all.medianWatchTimeSeconds", all.MedianWatchTimeSeconds, $"{all.MedianWatchTimeSeconds / 60:N1} min", "watch time per viewer");
        if (all.WatchedHalf is { } half)
            Card(html, "watched ≥ half 看完一半", "all.watchedHalf", half, N(half), $"{all.WatchedHalfShare:P1} of viewers");
        Card(html, "commented 评论", "all.commenters", all.Commenters, N(all.Commenters), null);
        Card(html, "spoke 连麦", "all.micSpeakers", all.MicSpeakers, N(all.MicSpeakers), null);
        html.Append("</section>\n");

        html.Append("<section><h2>Watch time 观看时长分布</h2><div id=\"histogram\" class=\"chart\" role=\"img\" aria-label=\"viewers by ")
            .Append(report.Histogram.Basis == "duration" ? "share of the live watched" : "watch time").Append("\"></div>")
            .Append("<div class=\"scroll\"><table id=\"buckets\"><thead><tr><th>")
            .Append(report.Histogram.Basis == "duration" ? "share of the live watched" : "watch time").Append("</th><th class=\"num\">viewers</th></tr></thead><tbody>");
        foreach (var bucket in report.Histogram.Buckets)
            html.Append("<tr><td>").Append(E(bucket.Label)).Append("</td><td class=\"num\" data-value=\"").Append(bucket.Viewers).Append("\">").Append(N(bucket.Viewers)).Append("</td></tr>");
        html.Append("</tbody></table></div></section>\n");

        html.Append("<section class=\"two\"><div><h2>Members and external 成员与外部</h2><div id=\"kinds\" class=\"chart\"></div></div>")
            .Append("<div><h2>External: WeChat and WeCom 外部用户</h2><div id=\"externals\" class=\"chart\"></div>")
            .Append("<p class=\"note\" id=\"external-kinds\" data-wechat=\"").Append(report.ExternalKinds.WeChat).Append("\" data-wecom=\"").Append(report.ExternalKinds.WeCom)
            .Append("\">").Append(N(report.ExternalKinds.WeChat)).Append(" WeChat · ").Append(N(report.ExternalKinds.WeCom)).Append(" WeCom")
            .Append(report.ExternalKinds.Unknown > 0 ? $" · {N(report.ExternalKinds.Unknown)} not given" : "").Append("</p></div></section>\n");

        html.Append("<section><h2>Top inviters 邀请排行</h2>");
        if (report.Inviters is { } inviters)
        {
            html.Append("<p class=\"note\">").Append(N(inviters.ViewersWithInvitor)).Append(" viewers came through ").Append(N(inviters.Inviters)).Append(" inviters.</p>")
                .Append("<div class=\"scroll\"><table id=\"inviters\"><thead><tr><th class=\"num\">#</th><th>inviter 邀请人</th><th>kind</th><th class=\"num\">viewers brought</th><th class=\"num\">their watch time</th></tr></thead><tbody>");
            foreach (var inviter in inviters.Top)
            {
                html.Append("<tr><td class=\"num\">").Append(inviter.Rank).Append("</td><td>")
                    .Append(inviter.Name is { } name ? $"{E(name)} <span class=\"note\">{E(inviter.Id)}</span>" : E(inviter.Id))
                    .Append("</td><td>").Append(inviter.Kind == LiveReport.MemberKind ? "member 成员" : "external 外部")
                    .Append("</td><td class=\"num\" data-value=\"").Append(inviter.Viewers).Append("\">").Append(N(inviter.Viewers))
                    .Append("</td><td class=\"num\">").Append((inviter.WatchTimeSeconds / 3600.0).ToString("N1", CultureInfo.InvariantCulture)).Append(" h</td></tr>");
            }
            html.Append("</tbody></table></div>");
        }
        else
        {
            html.Append("<p class=\"note\">No viewer row names an inviter.</p>");
        }
        html.Append("</section>\n");

        html.Append("<section><h2>Viewers 观众</h2><div class=\"controls\">")
            .Append("<input type=\"search\" id=\"filter\" placeholder=\"filter by id, name or inviter 筛选\" aria-label=\"filter\">")
            .Append("<select id=\"kind\" aria-label=\"kind\"><option value=\"\">all 全部</option><option value=\"m\">members 成员</option><option value=\"x\">external 外部</option></select>");
        if (csvHref is not null) html.Append("<a id=\"csv\" href=\"").Append(E(csvHref)).Append("\" download>Download CSV 下载</a>");
        html.Append("</div><div class=\"scroll\"><table id=\"viewers\"><thead><tr><th data-key=\"0\">kind</th><th data-key=\"1\">id</th><th data-key=\"2\">name 名称</th>")
            .Append("<th data-key=\"4\" class=\"num\" aria-sort=\"descending\">watch (min) 时长</th><th data-key=\"5\">commented</th><th data-key=\"6\">mic</th><th data-key=\"7\">invited by 邀请人</th></tr></thead><tbody></tbody></table></div>")
            .Append("<div class=\"pager\"><button id=\"prev\" type=\"button\">‹ prev</button><span id=\"page-info\"></span><button id=\"next\" type=\"button\">next ›</button></div></section>\n");

        html.Append("<footer>WatchStat · corp ").Append(E(live.CorpId)).Append(" · app ").Append(E(live.App));
        if (live.HarvestedAt is { } at) html.Append(" · harvested ").Append(E(at.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)));
        html.Append("</footer>\n<script id=\"data\" type=\"application/json\">");
        await output.WriteAsync(html, cancellationToken);
        html.Clear();

        // The data: JSON with the default encoder, which escapes <, >, &, ' and every non-ASCII character, so nothing in
        // it can end the script element or be read as markup.
        await output.WriteAsync(Data(live, report, viewers).AsMemory(), cancellationToken);
        html.Append("</script>\n<script>").Append(Asset("echarts.min.js")).Append("</script>\n<script>").Append(Asset("report.js")).Append("</script>\n</body></html>\n");
        await output.WriteAsync(html, cancellationToken);
        await output.FlushAsync(cancellationToken);
    }

    private static string Data(LiveFacts live, LiveReportResult report, IReadOnlyList<ReportViewer> viewers)
    {
        using var buffer = new MemoryStream(viewers.Count * 64 + 4096);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.Default }))
        {
            json.WriteStartObject();
            json.WritePropertyName("live");
            JsonSerializer.Serialize(json, live, ReportJsonContext.Default.LiveFacts);
            json.WritePropertyName("report");
            JsonSerializer.Serialize(json, report, ReportJsonContext.Default.LiveReportResult);
            json.WriteStartArray("viewers");
            foreach (var v in viewers)
            {
                json.WriteStartArray();
                json.WriteStringValue(v.IsMember ? "m" : "x");
                json.WriteStringValue(v.Id);
                if (v.Name is null) json.WriteNullValue(); else json.WriteStringValue(v.Name);
                if (v.ExternalType is { } type) json.WriteNumberValue(type); else json.WriteNullValue();
                json.WriteNumberValue(v.WatchTimeSeconds);
                json.WriteNumberValue(v.IsComment ? 1 : 0);
                json.WriteNumberValue(v.IsMic ? 1 : 0);
                if ((v.InvitorUserId ?? v.InvitorExternalUserId) is { } invitor) json.WriteStringValue(invitor); else json.WriteNullValue();
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void Card(StringBuilder html, string label, string figure, double value, string shown, string? sub)
    {
        html.Append("<div class=\"card\"><div class=\"label\">").Append(E(label)).Append("</div><div class=\"value\" data-figure=\"").Append(figure)
            .Append("\" data-value=\"").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append("\">").Append(E(shown)).Append("</div>");
        if (sub is not null) html.Append("<div class=\"sub\">").Append(E(sub)).Append("</div>");
        html.Append("</div>");
    }

    private static string Duration(int seconds) => TimeSpan.FromSeconds(seconds) is var t && t.TotalHours >= 1
        ? $"{(int)t.TotalHours} h {t.Minutes} min"
        : $"{t.Minutes} min {t.Seconds} s";

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string E(string text) => Html.Encode(text);

    private static readonly Dictionary<string, string> Assets = [];

    /// <summary>An embedded asset (report.css, report.js, echarts.min.js), read once.</summary>
    public static string Asset(string name)
    {
        lock (Assets)
        {
            if (Assets.TryGetValue(name, out var text)) return text;
            using var stream = typeof(ReportPage).Assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"The report asset '{name}' is not embedded in {typeof(ReportPage).Assembly.GetName().Name}.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return Assets[name] = reader.ReadToEnd();
        }
    }
}
