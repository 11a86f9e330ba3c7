using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace WatchStat.WeComSimulator;

/// <summary>
/// One get_watch_stat call the simulator answered with a page: when it arrived (before the configured latency and
/// any injected slowness) and when its answer was written, both <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>
/// values of this process; whether the page was the last (<c>ending</c> = 1).
/// </summary>
public sealed record WatchStatCall(string LivingId, long Arrived, long Answered, bool Ending);

/// <summary>Thread-safe call, token and error counters. <see cref="Reset"/> racing with calls may lose those calls' counts.</summary>
public sealed class SimulatorCounters
{
    /// <summary>How many calls <see cref="WatchStatTimeline"/> keeps: the latest ones, older ones are dropped.</summary>
    public const int TimelineCapacity = 10_000;

    private readonly ConcurrentDictionary<string, StrongBox<long>> _calls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Api, string CorpId), StrongBox<long>> _callsByApp = new();
    private readonly ConcurrentDictionary<string, StrongBox<long>> _tokensByApp = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StrongBox<long>> _suiteTokensBySuite = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, StrongBox<long>> _errors = new();
    private readonly ConcurrentDictionary<(string CorpId, string Api, RateLimitWindow Window), StrongBox<long>> _rateLimited = new();
    private readonly Queue<WatchStatCall> _timeline = new();
    private readonly Lock _timelineLock = new();
    private long _tokensIssued;
    private long _callbacksSent;
    private long _callbackUrlChecks;

    internal SimulatorCounters()
    {
    }

    /// <summary>Access tokens issued: successful gettoken answers, and the corp tokens of get_permanent_code and get_corp_token.</summary>
    public long TokensIssued => Interlocked.Read(ref _tokensIssued);

    /// <summary>Callback POSTs the simulator sent as WeCom to apps' and suites' callbacks (every delivery, retries and failed ones included).</summary>
    public long CallbacksSent => Interlocked.Read(ref _callbacksSent);

    /// <summary>Callback URL checks (the GET with echostr) the simulator sent as WeCom, apps' and suites', failed ones included.</summary>
    public long CallbackUrlChecks => Interlocked.Read(ref _callbackUrlChecks);

    /// <summary>Every HTTP call to <paramref name="api"/> ("gettoken", "living/get_watch_stat", ...), any result.</summary>
    public long Calls(string api) => Read(_calls, api);

    /// <summary>
    /// Calls to <paramref name="api"/> made with a token of <paramref name="corpId"/> (or, for gettoken and
    /// service/get_corp_token, asking for that corpid; for service/get_permanent_code, redeeming that corp's auth_code).
    /// </summary>
    public long Calls(string api, string corpId) => Read(_callsByApp, (api, corpId));

    /// <summary>Access tokens issued for <paramref name="corpId"/> (gettoken, get_permanent_code and get_corp_token).</summary>
    public long TokensIssuedFor(string corpId) => Read(_tokensByApp, corpId);

    /// <summary>suite_access_tokens get_suite_token issued to <paramref name="suiteId"/>.</summary>
    public long SuiteTokensIssued(string suiteId) => Read(_suiteTokensBySuite, suiteId);

    /// <summary>Answers with the non-zero <paramref name="errcode"/>.</summary>
    public long Errors(int errcode) => Read(_errors, errcode);

    /// <summary>
    /// Calls to <paramref name="api"/> of <paramref name="corpId"/> (for the service/* APIs: of that suite_id) that
    /// <paramref name="window"/>'s limit refused with 45009: "minute" (<see cref="SimulatorOptions.CorpCallsPerMinute"/>)
    /// or "hour" (<see cref="SimulatorOptions.CorpCallsPerHour"/>). Injected 45009 faults are not counted here (only
    /// in <see cref="Errors"/>, as these are too).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="window"/> is neither "minute" nor "hour".</exception>
    public long RateLimited(string corpId, string api, string window)
    {
        ArgumentNullException.ThrowIfNull(corpId);
        ArgumentNullException.ThrowIfNull(api);
        return Read(_rateLimited, (corpId, api, ParseWindow(window)));
    }

    /// <summary>
    /// The get_watch_stat calls answered with a page, oldest first: the last <see cref="TimelineCapacity"/> of them
    /// (of every live, or only of <paramref name="livingId"/>). A harness measures from outside what a harvester does
    /// between two pages: the time from one page's <see cref="WatchStatCall.Answered"/> to the next page's
    /// <see cref="WatchStatCall.Arrived"/>. Calls answered by an injected fault other than Slow, calls the client
    /// dropped and error answers are not in it (<see cref="Calls(string)"/> counts them).
    /// </summary>
    public IReadOnlyList<WatchStatCall> WatchStatTimeline(string? livingId = null)
    {
        lock (_timelineLock)
        {
            return livingId is null
                ? [.. _timeline]
                : [.. _timeline.Where(c => string.Equals(c.LivingId, livingId, StringComparison.Ordinal))];
        }
    }

    /// <summary>Sets every counter back to zero and empties <see cref="WatchStatTimeline"/>.</summary>
    public void Reset()
    {
        _calls.Clear();
        _callsByApp.Clear();
        _tokensByApp.Clear();
        _suiteTokensBySuite.Clear();
        _errors.Clear();
        _rateLimited.Clear();
        Interlocked.Exchange(ref _tokensIssued, 0);
        Interlocked.Exchange(ref _callbacksSent, 0);
        Interlocked.Exchange(ref _callbackUrlChecks, 0);
        lock (_timelineLock)
        {
            _timeline.Clear();
        }
    }

    internal void RecordCall(string api) => Increment(_calls, api);

    internal void RecordAppCall(string api, string corpId) => Increment(_callsByApp, (api, corpId));

    internal void RecordToken(string corpId)
    {
        Interlocked.Increment(ref _tokensIssued);
        Increment(_tokensByApp, corpId);
    }

    internal void RecordSuiteToken(string suiteId) => Increment(_suiteTokensBySuite, suiteId);

    internal void RecordCallbackSent() => Interlocked.Increment(ref _callbacksSent);

    internal void RecordCallbackUrlCheck() => Interlocked.Increment(ref _callbackUrlChecks);

    internal void RecordError(int errcode)
    {
        if (errcode != 0)
        {
            Increment(_errors, errcode);
        }
    }

    internal void RecordRateLimited(string corpId, string api, RateLimitWindow window) => Increment(_rateLimited, (corpId, api, window));

    /// <summary>"minute" or "hour", as <see cref="RateLimited"/> and GET /sim/counters name the windows.</summary>
    internal static string WindowName(RateLimitWindow window) => window == RateLimitWindow.Minute ? "minute" : "hour";

    private static RateLimitWindow ParseWindow(string window) => window switch
    {
        "minute" => RateLimitWindow.Minute,
        "hour" => RateLimitWindow.Hour,
        _ => throw new ArgumentException("window must be \"minute\" or \"hour\"", nameof(window)),
    };

    internal void RecordWatchStat(WatchStatCall call)
    {
        lock (_timelineLock)
        {
            if (_timeline.Count == TimelineCapacity)
            {
                _timeline.Dequeue();
            }

            _timeline.Enqueue(call);
        }
    }

    internal IEnumerable<KeyValuePair<string, long>> CallsSnapshot() => Snapshot(_calls);

    internal IEnumerable<KeyValuePair<(string Api, string CorpId), long>> CallsByAppSnapshot() => Snapshot(_callsByApp);

    internal IEnumerable<KeyValuePair<string, long>> TokensByAppSnapshot() => Snapshot(_tokensByApp);

    internal IEnumerable<KeyValuePair<int, long>> ErrorsSnapshot() => Snapshot(_errors);

    internal IEnumerable<KeyValuePair<(string CorpId, string Api, RateLimitWindow Window), long>> RateLimitedSnapshot() => Snapshot(_rateLimited);

    internal IEnumerable<KeyValuePair<string, long>> SuiteTokensSnapshot() => Snapshot(_suiteTokensBySuite);

    private static long Read<TKey>(ConcurrentDictionary<TKey, StrongBox<long>> map, TKey key)
        where TKey : notnull =>
        map.TryGetValue(key, out var box) ? Interlocked.Read(ref box.Value) : 0;

    private static void Increment<TKey>(ConcurrentDictionary<TKey, StrongBox<long>> map, TKey key)
        where TKey : notnull =>
        Interlocked.Increment(ref map.GetOrAdd(key, static _ => new StrongBox<long>()).Value);

    private static List<KeyValuePair<TKey, long>> Snapshot<TKey>(ConcurrentDictionary<TKey, StrongBox<long>> map)
        where TKey : notnull =>
        map.Select(kv => KeyValuePair.Create(kv.Key, Interlocked.Read(ref kv.Value.Value))).ToList();
}
