using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using WatchStat.Secrets;

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
        foreach (var (app, secret, corpIdSetting) in apps)
        {
            if (string.IsNullOrWhiteSpace(app.CorpId))
                failures.Add($"Setting {corpIdSetting} is required: the corpid (企业ID) of WeCom app '{app.Name}'.");
            if (useKeyVault && string.IsNullOrWhiteSpace(secret.SecretName))
                failures.Add($"Setting {secret.SecretNameSetting} is required: the Key Vault secret that holds the secret of WeCom app '{app.Name}' (KeyVault:Uri is set).");
            if (!useKeyVault && string.IsNullOrWhiteSpace(secret.Secret))
                failures.Add($"Setting {secret.SecretSetting} is required: the secret (corpsecret) of WeCom app '{app.Name}' "
                    + $"(or set KeyVault:Uri and {secret.SecretNameSetting} to read it from Key Vault).");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
