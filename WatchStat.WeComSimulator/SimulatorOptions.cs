using System.Diagnostics.CodeAnalysis;

namespace WatchStat.WeComSimulator;

/// <summary>
/// Settings of the simulator. Bound from the configuration section "Simulator" by Program.cs.
/// <see cref="LatencyMilliseconds"/>, <see cref="TokenLifetimeSeconds"/>, <see cref="PageSize"/>, <see cref="CorpCallsPerMinute"/>
/// and <see cref="CorpCallsPerHour"/> may be changed
/// while the simulator runs (through <see cref="SimulatorState.Options"/> or <c>PUT /sim/settings</c>);
/// apps and lives are changed at run time through <see cref="SimulatorState.SetSecret"/> and <see cref="SimulatorState.AddLive"/>,
/// suites through <see cref="SuiteSide.SetSuite"/>; the Suite* times through <c>PUT /sim/settings</c> too (the ticket interval
/// applies to callbacks registered afterwards).
/// </summary>
public sealed class SimulatorOptions
{
    /// <summary>The default app: corpid "ww-sim-corp", secret "sim-secret-0123456789abcdef".</summary>
    public const string DefaultCorpId = "ww-sim-corp";

    /// <summary>Secret of the default app.</summary>
    public const string DefaultSecret = "sim-secret-0123456789abcdef";

    /// <summary>Apps (corpid + secret) that gettoken accepts.</summary>
    [SuppressMessage("Usage", "CA2227:Collection properties should be read only", Justification = "Settable for configuration binding; part of the agreed API.")]
    [SuppressMessage("Design", "CA1002:Do not expose generic lists", Justification = "Part of the agreed API.")]
    public List<SimulatedApp> Apps { get; set; } = [new SimulatedApp { CorpId = DefaultCorpId, Secret = DefaultSecret }];

    /// <summary>expires_in of new tokens, in seconds.</summary>
    public int TokenLifetimeSeconds { get; set; } = 7200;

    /// <summary>Viewers per get_watch_stat page (members and externals together).</summary>
    public int PageSize { get; set; } = 100;

    /// <summary>Real time every WeCom API answer waits, counted from the arrival of its request, to the millisecond.</summary>
    public int LatencyMilliseconds { get; set; }

    /// <summary>
    /// WeCom's per-enterprise limit of calls a minute to one API (10,000 in WeCom), per (corpid, API): beyond it, calls
    /// answer 45009 "api freq out of limit" and do not run until the next calendar minute (UTC) of the simulator's clock.
    /// 0 (the default; also any negative value) = unlimited. Counted for calls that authenticated: token APIs by the
    /// token's corp, gettoken by its corpid, the service/* APIs of third-party apps by their suite_id. Refused calls use
    /// up no budget. See <see cref="SimulatorCounters.RateLimited"/>.
    /// </summary>
    public int CorpCallsPerMinute { get; set; }

    /// <summary>
    /// WeCom's per-enterprise limit of calls an hour to one API (150,000 in WeCom), per (corpid, API), as
    /// <see cref="CorpCallsPerMinute"/> but blocking until the next calendar hour (UTC). 0 (the default) = unlimited.
    /// </summary>
    public int CorpCallsPerHour { get; set; }

    /// <summary>Anchors by userid and how many lives each created (read when <see cref="SimulatorState"/> is created).</summary>
    [SuppressMessage("Usage", "CA2227:Collection properties should be read only", Justification = "Settable for configuration binding.")]
    public Dictionary<string, int> Anchors { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Fault rules in force from the start (changeable later through <see cref="SimulatorState.Faults"/> or <c>PUT /sim/faults</c>).</summary>
    [SuppressMessage("Usage", "CA2227:Collection properties should be read only", Justification = "Settable for configuration binding.")]
    [SuppressMessage("Design", "CA1002:Do not expose generic lists", Justification = "Settable for configuration binding.")]
    public List<FaultRule> Faults { get; set; } = [];

    /// <summary>Seed of the fault dice, so a faulty run can be repeated.</summary>
    public int FaultSeed { get; set; }

    /// <summary>Explicitly registered lives by livingid (read when <see cref="SimulatorState"/> is created).</summary>
    [SuppressMessage("Usage", "CA2227:Collection properties should be read only", Justification = "Settable for configuration binding; part of the agreed API.")]
    public Dictionary<string, LiveSpec> Lives { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Third-party apps (suites) of a service provider that <c>service/get_suite_token</c> accepts. Empty by default:
    /// a simulator that plays a self-built app only. Changed at run time through <see cref="SuiteSide.SetSuite"/> or
    /// <c>PUT /sim/suites/{suiteid}</c>.
    /// </summary>
    [SuppressMessage("Usage", "CA2227:Collection properties should be read only", Justification = "Settable for configuration binding.")]
    [SuppressMessage("Design", "CA1002:Do not expose generic lists", Justification = "Settable for configuration binding.")]
    public List<SimulatedSuite> Suites { get; set; } = [];

    /// <summary>
    /// Seconds between two suite_ticket pushes to a suite's instruction callback: WeCom pushes a new ticket every ten
    /// minutes, timed by the simulator's clock (a FakeTimeProvider in tests).
    /// </summary>
    public int SuiteTicketIntervalSeconds { get; set; } = 600;

    /// <summary>
    /// Seconds a pushed suite_ticket is accepted by get_suite_token: thirty minutes, so an app that missed one or two
    /// pushes still gets a suite_access_token with the ticket it kept.
    /// </summary>
    public int SuiteTicketLifetimeSeconds { get; set; } = 1800;

    /// <summary>expires_in of new suite_access_tokens, in seconds. Corp tokens (get_corp_token) use <see cref="TokenLifetimeSeconds"/>.</summary>
    public int SuiteTokenLifetimeSeconds { get; set; } = 7200;
}

/// <summary>One third-party app (suite) of a service provider: its suite_id and suite_secret.</summary>
public sealed class SimulatedSuite
{
    /// <summary>The suite_id, e.g. "wwsuite0123456789"; also the receiveid of its instruction callbacks.</summary>
    public string SuiteId { get; set; } = "";

    /// <summary>The suite_secret.</summary>
    public string SuiteSecret { get; set; } = "";
}

/// <summary>One WeCom app: corpid and its secret.</summary>
public sealed class SimulatedApp
{
    /// <summary>The corpid.</summary>
    public string CorpId { get; set; } = "";

    /// <summary>The app secret (corpsecret).</summary>
    public string Secret { get; set; } = "";
}

/// <summary>Shape and quirks of one simulated live.</summary>
public sealed record LiveSpec
{
    /// <summary>Number of enterprise members who watched.</summary>
    public int Members { get; init; }

    /// <summary>Number of external viewers who watched.</summary>
    public int Externals { get; init; }

    /// <summary>Overrides <see cref="SimulatorOptions.PageSize"/> for this live.</summary>
    public int? PageSize { get; init; }

    /// <summary>watch_time is in 0..DurationSeconds.</summary>
    public int DurationSeconds { get; init; } = 3600;

    /// <summary>
    /// Null: the viewers' ids and names come from the livingid, so no two lives share a viewer. Lives given the same
    /// IdSeed share their people: member n (and external n) is the same person in each (their watch times, flags and
    /// inviters still differ by live).
    /// </summary>
    public string? IdSeed { get; init; }

    /// <summary>Share of viewers that carry an invitor field.</summary>
    public double InvitorShare { get; init; } = 0.3;

    /// <summary>Each page lists its first viewer twice.</summary>
    public bool RepeatWithinPage { get; init; }

    /// <summary>Each page after the first also lists the first viewer of the previous (data) page again.</summary>
    public bool RepeatAcrossPages { get; init; }

    /// <summary>0 = never; n &gt;= 2: pages n, 2n, ... (1-based, counting every call) come back empty with ending 0 and a new next_key at the same position. 1 is rejected (the live would never end).</summary>
    public int EmptyPageEvery { get; init; }

    /// <summary>0 = never; n &gt; 0: from page n on (1-based), the answer has ending 0, no viewers, and the next_key it was called with.</summary>
    public int StuckAtPage { get; init; }

    /// <summary>About 1 in 40 ids contains one of '/', '\\', '#', '?', '%', ' ', '\u0001', '\u007f'.</summary>
    public bool OddIds { get; init; }

    /// <summary>The names of the first external viewers (external viewer i gets ExternalNames[i]), instead of generated ones.</summary>
    public IReadOnlyList<string>? ExternalNames { get; init; }

    /// <summary>
    /// The corp whose lives this is: only tokens of that corp see it, another corp's token gets 40058 as for an
    /// unknown livingid (WeCom never shows one corp's live to another). null: visible to every corp, as a self-built
    /// app's simulator needs. The same livingid may be registered once per corp, with different shapes.
    /// </summary>
    public string? CorpId { get; init; }
}
