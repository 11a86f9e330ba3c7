using System.Collections.Concurrent;
using WatchStat.Secrets;

namespace WatchStat.WeCom.Callbacks;

/// <summary>
/// The callback crypto of each app, from its Token and EncodingAESKey as the secret source gives them (Key Vault,
/// cached, or configuration) and its corpid as the receiveid. An app with neither secret has no callback route.
/// </summary>
// The callback route is anonymous, so a read that failed is remembered for FailureMemory: however many requests
// come, an app whose secrets are missing from the vault (named, not yet set) costs the vault one read a minute.
public sealed class WeComCallbackKeys(IWeComSecretSource secrets, TimeProvider time)
{
    /// <summary>How long a failed read of an app's callback secrets is answered from memory before the vault is asked again.</summary>
    public static readonly TimeSpan FailureMemory = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, SecretUnavailableException Error)> _failures = new(StringComparer.OrdinalIgnoreCase);

    public bool HasCallback(WeComApp app) =>
        secrets.IsConfigured(app, AppSecretKind.CallbackToken) && secrets.IsConfigured(app, AppSecretKind.EncodingAesKey);

    /// <summary>
    /// The app's crypto. Throws <see cref="SecretUnavailableException"/> when a secret cannot be read (the same one
    /// again, without reading, for <see cref="FailureMemory"/>), and <see cref="ArgumentException"/> (naming where
    /// the key is kept, never its value) when the EncodingAESKey read is not 43 base64 characters.
    /// </summary>
    public async Task<WeComMessageCrypto> ForAsync(WeComApp app, CancellationToken cancellationToken)
    {
        if (_failures.TryGetValue(app.Name, out var failure) && time.GetUtcNow() < failure.Until) throw failure.Error;
        string token, aesKey;
        try
        {
            var tokenRead = secrets.GetSecretAsync(app, AppSecretKind.CallbackToken, cancellationToken).AsTask();
            var aesKeyRead = secrets.GetSecretAsync(app, AppSecretKind.EncodingAesKey, cancellationToken).AsTask();
            await Task.WhenAll(tokenRead, aesKeyRead);
            (token, aesKey) = (tokenRead.Result, aesKeyRead.Result);
        }
        catch (SecretUnavailableException ex)
        {
            _failures[app.Name] = (time.GetUtcNow() + FailureMemory, ex);
            throw;
        }
        _failures.TryRemove(app.Name, out _);
        if (!WeComMessageCrypto.IsEncodingAesKey(aesKey))
            throw new ArgumentException(
                $"The callback EncodingAESKey of WeCom app '{app.Name}' in {secrets.Describe(app, AppSecretKind.EncodingAesKey)} is not the 43 characters "
                + "the admin console shows.");
        // A suite's instruction callback is encrypted for the suite's id, an app's own callback for its corp.
        return new WeComMessageCrypto(token, aesKey, app.SuiteId ?? app.CorpId);
    }
}
