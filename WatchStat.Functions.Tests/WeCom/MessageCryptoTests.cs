using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using WatchStat.WeCom.Callbacks;
using static WatchStat.Tests.WeCom.WeComPublishedSample;

namespace WatchStat.Tests.WeCom;

/// <summary>
/// WeCom's callback crypto against WeCom's own published samples, its 32-byte padding at the edges, and every way
/// a callback can be forged or malformed. Raw AES (PaddingMode.None) in the tests builds and inspects plaintexts
/// independently of the class under test.
/// </summary>
public sealed class MessageCryptoTests
{
    private static readonly WeComMessageCrypto Crypto = new(Token, EncodingAesKey, CorpId);

    [Fact]
    public void The_published_URL_check_sample_verifies_and_decrypts_to_its_echo_string()
    {
        Assert.Equal(UrlSignature, Crypto.Signature(UrlTimestamp, UrlNonce, EchoStr));
        Assert.True(Crypto.VerifySignature(UrlSignature, UrlTimestamp, UrlNonce, EchoStr));

        Assert.Equal(EchoPlaintext, Crypto.VerifyAndDecrypt(UrlSignature, UrlTimestamp, UrlNonce, EchoStr));
    }

    [Fact]
    public void The_published_POST_sample_verifies_and_decrypts_to_its_published_XML()
    {
        var encrypt = WeComCallbackEnvelope.ReadEncrypt(PostBody);

        var xml = Crypto.VerifyAndDecrypt(PostSignature, PostTimestamp, PostNonce, encrypt);

        Assert.Equal(PostPlaintext, xml);
        Assert.Equal(30, RawDecrypt(EncodingAesKey, encrypt)[^1]);
        var message = WeComCallbackEnvelope.ParseEvent(xml);
        Assert.Equal(("text", CorpId, "mycreate", 1409659813L, "218"),
            (message.MsgType, message.ToUserName, message.FromUserName, message.CreateTime, message.AgentId));
        Assert.Equal("hello", message.Fields["Content"]);
        Assert.Equal("4561255354251345929", message.Fields["MsgId"]);
    }

    // The other sample WeCom publishes, for a ww-corpid, in sbzhu/weworkapi_python callback/Sample.py. It states no
    // plaintexts, so this asserts what the sample does state: both requests verify and decrypt for that corpid, and the
    // POST decrypts to a text message to the ToUserName and AgentID of its envelope.
    [Fact]
    public void The_second_published_sample_verifies_and_decrypts_for_its_own_corpid()
    {
        var crypto = new WeComMessageCrypto("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee");
        const string body = "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>";

        var echo = crypto.VerifyAndDecrypt("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683",
            "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==");
        var message = WeComCallbackEnvelope.ParseEvent(
            crypto.VerifyAndDecrypt("0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914", WeComCallbackEnvelope.ReadEncrypt(body)));

        Assert.NotEmpty(echo);
        Assert.Equal(("text", "ww1436e0e65a779aee", "1000002"), (message.MsgType, message.ToUserName, message.AgentId));
        Assert.Throws<WeComCallbackException>(() => Crypto.Decrypt(WeComCallbackEnvelope.ReadEncrypt(body))); // not under the first sample's key
    }

    [Theory]
    [InlineData(EchoStr, EchoPlaintext)]
    [InlineData("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==", PostPlaintext)]
    public void Encrypting_a_published_plaintext_with_its_random_bytes_reproduces_the_published_ciphertext(string published, string plaintext)
    {
        var random = RawDecrypt(EncodingAesKey, published)[..16];

        Assert.Equal(published, Crypto.Encrypt(plaintext, random));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(32)]
    public void A_message_round_trips_whatever_its_pad(int pad)
    {
        // 16 random + 4 length + message + receiveid, padded to 32: pick the message length that leaves this pad.
        var length = ((32 - pad - (20 + CorpId.Length)) % 32 + 32) % 32 + 64;
        var message = new string('m', length);

        var encrypt = Crypto.Encrypt(message);

        var raw = RawDecrypt(EncodingAesKey, encrypt);
        Assert.Equal(0, raw.Length % 32);
        Assert.Equal(pad, WeComMessageCrypto.PadFor(20 + length + CorpId.Length));
        Assert.All(raw[^pad..], b => Assert.Equal(pad, b));
        Assert.NotEqual(pad, raw[^(pad + 1)]); // the pad is exactly this long: the byte before it is the corpid's last
        Assert.Equal(CorpId, Encoding.UTF8.GetString(raw[^(pad + CorpId.Length)..^pad]));
        Assert.Equal(message, Crypto.VerifyAndDecrypt(Crypto.Signature("1", "2", encrypt), "1", "2", encrypt));
    }

    [Fact]
    public void A_message_length_counts_UTF8_bytes()
    {
        const string message = "<xml><Content><![CDATA[直播结束了 ✓]]></Content></xml>";

        var raw = RawDecrypt(EncodingAesKey, Crypto.Encrypt(message));

        Assert.Equal((uint)Encoding.UTF8.GetByteCount(message), BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(16, 4)));
        Assert.Equal(message, Crypto.Decrypt(Crypto.Encrypt(message)));
    }

    [Fact]
    public void The_random_prefix_is_fresh_each_time_unless_given()
    {
        var given = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();

        Assert.NotEqual(Crypto.Encrypt("same"), Crypto.Encrypt("same"));
        Assert.Equal(Crypto.Encrypt("same", given), Crypto.Encrypt("same", given));
        Assert.Equal(given, RawDecrypt(EncodingAesKey, Crypto.Encrypt("same", given))[..16]);
        Assert.Throws<ArgumentException>(() => Crypto.Encrypt("same", new byte[15]));
    }

    [Fact]
    public void A_changed_signature_is_refused()
    {
        var changed = "6" + UrlSignature[1..];

        Assert.False(Crypto.VerifySignature(changed, UrlTimestamp, UrlNonce, EchoStr));
        Assert.False(Crypto.VerifySignature(UrlSignature.ToUpperInvariant(), UrlTimestamp, UrlNonce, EchoStr));
        Assert.False(Crypto.VerifySignature(UrlSignature[..^1], UrlTimestamp, UrlNonce, EchoStr));
        AssertRefused(WeComCallbackReason.BadSignature, () => Crypto.VerifyAndDecrypt(changed, UrlTimestamp, UrlNonce, EchoStr), EchoPlaintext);
    }

    [Fact]
    public void A_changed_timestamp_or_nonce_is_refused()
    {
        AssertRefused(WeComCallbackReason.BadSignature, () => Crypto.VerifyAndDecrypt(UrlSignature, "1409659590", UrlNonce, EchoStr), EchoPlaintext);
        AssertRefused(WeComCallbackReason.BadSignature, () => Crypto.VerifyAndDecrypt(UrlSignature, UrlTimestamp, "263014781", EchoStr), EchoPlaintext);
    }

    [Fact]
    public void A_missing_query_parameter_is_a_bad_signature()
    {
        AssertRefused(WeComCallbackReason.BadSignature, () => Crypto.VerifyAndDecrypt(null, UrlTimestamp, UrlNonce, EchoStr));
        AssertRefused(WeComCallbackReason.BadSignature, () => Crypto.VerifyAndDecrypt(UrlSignature, null, UrlNonce, EchoStr));
        AssertRefused(WeComCallbackReason.BadSignature, () => Crypto.VerifyAndDecrypt(UrlSignature, UrlTimestamp, UrlNonce, null));
    }

    [Fact]
    public void A_flipped_ciphertext_byte_under_the_old_signature_is_caught_by_the_signature()
    {
        var tampered = Flip(EchoStr, 20, 0x01);

        AssertRefused(WeComCallbackReason.BadSignature, () => Crypto.VerifyAndDecrypt(UrlSignature, UrlTimestamp, UrlNonce, tampered), EchoPlaintext);
    }

    [Fact]
    public void A_flipped_pad_byte_under_a_recomputed_signature_is_caught_by_the_padding_check()
    {
        var encrypt = WeComCallbackEnvelope.ReadEncrypt(PostBody);
        var length = Convert.FromBase64String(encrypt).Length;
        // CBC: flipping the last byte of the next-to-last block flips the plaintext's last byte, the pad (30 -> 31).
        var tampered = Flip(encrypt, length - 17, 0x01);

        AssertRefused(WeComCallbackReason.DecryptFailed, () => VerifyAndDecryptResigned(tampered), PostPlaintext, "hello");
    }

    [Fact]
    public void A_flipped_length_byte_under_a_recomputed_signature_is_caught_by_the_length_check()
    {
        // Flipping the first ciphertext byte flips the plaintext's byte 16, the length's high byte.
        var tampered = Flip(EchoStr, 0, 0x80);

        AssertRefused(WeComCallbackReason.DecryptFailed, () => VerifyAndDecryptResigned(tampered), EchoPlaintext);
    }

    [Fact]
    public void A_flipped_corpid_byte_under_a_recomputed_signature_is_caught_by_the_receiver_check()
    {
        // The echostr is 64 bytes: 16 random, 4 length, 19 message, 18 corpid, 7 pad. Flipping byte 32 garbles the
        // third block (message end and corpid start) and flips the corpid's tenth byte.
        var tampered = Flip(EchoStr, 32, 0x01);

        AssertRefused(WeComCallbackReason.WrongReceiver, () => VerifyAndDecryptResigned(tampered), EchoPlaintext);
    }

    [Fact]
    public void A_message_for_another_corpid_is_refused()
    {
        var otherApp = new WeComMessageCrypto(Token, EncodingAesKey, "wx5823bf96d3bd56c8");
        var prefix = new WeComMessageCrypto(Token, EncodingAesKey, "wx5823bf96d3bd56c");

        AssertRefused(WeComCallbackReason.WrongReceiver, () => otherApp.VerifyAndDecrypt(UrlSignature, UrlTimestamp, UrlNonce, EchoStr), EchoPlaintext);
        AssertRefused(WeComCallbackReason.WrongReceiver, () => prefix.Decrypt(EchoStr), EchoPlaintext);
        AssertRefused(WeComCallbackReason.WrongReceiver, () => Crypto.Decrypt(otherApp.Encrypt("for the other app")), "for the other app");
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("P9nAzCzyDtyTWESHep1vC5X9xho")] // a length no base64 has
    [InlineData("P9nAzCzy*DtyTWESH")]
    public void Ciphertext_that_is_not_base64_is_refused(string encrypt)
    {
        AssertRefused(WeComCallbackReason.BadBase64, () => VerifyAndDecryptResigned(encrypt));
    }

    [Theory]
    [InlineData(63)]
    [InlineData(49)]
    [InlineData(8)]
    [InlineData(0)]
    public void Ciphertext_that_is_not_whole_AES_blocks_is_refused(int keep)
    {
        var truncated = Convert.ToBase64String(Convert.FromBase64String(EchoStr)[..keep]);

        AssertRefused(WeComCallbackReason.DecryptFailed, () => Crypto.Decrypt(truncated), EchoPlaintext);
    }

    public static TheoryData<string, byte[]> MalformedPlaintexts() => new()
    {
        { "a pad byte of 0", Padded(Unpadded("hello", CorpId), padValue: 0) },
        { "a pad byte of 33", Padded(Unpadded("hello", CorpId), padValue: 33) },
        { "pad bytes that disagree", Disagreeing(Padded(Unpadded("hello", CorpId))) },
        { "a length past the end", Padded(Unpadded("hello", CorpId, declaredLength: 1000)) },
        { "a length of 2^32-1", Padded(Unpadded("hello", CorpId, declaredLength: uint.MaxValue)) },
        { "no room for the length", Padded(new byte[10]) },
        { "a message that is not UTF-8", Padded(Unpadded([0xC3, 0x28], CorpId)) },
    };

    [Theory]
    [MemberData(nameof(MalformedPlaintexts))]
    public void A_malformed_plaintext_is_refused(string what, byte[] plaintext)
    {
        Assert.True(plaintext.Length % 32 == 0, $"{what}: the test's plaintext must be whole 32-byte blocks");
        var encrypt = RawEncrypt(EncodingAesKey, plaintext);

        AssertRefused(WeComCallbackReason.DecryptFailed, () => VerifyAndDecryptResigned(encrypt), "hello");
    }

    [Fact]
    public void A_well_formed_plaintext_built_by_hand_is_accepted()
    {
        // The control for the malformed ones above: the same builder with nothing wrong.
        var encrypt = RawEncrypt(EncodingAesKey, Padded(Unpadded("hello", CorpId)));

        Assert.Equal("hello", VerifyAndDecryptResigned(encrypt));
    }

    [Theory]
    [InlineData("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2")] // 42 characters
    [InlineData("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2CC")] // 44
    [InlineData("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2=")]
    [InlineData("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B*C")]
    [InlineData("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q 2BC")]
    [InlineData("")]
    public void A_malformed_EncodingAESKey_is_refused_without_quoting_it(string key)
    {
        var error = Assert.Throws<ArgumentException>(() => new WeComMessageCrypto(Token, key, CorpId));

        Assert.Contains("EncodingAESKey", error.Message, StringComparison.Ordinal);
        if (key.Length > 0) Assert.DoesNotContain(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_token_or_corpid_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new WeComMessageCrypto("", EncodingAesKey, CorpId));
        Assert.Throws<ArgumentException>(() => new WeComMessageCrypto(Token, EncodingAesKey, ""));
    }

    [Theory]
    [InlineData("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><AgentID><![CDATA[218]]></AgentID><Encrypt><![CDATA[abc+/=]]></Encrypt></xml>")]
    [InlineData("<xml><ToUserName>wx5823bf96d3bd56c7</ToUserName><AgentID>218</AgentID><Encrypt>abc+/=</Encrypt></xml>")]
    [InlineData("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<xml>\n  <!-- a comment -->\n  <Encrypt><![CDATA[abc]]>+/=</Encrypt>\n</xml>\n")]
    public void The_Encrypt_text_is_read_from_CDATA_or_plain_text(string body)
    {
        Assert.Equal("abc+/=", WeComCallbackEnvelope.ReadEncrypt(body));
    }

    [Theory]
    [InlineData("<!DOCTYPE xml [<!ENTITY e \"abc\">]><xml><Encrypt>&e;</Encrypt></xml>")]
    [InlineData("<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Encrypt>&xxe;</Encrypt></xml>")]
    [InlineData("<!DOCTYPE xml SYSTEM \"http://127.0.0.1:9/x.dtd\"><xml><Encrypt>abc</Encrypt></xml>")]
    [InlineData("<!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><xml><Encrypt>&c;</Encrypt></xml>")]
    public void A_body_with_a_DTD_is_refused(string body)
    {
        AssertRefused(WeComCallbackReason.BadXml, () => WeComCallbackEnvelope.ReadEncrypt(body));
        AssertRefused(WeComCallbackReason.BadXml, () => WeComCallbackEnvelope.ParseEvent(body));
    }

    [Fact]
    public void An_oversized_body_is_refused()
    {
        var near = $"<xml><Encrypt>{new string('A', WeComCallbackEnvelope.MaxCharacters - 100)}</Encrypt></xml>";
        var over = $"<xml><Encrypt>{new string('A', WeComCallbackEnvelope.MaxCharacters)}</Encrypt></xml>";

        Assert.Equal(WeComCallbackEnvelope.MaxCharacters - 100, WeComCallbackEnvelope.ReadEncrypt(near).Length);
        AssertRefused(WeComCallbackReason.BadXml, () => WeComCallbackEnvelope.ReadEncrypt(over));
        AssertRefused(WeComCallbackReason.BadXml, () => WeComCallbackEnvelope.ParseEvent(over));
    }

    [Theory]
    [InlineData("<xml><ToUserName>wx5823bf96d3bd56c7</ToUserName></xml>")]
    [InlineData("<xml><Encrypt></Encrypt></xml>")]
    [InlineData("<xml><Encrypt/></xml>")]
    [InlineData("<xml><Encrypt>abc</Encrypt><Encrypt>def</Encrypt></xml>")]
    [InlineData("<xml><Encrypt><Inner>abc</Inner></Encrypt></xml>")]
    [InlineData("<other><Encrypt>abc</Encrypt></other>")]
    [InlineData("<xml xmlns=\"urn:x\"><Encrypt>abc</Encrypt></xml>")]
    [InlineData("<xml><Encrypt>abc</Encrypt>")]
    [InlineData("{\"encrypt\":\"abc\"}")]
    [InlineData("")]
    public void A_body_without_one_Encrypt_in_an_xml_document_is_refused(string body)
    {
        AssertRefused(WeComCallbackReason.BadXml, () => WeComCallbackEnvelope.ReadEncrypt(body));
    }

    [Theory]
    [InlineData("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[living_status_change]]></Event><LivingId><![CDATA[lv-1]]></LivingId><Status>2</Status><AgentID>1000002</AgentID></xml>")]
    [InlineData("<xml>\n <ToUserName>wx5823bf96d3bd56c7</ToUserName>\n <FromUserName>sys</FromUserName>\n <CreateTime> 1700000000 </CreateTime>\n <MsgType>event</MsgType>\n <Event>living_status_change</Event>\n <LivingId>lv-1</LivingId>\n <Status>2</Status>\n <AgentID><![CDATA[1000002]]></AgentID>\n</xml>")]
    public void An_event_is_read_from_CDATA_or_plain_text(string xml)
    {
        var e = WeComCallbackEnvelope.ParseEvent(xml);

        Assert.Equal(("event", "living_status_change", CorpId, "sys", 1700000000L, "1000002", "lv-1", 2),
            (e.MsgType, e.Event, e.ToUserName, e.FromUserName, e.CreateTime, e.AgentId, e.LivingId, e.Status));
        Assert.Equal(8, e.Fields.Count);
        Assert.Equal("lv-1", e.Fields["livingid"]);
    }

    [Fact]
    public void An_event_keeps_unknown_fields_and_tolerates_missing_or_odd_ones()
    {
        var e = WeComCallbackEnvelope.ParseEvent("<xml><MsgType>event</MsgType><CreateTime>soon</CreateTime><Extra>x</Extra><Nested><A>1</A></Nested></xml>");

        Assert.Equal(("event", (long?)null, (int?)null, (string?)null), (e.MsgType, e.CreateTime, e.Status, e.LivingId));
        Assert.Equal("x", e.Fields["Extra"]);
        Assert.False(e.Fields.ContainsKey("Nested"));
    }

    [Fact]
    public void A_malformed_event_is_refused_without_quoting_it()
    {
        AssertRefused(WeComCallbackReason.BadXml,
            () => WeComCallbackEnvelope.ParseEvent("<xml><SecretFieldName>s3cr3t-value</OtherFieldName></xml>"),
            "SecretFieldName", "OtherFieldName", "s3cr3t-value");
    }

    [Fact]
    public void A_built_push_body_goes_through_the_receiver_path()
    {
        const string xml = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[living_status_change]]></Event><LivingId><![CDATA[lv-9]]></LivingId><Status>1</Status></xml>";
        var encrypt = Crypto.Encrypt(xml);
        var body = WeComCallbackEnvelope.Build(CorpId, "1000002", encrypt);
        var signature = Crypto.Signature("1700000000", "42", encrypt);

        Assert.Equal($"<xml><ToUserName><![CDATA[{CorpId}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>", body);
        var e = WeComCallbackEnvelope.ParseEvent(Crypto.VerifyAndDecrypt(signature, "1700000000", "42", WeComCallbackEnvelope.ReadEncrypt(body)));
        Assert.Equal(("living_status_change", "lv-9", 1), (e.Event, e.LivingId, e.Status));
    }

    /// <summary>Decrypts after signing the ciphertext afresh, so only decryption can catch what is wrong with it.</summary>
    private static string VerifyAndDecryptResigned(string encrypt) =>
        Crypto.VerifyAndDecrypt(Crypto.Signature(PostTimestamp, PostNonce, encrypt), PostTimestamp, PostNonce, encrypt);

    private static void AssertRefused(WeComCallbackReason reason, Action act, params string[] alsoNotQuoted)
    {
        var error = Assert.Throws<WeComCallbackException>(act);
        Assert.Equal(reason, error.Reason);
        Assert.Null(error.InnerException);
        foreach (var secret in new[] { Token, EncodingAesKey }.Concat(alsoNotQuoted))
            Assert.DoesNotContain(secret, error.ToString(), StringComparison.Ordinal);
    }

    private static string Flip(string encrypt, int index, byte mask)
    {
        var bytes = Convert.FromBase64String(encrypt);
        bytes[index] ^= mask;
        return Convert.ToBase64String(bytes);
    }

    private static byte[] Unpadded(string message, string receiveId, uint? declaredLength = null) =>
        Unpadded(Encoding.UTF8.GetBytes(message), receiveId, declaredLength);

    /// <summary>16 zero "random" bytes, the big-endian length, the message and the receiveid.</summary>
    private static byte[] Unpadded(byte[] message, string receiveId, uint? declaredLength = null)
    {
        var receiver = Encoding.UTF8.GetBytes(receiveId);
        var plain = new byte[20 + message.Length + receiver.Length];
        BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(16), declaredLength ?? (uint)message.Length);
        message.CopyTo(plain, 20);
        receiver.CopyTo(plain, 20 + message.Length);
        return plain;
    }

    /// <summary>Pads to 32 as WeCom does, optionally with a wrong pad value.</summary>
    private static byte[] Padded(byte[] unpadded, byte? padValue = null)
    {
        var pad = 32 - unpadded.Length % 32;
        var padded = new byte[unpadded.Length + pad];
        unpadded.CopyTo(padded, 0);
        padded.AsSpan(unpadded.Length).Fill(padValue ?? (byte)pad);
        return padded;
    }

    private static byte[] Disagreeing(byte[] padded)
    {
        var pad = padded[^1];
        Assert.True(pad >= 2);
        padded[^pad] ^= 0x01;
        return padded;
    }

    private static byte[] AesKey(string encodingAesKey) => Convert.FromBase64String(encodingAesKey + "=");

    private static byte[] RawDecrypt(string encodingAesKey, string encrypt)
    {
        using var aes = Aes.Create();
        aes.Key = AesKey(encodingAesKey);
        return aes.DecryptCbc(Convert.FromBase64String(encrypt), aes.Key.AsSpan(0, 16), PaddingMode.None);
    }

    private static string RawEncrypt(string encodingAesKey, byte[] plaintext)
    {
        using var aes = Aes.Create();
        aes.Key = AesKey(encodingAesKey);
        return Convert.ToBase64String(aes.EncryptCbc(plaintext, aes.Key.AsSpan(0, 16), PaddingMode.None));
    }
}
