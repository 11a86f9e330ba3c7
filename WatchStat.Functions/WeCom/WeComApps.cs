using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace WatchStat.WeCom;

/// <summary>A WeCom app the harvester calls as: its name in our settings, its corpid, and the anchors it watches.</summary>
public sealed record WeComApp(string Name, string CorpId, IReadOnlyList<string> AnchorUserIds)
{
    public const string DefaultName = "default";

    public WeComApp(string name, string corpId) : this(name, corpId, []) { }
}

/// <summary>Where an app's secret is configured: its setting names, and the value when it is in configuration.</summary>
public sealed record AppSecretSettings(string SecretSetting, string? Secret, string SecretNameSetting, string? SecretName);

/// <summary>The WeCom apps of this deployment, resolved once from <see cref="WeComOptions"/>.</summary>
public sealed partial class WeComApps
{
    private readonly Dictionary<string, (WeComApp App, AppSecretSettings Secret, string CorpIdSetting)> _apps;

    public WeComApps(IOptions<WeComOptions> options)
    {
        _apps = Resolve(options.Value).ToDictionary(a => a.App.Name, StringComparer.OrdinalIgnoreCase);
        All = [.. _apps.Values.Select(a => a.App).OrderBy(a => a.Name, StringComparer.Ordinal)];
    }

    public IReadOnlyList<WeComApp> All { get; }

    /// <summary>The app a request names none of, when one is configured.</summary>
    public WeComApp? Default => Find(null);

    /// <summary>The app of that name (any case); null or empty means <c>default</c>. Null when there is none.</summary>
    public WeComApp? Find(string? name) =>
        _apps.TryGetValue(string.IsNullOrEmpty(name) ? WeComApp.DefaultName : name, out var app) ? app.App : null;

    /// <summary>The app of that name, or an exception saying which apps there are.</summary>
    public WeComApp Get(string? name) => Find(name) ?? throw new UnknownAppException(Describe(name, this));

    public AppSecretSettings SecretSettingsOf(WeComApp app) => _apps[app.Name].Secret;

    /// <summary>What is wrong with naming this app in a request; null when it is configured.</summary>
    public string? Check(string? name) => Find(name) is null ? Describe(name, this) : null;

    private static string Describe(string? name, WeComApps apps)
    {
        var known = apps.All.Count == 0 ? "none" : string.Join(", ", apps.All.Select(a => a.Name));
        return string.IsNullOrEmpty(name)
            ? $"app is required: this deployment has no app named '{WeComApp.DefaultName}' (configured apps: {known})."
            : $"Unknown WeCom app '{name}' (configured apps: {known}).";
    }

    /// <summary>Every app of the options, the single-app settings merged into <c>default</c>, with the setting each value came from.</summary>
    internal static IEnumerable<(WeComApp App, AppSecretSettings Secret, string CorpIdSetting)> Resolve(WeComOptions options)
    {
        var apps = new Dictionary<string, WeComAppOptions>(options.Apps, StringComparer.OrdinalIgnoreCase);
        var legacy = options.CorpId is not null || options.Secret is not null || options.SecretName is not null;
        foreach (var (name, app) in apps)
        {
            var isDefault = string.Equals(name, WeComApp.DefaultName, StringComparison.OrdinalIgnoreCase);
            var prefix = $"WeCom:Apps:{name}:";
            string? Pick(string? own, string? single, string field, out string setting)
            {
                if (isDefault && own is null && single is not null) { setting = $"WeCom:{field}"; return single; }
                setting = prefix + field;
                return own;
            }
            var corpId = Pick(app.CorpId, options.CorpId, "CorpId", out var corpIdSetting);
            var secret = Pick(app.Secret, options.Secret, "Secret", out var secretSetting);
            var secretName = Pick(app.SecretName, options.SecretName, "SecretName", out var secretNameSetting);
            var anchors = (app.AnchorUserIds ?? "").Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            yield return (new WeComApp(isDefault ? WeComApp.DefaultName : name, corpId ?? "", anchors),
                new AppSecretSettings(secretSetting, secret, secretNameSetting, secretName), corpIdSetting);
        }
        if (legacy && !apps.ContainsKey(WeComApp.DefaultName))
        {
            yield return (new WeComApp(WeComApp.DefaultName, options.CorpId ?? "", []),
                new AppSecretSettings("WeCom:Secret", options.Secret, "WeCom:SecretName", options.SecretName), "WeCom:CorpId");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    internal static partial Regex ValidName();
}

/// <summary>A request named a WeCom app this deployment does not have.</summary>
public sealed class UnknownAppException(string message) : Exception(message);
