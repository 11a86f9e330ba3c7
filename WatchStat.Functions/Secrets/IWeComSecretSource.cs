using WatchStat.WeCom;

namespace WatchStat.Secrets;

/// <summary>Where the apps' secrets (corpsecret) come from: Key Vault in Azure, configuration locally.</summary>
public interface IWeComSecretSource
{
    ValueTask<string> GetSecretAsync(WeComApp app, CancellationToken cancellationToken);

    /// <summary>WeCom said the secret is wrong (40001): forget it if it is still the cached one, so the next read fetches it anew.</summary>
    void Invalidate(WeComApp app, string rejectedSecret);

    /// <summary>Where the app's secret is read from, for error messages (names, never the value).</summary>
    string Describe(WeComApp app);
}

/// <summary>A secret could not be read; the message names the vault and the secret, never its value.</summary>
public sealed class SecretUnavailableException(string message, bool isRetryable, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Whether reading it again later may succeed (throttling, a passing outage) without a change of configuration.</summary>
    public bool IsRetryable { get; } = isRetryable;
}
