using Azure;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.WeCom;

namespace WatchStat.Secrets;

/// <summary>
/// Secrets read from Key Vault with one shared <see cref="SecretClient"/>, cached in memory for
/// <c>KeyVault:SecretCacheMinutes</c>; concurrent readers of a secret share one read. Failures name the vault,
/// the secret and what to do, never the value.
/// </summary>
public sealed partial class KeyVaultSecretSource(
    SecretClient client,
    WeComApps apps,
    IOptions<KeyVaultOptions> options,
    TimeProvider time,
    ILogger<KeyVaultSecretSource> logger) : IWeComSecretSource
{
    /// <summary>The built-in role that may read secret values from an RBAC vault.</summary>
    public const string ReaderRole = "Key Vault Secrets User";

    private readonly SharedCache<string, string> _cache = new(time);

    public ValueTask<string> GetSecretAsync(WeComApp app, AppSecretKind kind, CancellationToken cancellationToken)
    {
        var name = SecretNameOf(app, kind);
        return _cache.GetAsync(name, async ct =>
        {
            var value = await ReadAsync(name, ct);
            return (value, time.GetUtcNow().AddMinutes(options.Value.SecretCacheMinutes));
        }, cancellationToken);
    }

    public bool IsConfigured(WeComApp app, AppSecretKind kind) => !string.IsNullOrEmpty(apps.SecretSettingsOf(app, kind).Name);

    public void Invalidate(WeComApp app, AppSecretKind kind, string rejectedSecret) => _cache.Invalidate(SecretNameOf(app, kind), rejectedSecret);

    public string Describe(WeComApp app, AppSecretKind kind) => $"Key Vault secret '{SecretNameOf(app, kind)}' in {client.VaultUri}";

    private string SecretNameOf(WeComApp app, AppSecretKind kind) => apps.SecretSettingsOf(app, kind) is { Name: { Length: > 0 } name }
        ? name
        : throw new SecretUnavailableException(
            $"No Key Vault secret is named for the {ConfigurationSecretSource.Name(kind)} of WeCom app '{app.Name}': set {apps.SecretSettingsOf(app, kind).NameSetting}.",
            isRetryable: false);

    private async Task<string> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var vault = client.VaultUri;
        try
        {
            KeyVaultSecret secret = await client.GetSecretAsync(name, cancellationToken: cancellationToken);
            LogRead(name, vault);
            return secret.Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 403)
        {
            throw new SecretUnavailableException(
                $"Key Vault {vault} refused to read secret '{name}' (403 Forbidden): give the app's identity the role '{ReaderRole}' on the vault.",
                isRetryable: false, ex);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new SecretUnavailableException(
                $"Secret '{name}' was not found in Key Vault {vault} (404): create it with "
                + $"`az keyvault secret set --vault-name {vault.Host.Split('.')[0]} --name {name} --value <the app's secret>`.",
                isRetryable: false, ex);
        }
        catch (RequestFailedException ex) when (ex.Status == 429)
        {
            throw new SecretUnavailableException(
                $"Key Vault {vault} kept throttling (429) the read of secret '{name}' after backing off; it will be tried again later.",
                isRetryable: true, ex);
        }
        catch (RequestFailedException ex)
        {
            throw new SecretUnavailableException(
                $"Key Vault {vault} failed to read secret '{name}': HTTP {ex.Status} {ex.ErrorCode}.", isRetryable: ex.Status >= 500 || ex.Status == 0, ex);
        }
        catch (CredentialUnavailableException ex)
        {
            throw new SecretUnavailableException(
                $"No credential for Key Vault {vault}: in Azure give the app a managed identity and set AZURE_CLIENT_ID to a user-assigned "
                + "identity's client id; locally sign in with `az login` or leave KeyVault:Uri unset to read secrets from configuration.",
                isRetryable: false, ex);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new SecretUnavailableException($"Could not get a token for Key Vault {vault}: {ex.Message}", isRetryable: true, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Read secret {SecretName} from Key Vault {Vault}")]
    private partial void LogRead(string secretName, Uri vault);
}
