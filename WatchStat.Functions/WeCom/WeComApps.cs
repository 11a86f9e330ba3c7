using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace WatchStat.WeCom;

/// <summary>A WeCom app the harvester calls as: its name in our settings, its corpid, and the anchors it watches.</summary>
public sealed record WeComApp(string Name, string CorpId, IReadOnlyList<string> AnchorUserIds)
{
    public const string DefaultName = "default";

    /// <summary>What kind of app it is (WeCom's permission table): custom, agent-developed or third-party.</summary>
    public WeComAppKind Kind { get; init; } = WeComAppKind.Custom;

    /// <summary>
    /// The suite (a third-party app, or an agent-developed app's template) whose callback installs it in corps:
    /// set, the app serves every corp that authorized it and has no corp of its own (<see cref="CorpId"/> empty).
    /// </summary>
    public string? SuiteId { get; init; }

    /// <summary>Installed by corps through its suite's callback rather than configured for one corp.</summary>
    public bool IsInstalled => SuiteId is not null;

    public string KindName => Kind switch { WeComAppKind.Agent => "agent-developed", WeComAppKind.ThirdParty => "third-party", _ => "custom" };

    public WeComApp(string name, string corpId) : this(name, corpId, []) { }
}

/// <summary>The kinds of app WeCom lets call get_watch_stat (its permission table), as <c>WeCom:Apps:{name}:Kind</c> names them.</summary>
public enum WeComAppKind
{
    /// <summary><c>custom</c> (自建应用): a corp's own app; gettoken with the corp's corpid and the app's secret.</summary>
    Custom,
    /// <summary>
    /// <c>agent</c> (代开发应用): an app a service provider develops for one corp; gettoken with that corp's corpid and
    /// the app's permanent code (permanent_code) as its secret.
    /// </summary>
    Agent,
    /// <summary>
    /// <c>thirdparty</c> (第三方应用): a service provider's app that many corps install; get_corp_token with the
    /// suite_access_token and each corp's permanent code.
    /// </summary>
    ThirdParty,
}

/// <summary>The secrets of a WeCom app: what it calls WeCom with, and what WeCom signs and encrypts its callbacks with.</summary>
public enum AppSecretKind
{
    /// <summary>The app's secret (corpsecret), for <c>gettoken</c>.</summary>
    Secret,
    /// <summary>The Token of the app's callback (接收消息), for msg_signature.</summary>
    CallbackToken,
    /// <summary>The EncodingAESKey of the app's callback, for its AES key.</summary>
    EncodingAesKey,
    /// <summary>The suite's secret (SuiteSecret), for <c>service/get_suite_token</c>.</summary>
    SuiteSecret,
}

/// <summary>
/// Where one secret of an app is configured: the setting of its value (secrets from configuration) and of its Key
/// Vault secret's name (secrets from Key Vault), with what each holds.
/// </summary>
public sealed record AppSecretSettings(string ValueSetting, string? Value, string NameSetting, string? Name);

/// <summary>The WeCom apps of this deployment, resolved once from <see cref="WeComOptions"/>.</summary>
public sealed partial class WeComApps
{
    private readonly Dictionary<string, (WeComApp App, IReadOnlyDictionary<AppSecretKind, AppSecretSettings> Secrets, string CorpIdSetting)> _apps;

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

    public AppSecretSettings SecretSettingsOf(WeComApp app, AppSecretKind kind = AppSecretKind.Secret) => _apps[app.Name].Secrets[kind];

    /// <summary>
    /// What is wrong with naming <paramref name="corpId"/> for <paramref name="app"/> in a request; null when it is
    /// right, with the corp meant in <paramref name="corp"/>. An app of one corp means its own (a corpid given must be
    /// it); an app installed by many corps (a suite) needs the corp named.
    /// </summary>
    public static string? CheckCorp(WeComApp app, string? corpId, out string corp)
    {
        corp = "";
        if (app.IsInstalled)
        {
            if (string.IsNullOrEmpty(corpId))
                return $"corpid is required: WeCom app '{app.Name}' is a {app.KindName} app that many corps install; name the corp of the live.";
            if (!IsValidCorpId(corpId)) return $"corpid '{corpId}' is not a WeCom corpid (1-64 letters, digits, '-' or '_').";
            corp = corpId;
            return null;
        }
        if (!string.IsNullOrEmpty(corpId) && !string.Equals(corpId, app.CorpId, StringComparison.Ordinal))
            return $"corpid '{corpId}' is not the corp of WeCom app '{app.Name}' ({app.CorpId}); leave it out or name that corp.";
        corp = app.CorpId;
        return null;
    }

    /// <summary>corpids are letters and digits (ww…, wx…, an open corpid wp…); '-' and '_' are allowed for test corps.</summary>
    public static bool IsValidCorpId(string? corpId) => corpId is { Length: >= 1 and <= 64 } && corpId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>
    /// What is wrong with naming this app in a request; null when it is configured. The configured apps are listed
    /// only with <paramref name="listApps"/> (the operator's CLI): an HTTP caller is not told the deployment's apps.
    /// </summary>
    public string? Check(string? name, bool listApps = false) => Find(name) is null ? Describe(name, listApps ? this : null) : null;

    private static string Describe(string? name, WeComApps? apps)
    {
        var known = apps is null ? "" : $" (configured apps: {(apps.All.Count == 0 ? "none" : string.Join(", ", apps.All.Select(a => a.Name)))})";
        return string.IsNullOrEmpty(name)
            ? $"app is required: this deployment has no app named '{WeComApp.DefaultName}'{known}."
            : $"Unknown WeCom app '{Storage.BoundedText.Cut(name, 64)}'{known}."; // app names are at most 32 characters: a longer one is only echoed in part
    }

    /// <summary>Every app of the options, the single-app settings merged into <c>default</c>, with the setting each value came from.</summary>
    internal static IEnumerable<(WeComApp App, IReadOnlyDictionary<AppSecretKind, AppSecretSettings> Secrets, string CorpIdSetting)> Resolve(WeComOptions options)
    {
        var apps = new Dictionary<string, WeComAppOptions>(options.Apps, StringComparer.OrdinalIgnoreCase);
        var single = new WeComAppOptions
        {
            CorpId = options.CorpId,
            Secret = options.Secret,
            SecretName = options.SecretName,
            CallbackToken = options.CallbackToken,
            EncodingAesKey = options.EncodingAesKey,
            CallbackTokenSecretName = options.CallbackTokenSecretName,
            EncodingAesKeySecretName = options.EncodingAesKeySecretName,
        };
        var legacy = options.CorpId is not null || options.Secret is not null || options.SecretName is not null;
        var onlySingle = legacy && !apps.ContainsKey(WeComApp.DefaultName);
        if (onlySingle) apps[WeComApp.DefaultName] = new WeComAppOptions();
        foreach (var (name, app) in apps)
        {
            var isDefault = string.Equals(name, WeComApp.DefaultName, StringComparison.OrdinalIgnoreCase);
            var prefix = isDefault && onlySingle ? "WeCom:" : $"WeCom:Apps:{name}:";
            // The default app's own setting wins; the single-app setting (WeCom:{field}) fills in where it has none.
            (string? Value, string Setting) Pick(Func<WeComAppOptions, string?> field, string fieldName) =>
                isDefault && field(app) is null && field(single) is { } value
                    ? (value, $"WeCom:{fieldName}")
                    : (field(app), prefix + fieldName);
            AppSecretSettings Secret(Func<WeComAppOptions, string?> value, string valueField, Func<WeComAppOptions, string?> secretName, string nameField)
            {
                var (v, valueSetting) = Pick(value, valueField);
                var (n, nameSetting) = Pick(secretName, nameField);
                return new AppSecretSettings(valueSetting, v, nameSetting, n);
            }
            var (corpId, corpIdSetting) = Pick(a => a.CorpId, nameof(WeComAppOptions.CorpId));
            var secrets = new Dictionary<AppSecretKind, AppSecretSettings>
            {
                [AppSecretKind.Secret] = Secret(a => a.Secret, nameof(WeComAppOptions.Secret), a => a.SecretName, nameof(WeComAppOptions.SecretName)),
                [AppSecretKind.CallbackToken] = Secret(a => a.CallbackToken, nameof(WeComAppOptions.CallbackToken),
                    a => a.CallbackTokenSecretName, nameof(WeComAppOptions.CallbackTokenSecretName)),
                [AppSecretKind.EncodingAesKey] = Secret(a => a.EncodingAesKey, nameof(WeComAppOptions.EncodingAesKey),
                    a => a.EncodingAesKeySecretName, nameof(WeComAppOptions.EncodingAesKeySecretName)),
                [AppSecretKind.SuiteSecret] = Secret(a => a.SuiteSecret, nameof(WeComAppOptions.SuiteSecret),
                    a => a.SuiteSecretName, nameof(WeComAppOptions.SuiteSecretName)),
            };
            var anchors = (app.AnchorUserIds ?? "").Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            yield return (new WeComApp(isDefault ? WeComApp.DefaultName : name, corpId ?? "", anchors)
            {
                Kind = ParseKind(app.Kind) ?? WeComAppKind.Custom,
                SuiteId = string.IsNullOrWhiteSpace(app.SuiteId) ? null : app.SuiteId.Trim(),
            }, secrets, corpIdSetting);
        }
    }

    /// <summary>A <c>Kind</c> setting's app kind (any case); null when it names none. Unset means custom.</summary>
    public static WeComAppKind? ParseKind(string? kind) => kind?.Trim().ToLowerInvariant() switch
    {
        null or "" or "custom" => WeComAppKind.Custom,
        "agent" => WeComAppKind.Agent,
        "thirdparty" or "third-party" => WeComAppKind.ThirdParty,
        _ => null,
    };

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    internal static partial Regex ValidName();
}

/// <summary>A request named a WeCom app this deployment does not have.</summary>
public sealed class UnknownAppException(string message) : Exception(message);
