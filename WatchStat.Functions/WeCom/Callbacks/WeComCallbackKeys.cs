using WatchStat.Secrets;

namespace WatchStat.WeCom.Callbacks;

/// <summary>
/// The callback crypto of each app, from its Token and EncodingAESKey as the secret source gives them (Key Vault,
/// cached, or configuration) and its corpid as the receiveid. An app with neither secret has no callback route.
/// </summary>
public sealed class WeComCallbackKeys(IWeComSecretSource secrets)
{
    public bool HasCallback(WeComApp app) =>
        secrets.IsConfigured(app, AppSecretKind.CallbackToken) && secrets.IsConfigured(app, AppSecretKind.EncodingAesKey);

    /// <summary>
    /// The app's crypto. Throws <see cref="SecretUnavailableException"/> when a secret cannot be read, and
    /// <see cref="ArgumentException"/> (naming where the key is kept, never its value) when the EncodingAESKey read is
    /// not 43 base64 characters.
    /// </summary>
    public async Task<WeComMessageCrypto> ForAsync(WeComApp app, CancellationToken cancellationToken)
    {
        var token = secrets.GetSecretAsync(app, AppSecretKind.CallbackToken, cancellationToken).AsTask();
        var aesKey = secrets.GetSecretAsync(app, AppSecretKind.EncodingAesKey, cancellationToken).AsTask();
        await Task.WhenAll(token, aesKey);
        if (!WeComMessageCrypto.IsEncodingAesKey(aesKey.Result))
            throw new ArgumentException(
                $"The callback EncodingAESKey of WeCom app '{app.Name}' in {secrets.Describe(app, AppSecretKind.EncodingAesKey)} is not the 43 characters "
                + "the admin console shows.");
        return new WeComMessageCrypto(token.Result, aesKey.Result, app.CorpId);
    }
}
