using System.Diagnostics.Metrics;

namespace WatchStat.Telemetry;

/// <summary>
/// The app's own metrics, on meter <c>WatchStat</c>: pages fetched, viewers written, WeCom call latency by API and
/// errcode, throttles, retries and WeCom callbacks. Exported to Application Insights when it is configured.
/// </summary>
public sealed class WatchStatMetrics
{
    public const string MeterName = "WatchStat";

    private readonly Counter<long> _pages;
    private readonly Counter<long> _viewers;
    private readonly Histogram<double> _callDuration;
    private readonly Counter<long> _throttled;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _callbacks;

    public WatchStatMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _pages = meter.CreateCounter<long>("watchstat.pages.fetched", "{page}", "Pages of get_watch_stat fetched and written.");
        _viewers = meter.CreateCounter<long>("watchstat.viewers.written", "{viewer}", "Viewer rows written.");
        _callDuration = meter.CreateHistogram<double>("watchstat.wecom.call.duration", "ms", "WeCom API call latency, by api and errcode.");
        _throttled = meter.CreateCounter<long>("watchstat.wecom.throttled", "{call}", "WeCom calls answered 45009 or 45033, or held back by the shared budget.");
        _retries = meter.CreateCounter<long>("watchstat.wecom.retries", "{retry}", "WeCom calls retried for a transient fault.");
        _callbacks = meter.CreateCounter<long>("watchstat.wecom.callbacks", "{callback}",
            "WeCom callbacks received, by app and outcome (started, already-running, duplicate, status-recorded, ignored, url-check, or the reason it was refused).");
    }

    public void PageWritten(string app, int viewers)
    {
        var tag = new KeyValuePair<string, object?>("app", app);
        _pages.Add(1, tag);
        _viewers.Add(viewers, tag);
    }

    public void WeComCall(string api, int? errCode, TimeSpan duration) =>
        _callDuration.Record(duration.TotalMilliseconds, new("api", api), new("errcode", errCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"));

    /// <summary>A throttled call: WeCom's errcode (45009, 45033), or "budget" when WatchStat's shared budget held it back.</summary>
    public void Throttled(string api, int? errCode) =>
        _throttled.Add(1, new("api", api), new("errcode", errCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "budget"));

    public void Retried(string api, string reason) => _retries.Add(1, new("api", api), new("reason", reason));

    public void Callback(string app, string outcome) => _callbacks.Add(1, new("app", app), new("outcome", outcome));
}
