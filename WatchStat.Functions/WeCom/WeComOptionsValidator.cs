using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using WatchStat.Secrets;
using WatchStat.WeCom.Callbacks;

namespace WatchStat.WeCom;

/// <summary>Checks the apps' settings at start; each failure names the setting to fix.</summary>
// Reads KeyVault:Uri from configuration rather than IOptions<KeyVaultOptions>, whose own validation failures
// would otherwise be reported a second time, inside these.
public sealed class WeComOptionsValidator(IConfiguration configuration) : IValidateOptions<WeComOptions>
{
    public ValidateOptionsResult Validate(string? name, WeComOptions options)
    {
        var failures = new List<string>();
        var useKeyVault = KeyVaultOptions.IsSet(configuration[$"{KeyVaultOptions.Section}:{nameof(KeyVaultOptions.Uri)}"]);
        foreach (var appName in options.Apps.Keys.Where(n => !WeComApps.ValidName().IsMatch(n)))
            failures.Add($"WeCom app name '{appName}' (WeCom:Apps:{appName}) must be 1-32 letters, digits, '-' or '_'.");
        if (options.Apps.TryGetValue(WeComApp.DefaultName, out var defaults))
        {
            if (options.CorpId is not null && defaults.CorpId is not null && options.CorpId != defaults.CorpId)
                failures.Add($"Settings WeCom:CorpId and WeCom:Apps:{WeComApp.DefaultName}:CorpId disagree; set one of them.");
        }

        var apps = WeComApps.Resolve(options).ToList();
        if (apps.Count == 0)
        {
            failures.Add(useKeyVault
                ? "No WeCom app is configured: set WeCom:CorpId and WeCom:SecretName, or WeCom:Apps:{name}:CorpId and WeCom:Apps:{name}:SecretName."
                : "No WeCom app is configured: set WeCom:CorpId and WeCom:Secret, or WeCom:Apps:{name}:CorpId and WeCom:Apps:{name}:Secret.");
        }
        foreach (var (app, secrets, corpIdSetting) in apps)
        {
            var prefix = corpIdSetting[..^nameof(WeComAppOptions.CorpId).Length];
            var rawKind = options.Apps.TryGetValue(app.Name, out var raw) ? raw.Kind : null;
            if (WeComApps.ParseKind(rawKind) is null)
                failures.Add($"Setting {prefix}Kind must be custom, agent or thirdparty; it is '{rawKind}'.");
            if (app.Kind == WeComAppKind.ThirdParty && !app.IsInstalled)
                failures.Add($"Setting {prefix}SuiteId is required: WeCom app '{app.Name}' is a third-party app, which corps install from its suite.");
            if (app.IsInstalled)
            {
                CheckSuite(app, secrets, corpIdSetting, prefix, useKeyVault, failures);
                continue;
            }
            if (string.IsNullOrWhiteSpace(app.CorpId))
                failures.Add($"Setting {corpIdSetting} is required: the corpid (企业ID) of WeCom app '{app.Name}'.");
            var secret = secrets[AppSecretKind.Secret];
            if (useKeyVault && string.IsNullOrWhiteSpace(secret.Name))
                failures.Add($"Setting {secret.NameSetting} is required: the Key Vault secret that holds the secret of WeCom app '{app.Name}' (KeyVault:Uri is set).");
            if (!useKeyVault && string.IsNullOrWhiteSpace(secret.Value))
                failures.Add($"Setting {secret.ValueSetting} is required: the secret (corpsecret) of WeCom app '{app.Name}' "
                    + $"(or set KeyVault:Uri and {secret.NameSetting} to read it from Key Vault).");
            CheckCallback(app, secrets[AppSecretKind.CallbackToken], secrets[AppSecretKind.EncodingAesKey], useKeyVault, failures);
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// An app corps install through its suite: no corp or secret of its own, a suite secret, and a callback (the
    /// suite_ticket and the authorizations arrive through it); what it receives is written to Key Vault.
    /// </summary>
    private static void CheckSuite(
        WeComApp app, IReadOnlyDictionary<AppSecretKind, AppSecretSettings> secrets, string corpIdSetting, string prefix, bool useKeyVault, List<string> failures)
    {
        var what = $"WeCom app '{app.Name}' is installed by corps through suite {app.SuiteId}";
        if (app.Kind == WeComAppKind.Custom)
            failures.Add($"Setting {prefix}SuiteId is for agent-developed and third-party apps: set {prefix}Kind to agent or thirdparty, or remove the SuiteId.");
        if (!string.IsNullOrWhiteSpace(app.CorpId))
            failures.Add($"Setting {corpIdSetting} must not be set: {what}, so its corps are the ones that authorize it.");
        var secret = secrets[AppSecretKind.Secret];
        if (secret.Value is not null || secret.Name is not null)
            failures.Add($"Settings {secret.ValueSetting} and {secret.NameSetting} must not be set: {what}, and each corp's permanent code is its credential.");
        if (!useKeyVault)
            failures.Add($"Setting KeyVault:Uri is required: {what}, whose suite_ticket and permanent codes are kept in Key Vault.");
        var suiteSecret = secrets[AppSecretKind.SuiteSecret];
        if (useKeyVault && string.IsNullOrWhiteSpace(suiteSecret.Name))
            failures.Add($"Setting {suiteSecret.NameSetting} is required: the Key Vault secret that holds the SuiteSecret of WeCom app '{app.Name}'.");
        var (token, aesKey) = (secrets[AppSecretKind.CallbackToken], secrets[AppSecretKind.EncodingAesKey]);
        if (useKeyVault && (string.IsNullOrWhiteSpace(token.Name) || string.IsNullOrWhiteSpace(aesKey.Name)))
            failures.Add($"Settings {token.NameSetting} and {aesKey.NameSetting} are required: {what}, and WeCom pushes its suite_ticket "
                + "and authorizations to its callback.");
        CheckCallback(app, token, aesKey, useKeyVault, failures);
    }

    /// <summary>
    /// A callback needs both its Token and its EncodingAESKey, from where the app's secrets come from; a value in
    /// configuration is checked for its form here, a Key Vault secret when it is first read.
    /// </summary>
    private static void CheckCallback(WeComApp app, AppSecretSettings token, AppSecretSettings aesKey, bool useKeyVault, List<string> failures)
    {
        string Where(AppSecretSettings s) => useKeyVault ? s.NameSetting : s.ValueSetting;
        bool Has(AppSecretSettings s) => !string.IsNullOrWhiteSpace(useKeyVault ? s.Name : s.Value);
        if (Has(token) != Has(aesKey))
        {
            var (missing, present) = Has(token) ? (aesKey, token) : (token, aesKey);
            failures.Add($"Setting {Where(missing)} is required with {Where(present)}: WeCom app '{app.Name}' needs both the callback Token and "
                + "the EncodingAESKey for its callback route (or neither, for no route).");
        }
        if (useKeyVault)
        {
            foreach (var s in new[] { token, aesKey }.Where(s => s.Value is not null && string.IsNullOrWhiteSpace(s.Name)))
                failures.Add($"Setting {s.ValueSetting} is not read when KeyVault:Uri is set: put the value in the vault and name its secret in {s.NameSetting}.");
        }
        else if (aesKey.Value is { } value && !WeComMessageCrypto.IsEncodingAesKey(value))
        {
            failures.Add($"Setting {aesKey.ValueSetting} must be the 43 characters the WeCom admin console shows as EncodingAESKey (the base64 of a 32-byte key).");
        }
    }
}
