using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace WatchStat.WeComSimulator;

/// <summary>How a callback is spoiled on purpose, to see the receiver refuse it.</summary>
public enum CallbackTamper
{
    /// <summary>Sent as WeCom sends it.</summary>
    None,

    /// <summary>One hex character of msg_signature changed.</summary>
    Signature,

    /// <summary>One base64 character of Encrypt changed after signing (the signature is the one of the original).</summary>
    Ciphertext,

    /// <summary>The timestamp query changed after signing.</summary>
    Timestamp,

    /// <summary>Encrypted and signed correctly, but for another corp (<see cref="CallbackSender.OtherCorpId"/>): receiveid and ToUserName.</summary>
    Receiver,

    /// <summary>Signed and encrypted correctly, but the POST body is not well-formed XML.</summary>
    Xml,
}

/// <summary>A URL check: whether the receiver answered 200 with the echostr's plaintext, byte for byte.</summary>
/// <param name="Status">The HTTP status, 0 when the request failed (connection refused, timeout).</param>
/// <param name="ElapsedMs">The HTTP call alone, to 0.1 ms.</param>
/// <param name="Body">The first 200 characters of the answer.</param>
/// <param name="Error">"URL check failed: ..." when not verified.</param>
public sealed record CallbackCheck(bool Verified, int Status, double ElapsedMs, string Body, string? Error);

/// <summary>One callback POST and its answer.</summary>
/// <param name="Status">The HTTP status, 0 when the request failed (then <paramref name="Error"/> says why).</param>
/// <param name="Body">The first 200 characters of the answer.</param>
/// <param name="ElapsedMs">The HTTP call alone, to 0.1 ms.</param>
/// <param name="Error">The exception's type and message when the request failed.</param>
public sealed record CallbackDelivery(int Status, string Body, double ElapsedMs, string? Error);

/// <summary>An event sent once or more; <see cref="LivingId"/>, <see cref="Status"/> and <see cref="CreateTime"/> are null for a raw one.</summary>
public sealed record CallbackSendResult(string? LivingId, int? Status, long? CreateTime, IReadOnlyList<CallbackDelivery> Deliveries);

/// <summary>A callback POST as it goes on the wire: the three query values and the XML body.</summary>
public sealed record CallbackPost(string MsgSignature, string Timestamp, string Nonce, string Body);

/// <summary>
/// WeCom's side of WXBizMsgCrypt (path/91144): SHA1 signatures and AES-256-CBC with 32-byte PKCS#7 padding.
/// Written apart from the app's receiver on purpose, so that the two check each other. Holds the token and key and
/// never prints them.
/// </summary>
public sealed class CallbackCipher
{
    private const int RandomLength = 16;

    private readonly string _token;
    private readonly byte[] _key;

    /// <exception cref="ArgumentException">The token is not 1-32 letters or digits, or the key is not 43 base64 characters of 32 bytes.</exception>
    public CallbackCipher(string token, string encodingAesKey)
    {
        if (!IsValidToken(token)) throw new ArgumentException("token must be 1-32 letters or digits");
        _key = DecodeKey(encodingAesKey) ?? throw new ArgumentException("encodingAesKey must be 43 base64 characters that decode to 32 bytes");
        _token = token;
    }

    /// <summary>1 to 32 ASCII letters or digits, as WeCom's console accepts.</summary>
    public static bool IsValidToken(string? token) => token is { Length: >= 1 and <= 32 } && token.All(char.IsAsciiLetterOrDigit);

    /// <summary>43 characters of the base64 alphabet that, with "=" appended, decode to 32 bytes.</summary>
    public static bool IsValidKey(string? encodingAesKey) => DecodeKey(encodingAesKey) is not null;

    /// <summary>Lower-case hex SHA1 of token, timestamp, nonce and ciphertext, sorted ordinally and concatenated.</summary>
    public string Signature(string timestamp, string nonce, string encrypt)
    {
        string[] parts = [_token, timestamp, nonce, encrypt];
        Array.Sort(parts, StringComparer.Ordinal);
#pragma warning disable CA5350 // WeCom signs with SHA1.
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts))));
#pragma warning restore CA5350
    }

    /// <summary>Encrypts <paramref name="message"/> for <paramref name="receiveId"/> (the corpid) with 16 fresh random bytes.</summary>
    public string Encrypt(string message, string receiveId)
    {
        Span<byte> random = stackalloc byte[RandomLength];
        RandomNumberGenerator.Fill(random);
        return Encrypt(message, receiveId, random);
    }

    /// <summary>
    /// Base64 of AES-256-CBC (IV = the key's first 16 bytes, no .NET padding) over
    /// random16 + big-endian UTF-8 length + message + receiveid + pad, the pad being 1..32 bytes of its own length.
    /// </summary>
    public string Encrypt(string message, string receiveId, ReadOnlySpan<byte> random16)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(receiveId);
        if (random16.Length != RandomLength) throw new ArgumentException("random16 must be 16 bytes", nameof(random16));

        var text = Encoding.UTF8.GetBytes(message);
        var receiver = Encoding.UTF8.GetBytes(receiveId);
        var length = RandomLength + 4 + text.Length + receiver.Length;
        var pad = 32 - length % 32;
        var plain = new byte[length + pad];
        random16.CopyTo(plain);
        BinaryPrimitives.WriteInt32BigEndian(plain.AsSpan(RandomLength), text.Length);
        text.CopyTo(plain, RandomLength + 4);
        receiver.CopyTo(plain, RandomLength + 4 + text.Length);
        plain.AsSpan(length).Fill((byte)pad);

        using var aes = Aes.Create();
        aes.Key = _key;
        return Convert.ToBase64String(aes.EncryptCbc(plain, _key.AsSpan(0, 16), PaddingMode.None));
    }

    private static byte[]? DecodeKey(string? encodingAesKey)
    {
        if (encodingAesKey is not { Length: 43 } || !encodingAesKey.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/'))
            return null;
        var key = new byte[33];
        return Convert.TryFromBase64String(encodingAesKey + "=", key, out var written) && written == 32 ? key[..32] : null;
    }
}

/// <summary>
/// The simulator as WeCom's callback sender: an app's callback registration (checked with the URL check, as the admin
/// console does when it is saved), and <c>living_status_change</c> events pushed to it, signed and encrypted, once or
/// as WeCom's retries. Never logs, and never puts the token or the key in an answer.
/// </summary>
public sealed class CallbackSender
{
    /// <summary>The AgentID a registration gets when none is given.</summary>
    public const string DefaultAgentId = "1000002";

    /// <summary>The corp <see cref="CallbackTamper.Receiver"/> encrypts for.</summary>
    public const string OtherCorpId = "ww-sim-other-corp";

    /// <summary>The most deliveries of one event.</summary>
    public const int MaxDeliveries = 10;

    private const int BodyPreview = 200;

    // One client for every callback: no redirects followed, answers read up to 1 MiB, 10 s per request.
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
    })
    {
        Timeout = TimeSpan.FromSeconds(10),
        MaxResponseContentBufferSize = 1 << 20,
    };

    private readonly SimulatorState _state;
    private readonly ConcurrentDictionary<string, Registration> _registrations = new(StringComparer.Ordinal);

    internal CallbackSender(SimulatorState state) => _state = state;

    /// <summary>The corpids with a callback registration, sorted.</summary>
    public IReadOnlyList<string> RegisteredCorpIds => [.. _registrations.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The registered URL of <paramref name="corpId"/>, or null.</summary>
    public Uri? CallbackUrl(string corpId) => _registrations.TryGetValue(corpId, out var registration) ? registration.Url : null;

    /// <summary>
    /// Registers <paramref name="corpId"/>'s callback as saving it in WeCom's console does: runs the URL check first
    /// (unless <paramref name="verify"/> is false) and saves the registration only when it passes, replacing any earlier one.
    /// </summary>
    /// <returns>The URL check, or null when it was skipped (and the registration saved).</returns>
    /// <exception cref="ArgumentException">A bad corpid, URL, token, key or AgentId.</exception>
    public async Task<CallbackCheck?> RegisterCallbackAsync(string corpId, string url, string token, string encodingAesKey,
        string? agentId = null, bool verify = true, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(corpId)) throw new ArgumentException("corpid is required");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException("url must be an absolute http or https URL");
        agentId ??= DefaultAgentId;
        if (agentId is not { Length: >= 1 and <= 10 } || !agentId.All(char.IsAsciiDigit))
            throw new ArgumentException("agentId must be 1-10 digits");
        var registration = new Registration(corpId, uri, agentId, new CallbackCipher(token, encodingAesKey));

        var check = verify ? await CheckAsync(registration, cancellationToken).ConfigureAwait(false) : null;
        if (check is null || check.Verified) _registrations[corpId] = registration;
        return check;
    }

    /// <summary>Runs the URL check again against <paramref name="corpId"/>'s saved registration.</summary>
    /// <exception cref="KeyNotFoundException">No callback is registered for the corp.</exception>
    public Task<CallbackCheck> VerifyCallbackAsync(string corpId, CancellationToken cancellationToken = default) =>
        CheckAsync(Find(corpId), cancellationToken);

    /// <summary>Forgets <paramref name="corpId"/>'s registration; false when there was none.</summary>
    public bool RemoveCallback(string corpId) => _registrations.TryRemove(corpId, out _);

    /// <summary>
    /// Sets the live's status (see <see cref="SimulatedAnchors.SetStatus"/>), then pushes its <c>living_status_change</c>
    /// event <paramref name="deliveries"/> times, one after the other or all at once. Each delivery is encrypted anew
    /// (random bytes, nonce, timestamp) and carries the same CreateTime, as WeCom's retries do.
    /// </summary>
    /// <param name="corpId">Whose callback; may be null when exactly one is registered.</param>
    /// <param name="createTime">Unix seconds; null: now, by the simulator's clock.</param>
    /// <exception cref="ArgumentException">A bad status, deliveries or tamper, or no corpid while not exactly one callback is registered.</exception>
    /// <exception cref="KeyNotFoundException">The corp has no registration, or the live is unknown.</exception>
    public async Task<CallbackSendResult> ChangeStatusAsync(string livingId, int status, string? corpId = null, int deliveries = 1,
        bool concurrent = false, CallbackTamper tamper = CallbackTamper.None, long? createTime = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(livingId)) throw new ArgumentException("livingid is required");
        if (status is not (0 or 1 or 2 or 4)) throw new ArgumentException("status must be 0, 1, 2 or 4");
        CheckSending(deliveries, tamper);
        var registration = Resolve(corpId);
        // The corp's view of the live: its own, or one every corp sees; another corp's live is as unknown as to its API calls.
        if (_state.LivingInfo(livingId, registration.CorpId) is null
            || _state.Anchors.SetStatus(livingId, _state.FindLive(livingId, registration.CorpId), status) is null)
            throw new KeyNotFoundException($"unknown livingid: {livingId}");

        var created = createTime ?? _state.Time.GetUtcNow().ToUnixTimeSeconds();
        var toUser = tamper == CallbackTamper.Receiver ? OtherCorpId : registration.CorpId;
        var xml = LivingStatusEvent(toUser, registration.AgentId, livingId, status, created);
        var sent = await DeliverAsync(registration, xml, deliveries, concurrent, tamper, cancellationToken).ConfigureAwait(false);
        return new CallbackSendResult(livingId, status, created, sent);
    }

    /// <summary>Pushes an arbitrary event plaintext (any MsgType or Event) to the corp's callback, as <see cref="ChangeStatusAsync"/> does.</summary>
    /// <exception cref="ArgumentException">No XML, bad deliveries or tamper, or no corpid while not exactly one callback is registered.</exception>
    /// <exception cref="KeyNotFoundException">The corp has no registration.</exception>
    public async Task<CallbackSendResult> SendRawAsync(string? corpId, string xml, int deliveries = 1, bool concurrent = false,
        CallbackTamper tamper = CallbackTamper.None, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(xml)) throw new ArgumentException("xml is required");
        CheckSending(deliveries, tamper);
        var registration = Resolve(corpId);
        var sent = await DeliverAsync(registration, xml, deliveries, concurrent, tamper, cancellationToken).ConfigureAwait(false);
        return new CallbackSendResult(null, null, null, sent);
    }

    /// <summary>The event plaintext WeCom pushes when a live changes status (path/94145).</summary>
    public static string LivingStatusEvent(string corpId, string agentId, string livingId, int status, long createTime) =>
        string.Create(CultureInfo.InvariantCulture,
            $"<xml><ToUserName>{Cdata(corpId)}</ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{createTime}</CreateTime>"
            + $"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[living_status_change]]></Event><LivingId>{Cdata(livingId)}</LivingId>"
            + $"<Status>{status}</Status><AgentID>{agentId}</AgentID></xml>");

    /// <summary>
    /// Encrypts and signs <paramref name="message"/> for <paramref name="corpId"/> as one callback POST, spoiled as
    /// <paramref name="tamper"/> says.
    /// </summary>
    public static CallbackPost Seal(CallbackCipher cipher, string corpId, string agentId, string message, CallbackTamper tamper, long timestamp, string nonce) =>
        Seal(cipher, corpId, agentId, message, tamper, timestamp, nonce, agentIdLast: false);

    /// <summary>
    /// <see cref="Seal(CallbackCipher, string, string, string, CallbackTamper, long, string)"/>, with the envelope's
    /// AgentID after Encrypt when <paramref name="agentIdLast"/>: the order of a suite's instruction callbacks
    /// (<c>&lt;ToUserName/&gt;&lt;Encrypt/&gt;&lt;AgentID/&gt;</c>), where an app's event callbacks put AgentID first.
    /// </summary>
    internal static CallbackPost Seal(CallbackCipher cipher, string corpId, string agentId, string message, CallbackTamper tamper, long timestamp, string nonce,
        bool agentIdLast)
    {
        ArgumentNullException.ThrowIfNull(cipher);
        var receiver = tamper == CallbackTamper.Receiver ? OtherCorpId : corpId;
        var encrypt = cipher.Encrypt(message, receiver);
        var stamp = timestamp.ToString(CultureInfo.InvariantCulture);
        var signature = cipher.Signature(stamp, nonce, encrypt);
        switch (tamper)
        {
            case CallbackTamper.Signature:
                signature = (signature[0] == '0' ? "1" : "0") + signature[1..];
                break;
            case CallbackTamper.Ciphertext:
                // Character 24 is in the second AES block: a receiver that skipped the signature would still find the
                // length and message garbled, not just the random bytes.
                encrypt = string.Concat(encrypt.AsSpan(0, 24), encrypt[24] == 'A' ? "B" : "A", encrypt.AsSpan(25));
                break;
            case CallbackTamper.Timestamp:
                stamp = (timestamp + 1).ToString(CultureInfo.InvariantCulture);
                break;
        }

        var body = agentIdLast
            ? $"<xml><ToUserName>{Cdata(receiver)}</ToUserName><Encrypt>{Cdata(encrypt)}</Encrypt><AgentID>{Cdata(agentId)}</AgentID></xml>"
            : $"<xml><ToUserName>{Cdata(receiver)}</ToUserName><AgentID>{Cdata(agentId)}</AgentID><Encrypt>{Cdata(encrypt)}</Encrypt></xml>";
        if (tamper == CallbackTamper.Xml) body = body[..^"</xml>".Length]; // the root is never closed
        return new CallbackPost(signature, stamp, nonce, body);
    }

    /// <summary>null or "none", "signature", "ciphertext", "timestamp", "receiver", "xml" (any case).</summary>
    public static bool TryParseTamper(string? value, out CallbackTamper tamper)
    {
        tamper = value?.ToUpperInvariant() switch
        {
            null or "NONE" => CallbackTamper.None,
            "SIGNATURE" => CallbackTamper.Signature,
            "CIPHERTEXT" => CallbackTamper.Ciphertext,
            "TIMESTAMP" => CallbackTamper.Timestamp,
            "RECEIVER" => CallbackTamper.Receiver,
            "XML" => CallbackTamper.Xml,
            _ => (CallbackTamper)(-1),
        };
        return Enum.IsDefined(tamper);
    }

    private Task<CallbackCheck> CheckAsync(Registration registration, CancellationToken cancellationToken) =>
        CheckUrlAsync(registration.Url, registration.Cipher, registration.CorpId, cancellationToken);

    /// <summary>
    /// The URL check (GET with msg_signature, timestamp, nonce and echostr, the echostr encrypted for
    /// <paramref name="receiveId"/>): passed when the answer is 200 and the echostr's plaintext byte for byte.
    /// Shared by apps' callbacks (receiveid = corpid) and suites' instruction callbacks (receiveid = suite_id).
    /// </summary>
    internal async Task<CallbackCheck> CheckUrlAsync(Uri callbackUrl, CallbackCipher cipher, string receiveId, CancellationToken cancellationToken)
    {
        // WeCom's echostr decrypts to a random number, e.g. "1616140317555161061".
        var echo = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8)).ToString(CultureInfo.InvariantCulture);
        var encrypt = cipher.Encrypt(echo, receiveId);
        var timestamp = Now();
        var nonce = NewNonce();
        var url = WithQuery(callbackUrl,
            ("msg_signature", cipher.Signature(timestamp, nonce, encrypt)), ("timestamp", timestamp), ("nonce", nonce), ("echostr", encrypt));
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        _state.Counters.RecordCallbackUrlCheck();
        var answer = await SendAsync(request, cancellationToken).ConfigureAwait(false);

        var expected = Encoding.UTF8.GetBytes(echo);
        var problem = answer.Error
            ?? (answer.Status != 200 ? $"HTTP {answer.Status}, not 200"
            : answer.Bytes.AsSpan().SequenceEqual(expected) ? null
            : answer.Bytes.AsSpan().IndexOf(expected) >= 0
                ? $"the answer is {answer.Bytes.Length} bytes, not the {expected.Length} of the echostr's plaintext alone (a BOM, quotes, spaces or a newline around it?)"
                : "the answer is not the echostr's plaintext");
        return new CallbackCheck(problem is null, answer.Status, answer.ElapsedMs, Preview(answer.Bytes), problem is null ? null : "URL check failed: " + problem);
    }

    private async Task<IReadOnlyList<CallbackDelivery>> DeliverAsync(Registration registration, string message, int deliveries, bool concurrent,
        CallbackTamper tamper, CancellationToken cancellationToken)
    {
        if (concurrent)
        {
            return await Task.WhenAll(Enumerable.Range(0, deliveries).Select(_ => PostAsync(registration, message, tamper, cancellationToken))).ConfigureAwait(false);
        }

        var sent = new List<CallbackDelivery>(deliveries);
        for (var i = 0; i < deliveries; i++)
        {
            sent.Add(await PostAsync(registration, message, tamper, cancellationToken).ConfigureAwait(false));
        }

        return sent;
    }

    private async Task<CallbackDelivery> PostAsync(Registration registration, string message, CallbackTamper tamper, CancellationToken cancellationToken)
    {
        var post = Seal(registration.Cipher, registration.CorpId, registration.AgentId, message, tamper,
            _state.Time.GetUtcNow().ToUnixTimeSeconds(), NewNonce());
        return await PostSealedAsync(registration.Url, post, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POSTs a sealed callback (text/xml, the signature, timestamp and nonce in the query) and reads the answer; counted as a callback sent.</summary>
    internal async Task<CallbackDelivery> PostSealedAsync(Uri callbackUrl, CallbackPost post, CancellationToken cancellationToken)
    {
        var url = WithQuery(callbackUrl, ("msg_signature", post.MsgSignature), ("timestamp", post.Timestamp), ("nonce", post.Nonce));
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(post.Body));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/xml");
        _state.Counters.RecordCallbackSent();
        var answer = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        return new CallbackDelivery(answer.Status, Preview(answer.Bytes), answer.ElapsedMs, answer.Error);
    }

    /// <summary>Sends and reads the whole answer; a failed request is status 0 with the exception's type and message.</summary>
    private static async Task<Answer> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return new Answer((int)response.StatusCode, bytes, Elapsed(started), null);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new Answer(0, [], Elapsed(started), $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static double Elapsed(long started) => Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1);

    private static string Preview(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        return text.Length <= BodyPreview ? text : text[..BodyPreview];
    }

    private static void CheckSending(int deliveries, CallbackTamper tamper)
    {
        if (deliveries is < 1 or > MaxDeliveries) throw new ArgumentException($"deliveries must be 1-{MaxDeliveries}");
        if (!Enum.IsDefined(tamper)) throw new ArgumentException("unknown tamper");
    }

    private Registration Resolve(string? corpId)
    {
        if (!string.IsNullOrEmpty(corpId)) return Find(corpId);
        var all = _registrations.Values.ToList();
        if (all.Count == 1) return all[0];
        throw new ArgumentException(all.Count == 0
            ? "corpId is required: no callback is registered"
            : $"corpId is required: callbacks are registered for {string.Join(", ", RegisteredCorpIds)}");
    }

    private Registration Find(string corpId) =>
        _registrations.TryGetValue(corpId, out var registration)
            ? registration
            : throw new KeyNotFoundException($"no callback registered for corpid {corpId}");

    private string Now() => _state.Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>Ten digits or fewer, as WeCom's nonces are.</summary>
    internal static string NewNonce() => RandomNumberGenerator.GetInt32(int.MaxValue).ToString(CultureInfo.InvariantCulture);

    /// <summary>The URL with the values appended to its query (keeping one it has, e.g. a function key), without its fragment.</summary>
    private static Uri WithQuery(Uri url, params (string Name, string Value)[] values)
    {
        var text = new StringBuilder(url.GetComponents(UriComponents.SchemeAndServer | UriComponents.PathAndQuery, UriFormat.UriEscaped));
        var separator = url.Query.Length > 1 ? '&' : '?';
        if (url.Query == "?") text.Length--;
        foreach (var (name, value) in values)
        {
            text.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        return new Uri(text.ToString(), UriKind.Absolute);
    }

    /// <summary>CDATA around <paramref name="text"/>, split where it holds "]]>".</summary>
    internal static string Cdata(string text) => "<![CDATA[" + text.Replace("]]>", "]]]]><![CDATA[>", StringComparison.Ordinal) + "]]>";

    private sealed record Answer(int Status, byte[] Bytes, double ElapsedMs, string? Error);

    // Not a record: its ToString must not print the cipher's token or key (the cipher prints neither either).
    private sealed class Registration(string corpId, Uri url, string agentId, CallbackCipher cipher)
    {
        public string CorpId { get; } = corpId;

        public Uri Url { get; } = url;

        public string AgentId { get; } = agentId;

        public CallbackCipher Cipher { get; } = cipher;
    }
}
