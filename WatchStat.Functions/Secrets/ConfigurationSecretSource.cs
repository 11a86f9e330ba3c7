using WatchStat.WeCom;

namespace WatchStat.Secrets;

/// <summary>
/// Secrets from configuration (<c>WeCom:Apps:{name}:Secret</c>, <c>...:CallbackToken</c>, <c>...:EncodingAesKey</c>,
/// or the single-app <c>WeCom:*</c> settings): local development, the demo, tests.
/// </summary>
public sealed class ConfigurationSecretSource(WeComApps apps) : IWeComSecretSource
{
    public ValueTask<string> GetSecretAsync(WeComApp app, AppSecretKind kind, CancellationToken cancellationToken)
    {
        var settings = apps.SecretSettingsOf(app, kind);
        return ValueTask.FromResult(settings.Value
            ?? throw new SecretUnavailableException($"No {Name(kind)} is configured for WeCom app '{app.Name}': set {settings.ValueSetting}.", isRetryable: false));
    }

    public bool IsConfigured(WeComApp app, AppSecretKind kind) => !string.IsNullOrEmpty(apps.SecretSettingsOf(app, kind).Value);

    /// <summary>Configuration does not change under a running process: there is nothing to read again.</summary>
    public void Invalidate(WeComApp app, AppSecretKind kind, string rejectedSecret)
    {
    }

    public string Describe(WeComApp app, AppSecretKind kind) => $"setting {apps.SecretSettingsOf(app, kind).ValueSetting}";

    internal static string Name(AppSecretKind kind) => kind switch
    {
        AppSecretKind.CallbackToken => "callback Token",
        AppSecretKind.EncodingAesKey => "callback EncodingAESKey",
        AppSecretKind.SuiteSecret => "suite secret",
        _ => "secret",
    };
}
