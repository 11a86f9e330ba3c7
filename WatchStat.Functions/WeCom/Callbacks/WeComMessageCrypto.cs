using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace WatchStat.WeCom.Callbacks;

/// <summary>Why a WeCom callback was refused.</summary>
public enum WeComCallbackReason
{
    /// <summary>msg_signature does not match the token, timestamp, nonce and ciphertext (or one of them is missing).</summary>
    BadSignature,
    /// <summary>The ciphertext (Encrypt or echostr) is not base64.</summary>
    BadBase64,
    /// <summary>The ciphertext does not decrypt to a well-formed message: not whole AES blocks, bad padding, a length out of range.</summary>
    DecryptFailed,
    /// <summary>The message decrypted but was addressed to another receiveid (corpid).</summary>
    WrongReceiver,
    /// <summary>The POST body or the decrypted event is not the XML expected, or is too large.</summary>
    BadXml,
    /// <summary>The event decrypted and parsed, but lacks what its type needs (a living_status_change without a valid LivingId, Status or CreateTime).</summary>
    BadEvent,
}

/// <summary>
/// A WeCom callback that was refused. The message names what was wrong only: never the token, the AES key or
/// the decrypted body, and no inner exception that could quote them.
/// </summary>
public sealed class WeComCallbackException(WeComCallbackReason reason, string message) : Exception(message)
{
    public WeComCallbackReason Reason { get; } = reason;
}

/// <summary>
/// WeCom's callback crypto (WXBizMsgCrypt, document path/91144) on System.Security.Cryptography: SHA1 signatures
/// over the sorted token, timestamp, nonce and ciphertext, and AES-256-CBC with PKCS#7 padding to 32-byte blocks.
/// </summary>
// The pad runs 1..32, which .NET's PaddingMode.PKCS7 (16-byte blocks) refuses above 16, so padding is done here
// with PaddingMode.None on both sides.
public sealed class WeComMessageCrypto(string token, string encodingAesKey, string receiveId)
{
    /// <summary>WeCom pads the plaintext to a multiple of 32 bytes, not of the AES block.</summary>
    internal const int PadBlock = 32;

    private const int RandomLength = 16;
    private const int HeaderLength = RandomLength + sizeof(uint);
    private const int AesBlock = 16;
    private const int KeyLength = 32;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly SearchValues<char> Base64Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

    private readonly string _token = Required(token, nameof(token), "Token");
    private readonly byte[] _key = DecodeKey(encodingAesKey);
    private readonly byte[] _receiveId = Encoding.UTF8.GetBytes(Required(receiveId, nameof(receiveId), "receiveid (corpid)"));

    /// <summary>Lower-case hex SHA1 of the token, timestamp, nonce and ciphertext, sorted ordinally and joined.</summary>
    public string Signature(string timestamp, string nonce, string encrypt)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentNullException.ThrowIfNull(nonce);
        ArgumentNullException.ThrowIfNull(encrypt);
        string[] parts = [_token, timestamp, nonce, encrypt];
        Array.Sort(parts, StringComparer.Ordinal);
#pragma warning disable CA5350 // SHA1 is what WeCom signs with; the protocol leaves no choice.
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts))));
#pragma warning restore CA5350
    }

    /// <summary>Whether <paramref name="signature"/> is the callback's msg_signature, compared in constant time. A missing part is a mismatch.</summary>
    public bool VerifySignature(string? signature, string? timestamp, string? nonce, string? encrypt)
    {
        if (signature is null || timestamp is null || nonce is null || encrypt is null) return false;
        return CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(Signature(timestamp, nonce, encrypt)), Encoding.UTF8.GetBytes(signature));
    }

    /// <summary>Checks the signature first, then decrypts: the receiver's one call for an echostr or an Encrypt.</summary>
    public string VerifyAndDecrypt(string? signature, string? timestamp, string? nonce, string? encrypt)
    {
        if (!VerifySignature(signature, timestamp, nonce, encrypt))
            throw new WeComCallbackException(WeComCallbackReason.BadSignature,
                "The callback's msg_signature does not match its timestamp, nonce and ciphertext.");
        return Decrypt(encrypt!);
    }

    /// <summary>Decrypts a ciphertext (Encrypt or echostr) and returns its message once its receiveid is the expected one.</summary>
    public string Decrypt(string encrypt)
    {
        ArgumentNullException.ThrowIfNull(encrypt);
        var cipher = new byte[encrypt.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(encrypt, cipher, out var cipherLength))
            throw new WeComCallbackException(WeComCallbackReason.BadBase64, "The callback's ciphertext is not valid base64.");
        if (cipherLength == 0 || cipherLength % AesBlock != 0)
            throw Failed($"its {cipherLength} bytes are not a whole number of 16-byte AES blocks");

        byte[] plain;
        using (var aes = Aes.Create())
        {
            aes.Key = _key;
            plain = aes.DecryptCbc(cipher.AsSpan(0, cipherLength), _key.AsSpan(0, AesBlock), PaddingMode.None);
        }
        try
        {
            var content = plain.AsSpan(0, plain.Length - PadLength(plain));
            if (content.Length < HeaderLength)
                throw Failed("it is shorter than the random bytes and the length");
            var messageLength = BinaryPrimitives.ReadUInt32BigEndian(content.Slice(RandomLength, sizeof(uint)));
            if (messageLength > (uint)(content.Length - HeaderLength))
                throw Failed("its message length is out of range");
            var message = content.Slice(HeaderLength, (int)messageLength);
            if (!content[(HeaderLength + (int)messageLength)..].SequenceEqual(_receiveId))
                throw new WeComCallbackException(WeComCallbackReason.WrongReceiver,
                    "The callback was encrypted for another receiveid (corpid) than this app's.");
            try
            {
                return StrictUtf8.GetString(message);
            }
            catch (DecoderFallbackException)
            {
                throw Failed("its message is not UTF-8");
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>
    /// Encrypts <paramref name="message"/> as WeCom does. <paramref name="random16"/> fixes the 16 leading random bytes
    /// (tests, vectors); when empty they come from <see cref="RandomNumberGenerator"/>.
    /// </summary>
    public string Encrypt(string message, ReadOnlySpan<byte> random16 = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!random16.IsEmpty && random16.Length != RandomLength)
            throw new ArgumentException($"The random prefix must be {RandomLength} bytes.", nameof(random16));

        var messageLength = StrictUtf8.GetByteCount(message);
        var unpadded = HeaderLength + messageLength + _receiveId.Length;
        var pad = PadFor(unpadded);
        var plain = new byte[unpadded + pad];
        try
        {
            if (random16.IsEmpty) RandomNumberGenerator.Fill(plain.AsSpan(0, RandomLength));
            else random16.CopyTo(plain);
            BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(RandomLength), (uint)messageLength);
            StrictUtf8.GetBytes(message, plain.AsSpan(HeaderLength));
            _receiveId.CopyTo(plain.AsSpan(HeaderLength + messageLength));
            plain.AsSpan(unpadded).Fill((byte)pad);

            using var aes = Aes.Create();
            aes.Key = _key;
            return Convert.ToBase64String(aes.EncryptCbc(plain, _key.AsSpan(0, AesBlock), PaddingMode.None));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>The pad WeCom appends to <paramref name="unpaddedLength"/> bytes: 1..32, a whole block when already aligned.</summary>
    internal static int PadFor(int unpaddedLength) => PadBlock - unpaddedLength % PadBlock;

    /// <summary>The pad length of a decrypted plaintext, once every pad byte is checked to hold it.</summary>
    private static int PadLength(ReadOnlySpan<byte> plain)
    {
        int pad = plain[^1];
        if (pad is < 1 or > PadBlock || pad > plain.Length)
            throw Failed("its padding is invalid");
        // Not constant time: VerifyAndDecrypt has checked the signature before this, so no padding oracle is exposed.
        if (plain[^pad..].ContainsAnyExcept((byte)pad))
            throw Failed("its padding is invalid");
        return pad;
    }

    private static WeComCallbackException Failed(string what) =>
        new(WeComCallbackReason.DecryptFailed, $"The callback's ciphertext does not decrypt to a WeCom message: {what}.");

    private static string Required(string value, string parameter, string setting) =>
        string.IsNullOrEmpty(value) ? throw new ArgumentException($"The WeCom callback {setting} is required.", parameter) : value;

    /// <summary>Whether <paramref name="encodingAesKey"/> has the EncodingAESKey's form: 43 base64 characters of a 32-byte key.</summary>
    public static bool IsEncodingAesKey(string? encodingAesKey) => TryDecodeKey(encodingAesKey, out _);

    /// <summary>The 32-byte AES key the 43-character EncodingAESKey is the base64 of (without its '=').</summary>
    private static byte[] DecodeKey(string encodingAesKey) => TryDecodeKey(encodingAesKey, out var key)
        ? key
        : throw new ArgumentException(
            "The WeCom callback EncodingAESKey must be the 43 characters the admin console shows (the base64 of a 32-byte AES key).",
            nameof(encodingAesKey));

    private static bool TryDecodeKey(string? encodingAesKey, out byte[] key)
    {
        var decoded = new byte[KeyLength + 1];
        key = [];
        if (encodingAesKey is not { Length: 43 }
            || encodingAesKey.AsSpan().ContainsAnyExcept(Base64Alphabet)
            || !Convert.TryFromBase64String(encodingAesKey + "=", decoded, out var written)
            || written != KeyLength)
            return false;
        key = decoded[..KeyLength];
        return true;
    }
}
