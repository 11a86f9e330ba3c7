using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace WatchStat.WeComSimulator;

/// <summary>Thread-safe state shared by the endpoints and the tests: apps, tokens, lives and counters.</summary>
public sealed partial class SimulatorState
{
    private const int MaxCachedConventionLives = 10_000;
    private const int PruneEveryTokens = 4096;
    private const int MaxLedgerTokens = 1000;
    private static readonly TimeSpan PruneExpiredFor = TimeSpan.FromHours(1);

    private readonly TimeProvider _time;
    private readonly Lock _appsLock = new();
    private readonly ConcurrentDictionary<string, IssuedToken> _tokens = new(StringComparer.Ordinal);
    // By (the spec's corpid or "", livingid).
    private readonly ConcurrentDictionary<(string CorpId, string LivingId), SimulatedLive> _registered = new();
    // livingids registered for a corp: hidden from other corps, even when the id convention would describe them.
    private readonly ConcurrentDictionary<string, byte> _corpLivingIds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SimulatedLive> _conventional = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _issuedLedger = new();
    private long _issuedSincePrune;

    /// <summary>Creates the state for <paramref name="options"/>; <see cref="SimulatorOptions.Lives"/> are registered now.</summary>
    public SimulatorState(SimulatorOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        options.Apps ??= [];
        options.Suites ??= [];
        _time = time ?? TimeProvider.System;
        Anchors = new SimulatedAnchors(_time);
        RateLimits = new CorpRateLimiter(options, _time);
        Faults = new SimulatorFaults(_time);
        Callbacks = new CallbackSender(this);
        Suites = new SuiteSide(this);
        Faults.Set(options.Faults ?? [], options.FaultSeed);
        foreach (var (anchor, lives) in options.Anchors ?? [])
        {
            Anchors.Add(anchor, lives);
        }

        if (options.Lives is not null)
        {
            foreach (var (livingId, spec) in options.Lives)
            {
                AddLive(livingId, spec);
            }
        }
    }

    /// <summary>The options; LatencyMilliseconds, TokenLifetimeSeconds, PageSize, CorpCallsPerMinute and CorpCallsPerHour may be changed at run time.</summary>
    public SimulatorOptions Options { get; }

    /// <summary>The fault rules in force (set from <see cref="SimulatorOptions.Faults"/>, changeable at run time).</summary>
    public SimulatorFaults Faults { get; }

    /// <summary>Anchors and their lives, for get_user_all_livingid and get_living_info.</summary>
    public SimulatedAnchors Anchors { get; }

    /// <summary>WeCom's side of the app's callback: registrations, URL checks and <c>living_status_change</c> pushes.</summary>
    public CallbackSender Callbacks { get; }

    /// <summary>
    /// WeCom's side of a service provider's third-party apps (suites): suite_ticket pushes, installs (auth_code,
    /// permanent_code), change and cancel of authorizations, and the suite and corp tokens of <c>service/*</c>.
    /// </summary>
    public SuiteSide Suites { get; }

    /// <summary>WeCom's per-corp, per-API frequency limits, counted in the windows of <see cref="Time"/>.</summary>
    internal CorpRateLimiter RateLimits { get; }

    /// <summary>Call, token and error counters.</summary>
    public SimulatorCounters Counters { get; } = new();

    /// <summary>The clock of token expiry, live statuses and callback times.</summary>
    internal TimeProvider Time => _time;

    /// <summary>
    /// The live every corp sees: the one registered without a corpid, else the one the id convention "{M}m{X}x"
    /// describes (unless the livingid is a corp's own), else null. See <see cref="FindLive(string, string?)"/> for a corp's view.
    /// </summary>
    public SimulatedLive? FindLive(string livingId) => FindLive(livingId, null);

    /// <summary>
    /// The live a token of <paramref name="corpId"/> reads: the one registered for that corp, else the one registered
    /// without a corpid, else the one the id convention "{M}m{X}x" describes; null for an unknown livingid and for
    /// one that only another corp has (registered for it, or its anchor's), which WeCom answers alike (40058).
    /// </summary>
    public SimulatedLive? FindLive(string livingId, string? corpId)
    {
        if (string.IsNullOrEmpty(livingId))
        {
            return null;
        }

        if ((!string.IsNullOrEmpty(corpId) && _registered.TryGetValue((corpId, livingId), out var live))
            || _registered.TryGetValue(("", livingId), out live))
        {
            return live;
        }

        if (_corpLivingIds.ContainsKey(livingId) || (Anchors.CorpOf(livingId) is { Length: > 0 } owner && owner != corpId))
        {
            return null;
        }

        if (_conventional.TryGetValue(livingId, out live))
        {
            return live;
        }

        var match = ConventionRegex().Match(livingId);
        if (!match.Success
            || !int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int members)
            || !int.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int externals)
            || (long)members + externals > int.MaxValue)
        {
            return null;
        }

        live = new SimulatedLive(livingId, new LiveSpec { Members = members, Externals = externals });
        if (_conventional.Count < MaxCachedConventionLives)
        {
            live = _conventional.GetOrAdd(livingId, live);
        }

        return live;
    }

    /// <summary>
    /// Registers (or replaces) the live <paramref name="livingId"/> of <see cref="LiveSpec.CorpId"/> (null: of every
    /// corp). The same livingid may be registered once without a corp and once per corp.
    /// </summary>
    /// <exception cref="ArgumentException">The spec is inconsistent, or its CorpId is empty.</exception>
    public void AddLive(string livingId, LiveSpec spec)
    {
        ArgumentException.ThrowIfNullOrEmpty(livingId);
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.CorpId is { Length: 0 }) throw new ArgumentException("CorpId must be null or non-empty", nameof(spec));
        var live = new SimulatedLive(livingId, spec);
        if (spec.CorpId is not null)
        {
            _corpLivingIds[livingId] = 0;
        }

        _registered[(spec.CorpId ?? "", livingId)] = live;
    }

    /// <summary>What get_living_info answers a token of <paramref name="corpId"/>, or null (40058) when that corp does not see the live.</summary>
    internal SimulatedLivingInfo? LivingInfo(string livingId, string? corpId)
    {
        if (Anchors.CorpOf(livingId) is { Length: > 0 } owner && owner != corpId)
        {
            return null;
        }

        return Anchors.Info(livingId, FindLive(livingId, corpId));
    }

    /// <summary>Sets the secret of <paramref name="corpId"/> (adding the app if unknown); the old secret answers 40001 afterwards. Issued tokens stay valid.</summary>
    public void SetSecret(string corpId, string newSecret)
    {
        ArgumentException.ThrowIfNullOrEmpty(corpId);
        ArgumentNullException.ThrowIfNull(newSecret);
        lock (_appsLock)
        {
            var app = Options.Apps.Find(a => string.Equals(a.CorpId, corpId, StringComparison.Ordinal));
            if (app is null)
            {
                Options.Apps.Add(new SimulatedApp { CorpId = corpId, Secret = newSecret });
            }
            else
            {
                app.Secret = newSecret;
            }
        }
    }

    /// <summary>
    /// Every access token issued so far (gettoken, get_permanent_code and get_corp_token) answers 40014 afterwards,
    /// every suite_access_token 40082.
    /// </summary>
    public void RevokeAllTokens()
    {
        _tokens.Clear();
        Suites.RevokeSuiteTokens();
    }

    /// <summary>
    /// The last 1,000 access tokens issued, revoked and expired ones included: what a test looks for in logs and
    /// output that must never carry a token.
    /// </summary>
    public IReadOnlyList<string> IssuedTokens() => [.. _issuedLedger];

    internal AppCheck CheckApp(string corpId, string secret)
    {
        lock (_appsLock)
        {
            // A corp may have several apps (its own, an agent-developed one): any of their secrets gets a token. An
            // agent-developed app installed through its template's suite takes the corp's permanent code as its secret.
            var apps = Options.Apps.FindAll(a => string.Equals(a.CorpId, corpId, StringComparison.Ordinal));
            var codes = Suites.SuiteIds.Select(suite => Suites.PermanentCode(suite, corpId)).OfType<string>().ToList();
            if (apps.Count == 0 && codes.Count == 0)
            {
                return AppCheck.UnknownCorpId;
            }

            var given = System.Text.Encoding.UTF8.GetBytes(secret);
            return apps.Select(a => a.Secret).Concat(codes)
                .Any(known => CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(known), given))
                ? AppCheck.Ok
                : AppCheck.WrongSecret;
        }
    }

    /// <summary>
    /// A new access token of <paramref name="corpId"/>, valid on every API; <paramref name="suiteId"/> names the suite
    /// whose get_permanent_code or get_corp_token issued it, so that cancelling the corp's authorization can revoke it.
    /// </summary>
    internal (string Token, int ExpiresIn) IssueToken(string corpId, string? suiteId = null)
    {
        int lifetime = Options.TokenLifetimeSeconds;
        var now = _time.GetUtcNow();
        string token = NewToken();
        _tokens[token] = new IssuedToken(corpId, now.AddSeconds(lifetime), suiteId, AuthCancelled: false);
        _issuedLedger.Enqueue(token);
        while (_issuedLedger.Count > MaxLedgerTokens && _issuedLedger.TryDequeue(out _))
        {
        }

        Counters.RecordToken(corpId);
        if (Interlocked.Increment(ref _issuedSincePrune) % PruneEveryTokens == 0)
        {
            foreach (var (key, value) in _tokens)
            {
                if (value.ExpiresAt + PruneExpiredFor < now)
                {
                    _tokens.TryRemove(key, out _);
                }
            }
        }

        return (token, lifetime);
    }

    internal TokenCheck CheckToken(string token, out string? corpId)
    {
        if (!_tokens.TryGetValue(token, out var issued))
        {
            corpId = null;
            return TokenCheck.Unknown;
        }

        corpId = issued.CorpId;
        if (issued.AuthCancelled)
        {
            return TokenCheck.AuthCancelled;
        }

        return _time.GetUtcNow() >= issued.ExpiresAt ? TokenCheck.Expired : TokenCheck.Valid;
    }

    /// <summary>
    /// The corp tokens <paramref name="suiteId"/> issued for <paramref name="corpId"/> answer 48004 from now on (until
    /// pruned an hour after they expire; then 40014): the corp cancelled its authorization. gettoken tokens of the corp stay valid.
    /// </summary>
    internal void CancelCorpTokens(string suiteId, string corpId)
    {
        foreach (var (token, issued) in _tokens)
        {
            if (string.Equals(issued.SuiteId, suiteId, StringComparison.Ordinal) && string.Equals(issued.CorpId, corpId, StringComparison.Ordinal))
            {
                _tokens.TryUpdate(token, issued with { AuthCancelled = true }, issued);
            }
        }
    }

    /// <summary>64 characters of [A-Za-z0-9_-] from 48 random bytes.</summary>
    internal static string NewToken()
    {
        Span<byte> bytes = stackalloc byte[48];
        RandomNumberGenerator.Fill(bytes);
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    [GeneratedRegex(@"(\d+)m(\d+)x", RegexOptions.ECMAScript)]
    private static partial Regex ConventionRegex();

    private sealed record IssuedToken(string CorpId, DateTimeOffset ExpiresAt, string? SuiteId, bool AuthCancelled);
}

internal enum AppCheck
{
    Ok,
    UnknownCorpId,
    WrongSecret,
}

internal enum TokenCheck
{
    Valid,
    Unknown,
    Expired,

    /// <summary>A corp token of a suite whose authorization the corp cancelled: 48004.</summary>
    AuthCancelled,
}
