using System.Collections.Concurrent;

namespace WatchStat.WeCom;

/// <summary>An access token and the moment it should be replaced.</summary>
public sealed record AccessToken(string Value, DateTimeOffset RenewAt)
{
    public override string ToString() => $"AccessToken(renew at {RenewAt:O})";
}

/// <summary>
/// Access tokens cached in memory per app credential (corpid + secret), shared by every caller in the process.
/// At most one gettoken call per credential is in flight: concurrent callers wait for it and share its token.
/// Tokens are renewed a little before <c>expires_in</c> runs out, and dropped when WeCom rejects them.
/// </summary>
public sealed class AccessTokenCache(TimeProvider time)
{
    /// <summary>How long before expiry a token is renewed: a few minutes, or a tenth of a short lifetime.</summary>
    public static TimeSpan RenewalMargin(TimeSpan lifetime) =>
        TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(5).Ticks, lifetime.Ticks / 10));

    private readonly ConcurrentDictionary<(string CorpId, string Secret), Slot> _slots = new();

    public async ValueTask<AccessToken> GetAsync(
        string corpId,
        string secret,
        Func<CancellationToken, Task<(string Token, TimeSpan Lifetime)>> fetch,
        CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd((corpId, secret), static _ => new Slot());
        if (Fresh(Volatile.Read(ref slot.Current)) is { } cached) return cached;

        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Whoever held the gate before us may have fetched one already.
            if (Fresh(Volatile.Read(ref slot.Current)) is { } fetched) return fetched;
            var (value, lifetime) = await fetch(cancellationToken).ConfigureAwait(false);
            var token = new AccessToken(value, time.GetUtcNow() + lifetime - RenewalMargin(lifetime));
            Volatile.Write(ref slot.Current, token);
            return token;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>
    /// Drops <paramref name="rejected"/> if it is still the cached token. A token another caller already
    /// replaced stays replaced, so a burst of rejections causes one refetch, not one per caller.
    /// </summary>
    public void Invalidate(string corpId, string secret, AccessToken rejected)
    {
        if (_slots.TryGetValue((corpId, secret), out var slot))
            Interlocked.CompareExchange(ref slot.Current, null, rejected);
    }

    private AccessToken? Fresh(AccessToken? token) =>
        token is not null && time.GetUtcNow() < token.RenewAt ? token : null;

    // One slot per credential for the life of the process; its semaphore never allocates a wait handle.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Lives as long as the cache.")]
    private sealed class Slot
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public AccessToken? Current;
    }
}
