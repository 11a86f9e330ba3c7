using Microsoft.Extensions.Options;

namespace WatchStat.WeCom;

/// <summary>Where an app's secret (corpsecret) comes from.</summary>
public interface IWeComSecretSource
{
    ValueTask<string> GetSecretAsync(WeComApp app, CancellationToken cancellationToken);
}

/// <summary>Secrets from configuration (<c>WeCom:Secret</c>): local development, the demo and tests.</summary>
public sealed class ConfigurationSecretSource(IOptions<WeComOptions> options) : IWeComSecretSource
{
    public ValueTask<string> GetSecretAsync(WeComApp app, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.Value.Secret
            ?? throw new InvalidOperationException($"No secret is configured for WeCom app '{app.Name}' (setting WeCom:Secret)."));
}

/// <summary>The WeCom apps this deployment harvests for.</summary>
public sealed class WeComApps(IOptions<WeComOptions> options)
{
    public WeComApp Default { get; } = new(WeComApp.DefaultName, options.Value.CorpId ?? "");

    public IReadOnlyList<WeComApp> All => [Default];

    /// <summary>The app of that name; null or empty means the default app.</summary>
    public WeComApp? Find(string? name) =>
        string.IsNullOrEmpty(name) || string.Equals(name, Default.Name, StringComparison.Ordinal) ? Default : null;
}
