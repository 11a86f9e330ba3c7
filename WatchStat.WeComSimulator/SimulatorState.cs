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
    private readonly ConcurrentDictionary<string, SimulatedLive> _registered = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SimulatedLive> _conventional = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _issuedLedger = new();
    private long _issuedSincePrune;

    /// <summary>Creates the state for <paramref name="options"/>; <see cref="SimulatorOptions.Lives"/> are registered now.</summary>
    public SimulatorState(SimulatorOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        options.Apps ??= [];
        _time = time ?? TimeProvider.System;
        Anchors = new SimulatedAnchors(_time);
        Faults = new SimulatorFaults(_time);
        Callbacks = new CallbackSender(this);
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

    /// <summary>The options; LatencyMilliseconds, TokenLifetimeSeconds and PageSize may be changed at run time.</summary>
    public SimulatorOptions Options { get; }

    /// <summary>The fault rules in force (set from <see cref="SimulatorOptions.Faults"/>, changeable at run time).</summary>
    public SimulatorFaults Faults { get; }

    /// <summary>Anchors and their lives, for get_user_all_livingid and get_living_info.</summary>
    public SimulatedAnchors Anchors { get; }

    /// <summary>WeCom's side of the app's callback: registrations, URL checks and <c>living_status_change</c> pushes.</summary>
    public CallbackSender Callbacks { get; }

    /// <summary>Call, token and error counters.</summary>
    public SimulatorCounters Counters { get; } = new();

    /// <summary>The clock of token expiry, live statuses and callback times.</summary>
    internal TimeProvider Time => _time;

    /// <summary>The registered live, else the one the id convention "{M}m{X}x" describes, else null.</summary>
    public SimulatedLive? FindLive(string livingId)
    {
        if (string.IsNullOrEmpty(livingId))
        {
            return null;
        }

        if (_registered.TryGetValue(livingId, out var live) || _conventional.TryGetValue(livingId, out live))
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

    /// <summary>Registers (or replaces) the live <paramref name="livingId"/>.</summary>
    /// <exception cref="ArgumentException">The spec is inconsistent.</exception>
    public void AddLive(string livingId, LiveSpec spec)
    {
        ArgumentException.ThrowIfNullOrEmpty(livingId);
        _registered[livingId] = new SimulatedLive(livingId, spec);
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

    /// <summary>Every token issued so far answers 40014 afterwards.</summary>
    public void RevokeAllTokens() => _tokens.Clear();

    /// <summary>
    /// The last 1,000 access tokens issued, revoked and expired ones included: what a test looks for in logs and
    /// output that must never carry a token.
    /// </summary>
    public IReadOnlyList<string> IssuedTokens() => [.. _issuedLedger];

    internal AppCheck CheckApp(string corpId, string secret)
    {
        lock (_appsLock)
        {
            var app = Options.Apps.Find(a => string.Equals(a.CorpId, corpId, StringComparison.Ordinal));
            if (app is null)
            {
                return AppCheck.UnknownCorpId;
            }

            return CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(app.Secret),
                System.Text.Encoding.UTF8.GetBytes(secret))
                ? AppCheck.Ok
                : AppCheck.WrongSecret;
        }
    }

    internal (string Token, int ExpiresIn) IssueToken(string corpId)
    {
        int lifetime = Options.TokenLifetimeSeconds;
        var now = _time.GetUtcNow();
        string token = NewToken();
        _tokens[token] = new IssuedToken(corpId, now.AddSeconds(lifetime));
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
        return _time.GetUtcNow() >= issued.ExpiresAt ? TokenCheck.Expired : TokenCheck.Valid;
    }

    /// <summary>64 characters of [A-Za-z0-9_-] from 48 random bytes.</summary>
    private static string NewToken()
    {
        Span<byte> bytes = stackalloc byte[48];
        RandomNumberGenerator.Fill(bytes);
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    [GeneratedRegex(@"(\d+)m(\d+)x", RegexOptions.ECMAScript)]
    private static partial Regex ConventionRegex();

    private sealed record IssuedToken(string CorpId, DateTimeOffset ExpiresAt);
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
}
