namespace WatchStat.WeCom;

/// <summary>An access token and the moment it should be replaced.</summary>
public sealed record AccessToken(string Value, DateTimeOffset RenewAt)
{
    public override string ToString() => $"AccessToken(renew at {RenewAt:O})";
}

/// <summary>
/// Access tokens cached in memory per app credential (corpid + secret), shared by every caller in the process:
/// one gettoken per credential at a time, renewed a little before <c>expires_in</c> runs out, dropped when
/// WeCom rejects them.
/// </summary>
public sealed class AccessTokenCache(TimeProvider time)
{
    private readonly SharedCache<(string CorpId, string Secret), AccessToken> _tokens = new(time);

    /// <summary>How long before expiry a token is renewed: a few minutes, or a tenth of a short lifetime.</summary>
    public static TimeSpan RenewalMargin(TimeSpan lifetime) =>
        TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(5).Ticks, lifetime.Ticks / 10));

    public ValueTask<AccessToken> GetAsync(
        string corpId,
        string secret,
        Func<CancellationToken, Task<(string Token, TimeSpan Lifetime)>> fetch,
        CancellationToken cancellationToken) =>
        _tokens.GetAsync((corpId, secret), async ct =>
        {
            var (value, lifetime) = await fetch(ct).ConfigureAwait(false);
            var token = new AccessToken(value, time.GetUtcNow() + lifetime - RenewalMargin(lifetime));
            return (token, token.RenewAt);
        }, cancellationToken);

    /// <summary>Drops <paramref name="rejected"/> if it is still the cached token of that credential.</summary>
    public void Invalidate(string corpId, string secret, AccessToken rejected) => _tokens.Invalidate((corpId, secret), rejected);
}
