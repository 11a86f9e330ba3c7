using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.Secrets;

namespace WatchStat.WeCom.Suites;

/// <summary>
/// The secrets a suite app receives at run time, kept in Key Vault and nowhere else: the latest <c>suite_ticket</c>
/// WeCom pushed to the suite's callback, and each authorized corp's permanent code (never in a table, a log line or
/// an exception). Writing them needs the role <see cref="WriterRole"/> on the vault; an app of one corp never writes.
/// </summary>
/// <remarks>
/// Secret names (<see cref="TicketSecretName"/>, <see cref="PermanentCodeSecretName"/>) are derived from the app's
/// name and the corpid so that an operator can find them: Key Vault names are case-insensitive letters, digits and
/// '-', so every other character, upper-case letters included, is written as '-' and two hex digits, and parts are
/// joined by '--', which no encoded part contains.
/// </remarks>
public sealed partial class SuiteVault(IServiceProvider services, IOptions<KeyVaultOptions> options, TimeProvider time, ILogger<SuiteVault> logger)
{
    /// <summary>The built-in role that may set and delete secrets (and read them) in an RBAC vault.</summary>
    public const string WriterRole = "Key Vault Secrets Officer";

    private readonly SharedCache<string, string> _codes = new(time);
    private SecretClient? _client;

    private SecretClient Client => _client ??= services.GetService<SecretClient>() is { } client && options.Value.VaultUri is not null
        ? client
        : throw new SecretUnavailableException("Suite apps keep their suite_ticket and permanent codes in Key Vault: set KeyVault:Uri.", isRetryable: false);

    public static string TicketSecretName(WeComApp app) => Join("watchstat", app.Name, "suite-ticket");

    public static string PermanentCodeSecretName(WeComApp app, string corpId) => Join("watchstat", app.Name, "permanent-code", corpId);

    /// <summary>The latest suite_ticket, or null when none has arrived yet.</summary>
    public async Task<string?> GetTicketAsync(WeComApp app, CancellationToken cancellationToken) =>
        await ReadAsync(TicketSecretName(app), "the suite_ticket", cancellationToken);

    /// <summary>Keeps the ticket WeCom just pushed; the one before it is superseded (Key Vault keeps it as an older version).</summary>
    public Task SaveTicketAsync(WeComApp app, string ticket, CancellationToken cancellationToken) =>
        WriteAsync(TicketSecretName(app), ticket, "the suite_ticket", cancellationToken);

    /// <summary>A corp's permanent code, cached for <c>KeyVault:SecretCacheMinutes</c>; null when the corp has not authorized the app.</summary>
    public async Task<string?> GetPermanentCodeAsync(WeComApp app, string corpId, CancellationToken cancellationToken)
    {
        var name = PermanentCodeSecretName(app, corpId);
        try
        {
            return await _codes.GetAsync(name, async ct =>
            {
                var code = await ReadAsync(name, $"the permanent code of corp {corpId}", ct)
                    ?? throw new NotAuthorizedException();
                return (code, time.GetUtcNow().AddMinutes(options.Value.SecretCacheMinutes));
            }, cancellationToken);
        }
        catch (NotAuthorizedException)
        {
            return null;
        }
    }

    /// <summary>WeCom rejected the cached code (40084): read it again next time, in case the corp authorized the app anew.</summary>
    public void InvalidatePermanentCode(WeComApp app, string corpId, string rejected) => _codes.Invalidate(PermanentCodeSecretName(app, corpId), rejected);

    public async Task SavePermanentCodeAsync(WeComApp app, string corpId, string permanentCode, CancellationToken cancellationToken)
    {
        var name = PermanentCodeSecretName(app, corpId);
        await WriteAsync(name, permanentCode, $"the permanent code of corp {corpId}", cancellationToken);
        _codes.Forget(name);
    }

    /// <summary>Removes a corp's permanent code (the corp cancelled its authorization). Deleting one that is gone already is fine.</summary>
    public async Task DeletePermanentCodeAsync(WeComApp app, string corpId, CancellationToken cancellationToken)
    {
        var name = PermanentCodeSecretName(app, corpId);
        try
        {
            await Client.StartDeleteSecretAsync(name, cancellationToken);
            LogDeleted(name);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Never stored, or deleted by an earlier delivery of the same cancel_auth.
        }
        catch (RequestFailedException ex)
        {
            throw Unavailable(ex, name, $"the permanent code of corp {corpId}", "delete");
        }
        finally
        {
            // Whatever the vault said, this instance stops using it.
            _codes.Forget(name);
        }
    }

    private async Task<string?> ReadAsync(string name, string what, CancellationToken cancellationToken)
    {
        try
        {
            KeyVaultSecret secret = await Client.GetSecretAsync(name, cancellationToken: cancellationToken);
            return secret.Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
        catch (RequestFailedException ex)
        {
            throw Unavailable(ex, name, what, "read");
        }
    }

    private async Task WriteAsync(string name, string value, string what, CancellationToken cancellationToken)
    {
        try
        {
            try
            {
                await Client.SetSecretAsync(new KeyVaultSecret(name, value), cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Deleted before (a corp that cancelled, now authorizing again): a soft-deleted secret keeps its name
                // until it is recovered or purged, so it is recovered, then overwritten.
                var recovery = await Client.StartRecoverDeletedSecretAsync(name, cancellationToken);
                await recovery.WaitForCompletionAsync(TimeSpan.FromSeconds(1), cancellationToken);
                await Client.SetSecretAsync(new KeyVaultSecret(name, value), cancellationToken);
            }
        }
        catch (RequestFailedException ex)
        {
            throw Unavailable(ex, name, what, "write");
        }
        LogWritten(name);
    }

    private SecretUnavailableException Unavailable(RequestFailedException ex, string name, string what, string verb) => new(
        ex.Status == 403
            ? $"Key Vault {Client.VaultUri} refused to {verb} {what} (secret '{name}', 403 Forbidden): give the app's identity the role '{WriterRole}' on the vault."
            : $"Key Vault {Client.VaultUri} failed to {verb} {what} (secret '{name}'): HTTP {ex.Status} {ex.ErrorCode}.",
        isRetryable: ex.Status is 429 or >= 500 or 0, ex);

    /// <summary>Key Vault's name rules: 1-127 of [0-9a-zA-Z-], case-insensitive.</summary>
    internal static string Join(params string[] parts)
    {
        var name = string.Join("--", parts.Select(Encode));
        // A name past Key Vault's limit (a very long app name and corpid) keeps its readable start and a hash of the rest.
        return name.Length <= 127 ? name : name[..94] + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..32];
    }

    private static string Encode(string part)
    {
        var builder = new StringBuilder(part.Length);
        foreach (var c in part)
        {
            if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9')) builder.Append(c);
            else if (c == '-' && part is "suite-ticket" or "permanent-code") builder.Append(c); // our own words, never an id
            else if (c <= 0xFF) builder.Append('-').Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else builder.Append("-u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); // 'u' is no hex digit

        }
        return builder.ToString();
    }

    private sealed class NotAuthorizedException : Exception;

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote secret {SecretName} to Key Vault")]
    private partial void LogWritten(string secretName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted secret {SecretName} from Key Vault")]
    private partial void LogDeleted(string secretName);
}
