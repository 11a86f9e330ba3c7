using System.ComponentModel.DataAnnotations;

namespace WatchStat.Secrets;

/// <summary>Settings under <c>KeyVault:</c>.</summary>
public sealed class KeyVaultOptions : IValidatableObject
{
    public const string Section = "KeyVault";

    /// <summary>
    /// <c>KeyVault:Uri</c>, e.g. <c>https://kv-watchstat.vault.azure.net/</c>: when set, every app's secret is read
    /// from this vault; empty or absent, secrets come from configuration.
    /// </summary>
    public string? Uri { get; set; }

    /// <summary><c>KeyVault:SecretCacheMinutes</c>: how long a secret read from the vault is used before it is read again.</summary>
    [Range(1, 1440, ErrorMessage = "Setting KeyVault:SecretCacheMinutes must be between 1 and 1440.")]
    public int SecretCacheMinutes { get; set; } = 15;

    /// <summary>The vault, or null when secrets come from configuration.</summary>
    public Uri? VaultUri => System.Uri.TryCreate(Uri, UriKind.Absolute, out var parsed) ? parsed : null;

    public static bool IsSet(string? uri) => !string.IsNullOrWhiteSpace(uri);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (IsSet(Uri) && (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var parsed) || parsed.Scheme != "https"))
            yield return new ValidationResult($"Setting KeyVault:Uri must be the vault's https address, like https://my-vault.vault.azure.net/; it is '{Uri}'.");
    }
}
