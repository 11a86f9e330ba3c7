using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;

namespace WatchStat.WeComSimulator;

/// <summary>What can go wrong with a WeCom call.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FaultKind>))]
public enum FaultKind
{
    /// <summary>errcode -1, system busy.</summary>
    SystemBusy,
    /// <summary>errcode 45009, API frequency limit reached.</summary>
    FrequencyLimit,
    /// <summary>errcode 45033, too many concurrent calls.</summary>
    ConcurrencyLimit,
    /// <summary>errcode 40014, the access token is invalid (before it expired).</summary>
    InvalidToken,
    /// <summary>errcode 42001, the access token expired (before its time).</summary>
    TokenExpired,
    /// <summary>errcode 60020, the caller's IP is not trusted.</summary>
    IpNotTrusted,
    /// <summary>errcode 40013, invalid corpid.</summary>
    InvalidCorpId,
    /// <summary>HTTP 500 with an HTML body.</summary>
    Http500,
    /// <summary>HTTP 502 with an HTML body.</summary>
    Http502,
    /// <summary>HTTP 504 with an HTML body.</summary>
    Http504,
    /// <summary>The right answer, but only after <see cref="FaultRule.SlowMilliseconds"/>.</summary>
    Slow,
    /// <summary>HTTP 200 whose JSON stops half way.</summary>
    TruncatedJson,
    /// <summary>HTTP 200 whose body is not JSON.</summary>
    InvalidJson,
    /// <summary>The connection is closed without an answer.</summary>
    CloseConnection,
}

/// <summary>
/// When to inject a fault: calls to <see cref="Api"/> (every API when null), a share of them (<see cref="Rate"/>),
/// optionally only calls number <see cref="FromCall"/>..<see cref="ToCall"/> to that API (1-based, counted since the
/// rules were set) and only while the simulator's clock is in [<see cref="From"/>, <see cref="Until"/>).
/// Several kinds: one of them at random.
/// </summary>
public sealed record FaultRule
{
    public IReadOnlyList<FaultKind> Kinds { get; init; } = [];
    public string? Api { get; init; }
    public double Rate { get; init; } = 1.0;
    public long? FromCall { get; init; }
    public long? ToCall { get; init; }
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? Until { get; init; }
    public int SlowMilliseconds { get; init; } = 5000;

    /// <summary>The errmsg of an errcode fault, instead of WeCom's usual one: WeCom's text is WeCom's, of any length.</summary>
    public string? ErrMsg { get; init; }
}

/// <summary>The fault rules in force, changeable while the simulator runs, with a seeded random source.</summary>
public sealed class SimulatorFaults(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, StrongBox<long>> _callsByApi = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<FaultKind, StrongBox<long>> _injected = new();
    private IReadOnlyList<FaultRule> _rules = [];
    private Random _random = new(0);

    public IReadOnlyList<FaultRule> Rules
    {
        get { lock (_lock) return _rules; }
    }

    /// <summary>Replaces the rules; call numbers count again from 1; <paramref name="seed"/> makes the dice repeatable.</summary>
    public void Set(IEnumerable<FaultRule> rules, int seed = 0)
    {
        lock (_lock)
        {
            _rules = [.. rules];
            _random = new Random(seed);
            _callsByApi.Clear();
        }
    }

    public void Clear() => Set([]);

    /// <summary>Faults of that kind injected so far.</summary>
    public long Injected(FaultKind kind) => _injected.TryGetValue(kind, out var box) ? Interlocked.Read(ref box.Value) : 0;

    public long InjectedTotal => _injected.Values.Sum(b => Interlocked.Read(ref b.Value));

    public IReadOnlyDictionary<FaultKind, long> InjectedSnapshot() => _injected.ToDictionary(kv => kv.Key, kv => Interlocked.Read(ref kv.Value.Value));

    /// <summary>The fault for this call, if a rule hits it.</summary>
    internal (FaultKind Kind, FaultRule Rule)? Pick(string api)
    {
        var call = Interlocked.Increment(ref _callsByApi.GetOrAdd(api, _ => new StrongBox<long>()).Value);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            foreach (var rule in _rules)
            {
                if (rule.Kinds.Count == 0 || (rule.Api is not null && rule.Api != api)) continue;
                if (call < (rule.FromCall ?? 1) || call > (rule.ToCall ?? long.MaxValue)) continue;
                if ((rule.From is { } from && now < from) || (rule.Until is { } until && now >= until)) continue;
                if (rule.Rate < 1.0 && _random.NextDouble() >= rule.Rate) continue;
                var kind = rule.Kinds[_random.Next(rule.Kinds.Count)];
                Interlocked.Increment(ref _injected.GetOrAdd(kind, _ => new StrongBox<long>()).Value);
                return (kind, rule);
            }
        }
        return null;
    }
}
