using WatchStat.WeCom;

namespace WatchStat.Secrets;

/// <summary>Secrets from configuration (<c>WeCom:Apps:{name}:Secret</c>, <c>WeCom:Secret</c>): local development, the demo, tests.</summary>
public sealed class ConfigurationSecretSource(WeComApps apps) : IWeComSecretSource
{
    public ValueTask<string> GetSecretAsync(WeComApp app, CancellationToken cancellationToken)
    {
        var settings = apps.SecretSettingsOf(app);
        return ValueTask.FromResult(settings.Secret
            ?? throw new SecretUnavailableException($"No secret is configured for WeCom app '{app.Name}': set {settings.SecretSetting}.", isRetryable: false));
    }

    /// <summary>Configuration does not change under a running process: there is nothing to read again.</summary>
    public void Invalidate(WeComApp app, string rejectedSecret)
    {
    }

    public string Describe(WeComApp app) => $"setting {apps.SecretSettingsOf(app).SecretSetting}";
}
