using WatchStat.WeCom;

namespace WatchStat.Secrets;

/// <summary>
/// Where the apps' secrets come from: Key Vault in Azure, configuration locally. One source serves every kind of
/// secret an app has (<see cref="AppSecretKind"/>): the corpsecret, and the Token and EncodingAESKey of its callback.
/// </summary>
public interface IWeComSecretSource
{
    ValueTask<string> GetSecretAsync(WeComApp app, AppSecretKind kind, CancellationToken cancellationToken);

    /// <summary>Whether the app has this secret configured (a value, or a Key Vault secret's name), without reading it.</summary>
    bool IsConfigured(WeComApp app, AppSecretKind kind);

    /// <summary>WeCom said the secret is wrong (40001): forget it if it is still the cached one, so the next read fetches it anew.</summary>
    void Invalidate(WeComApp app, AppSecretKind kind, string rejectedSecret);

    /// <summary>Where the app's secret is read from, for error messages (names, never the value).</summary>
    string Describe(WeComApp app, AppSecretKind kind);
}

/// <summary>A secret could not be read; the message names the vault and the secret, never its value.</summary>
public sealed class SecretUnavailableException(string message, bool isRetryable, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Whether reading it again later may succeed (throttling, a passing outage) without a change of configuration.</summary>
    public bool IsRetryable { get; } = isRetryable;
}
