using WatchStat.Storage;

namespace WatchStat.Tests.Storage;

public sealed class TableKeysTests
{
    private static readonly char[] Forbidden = ['/', '\\', '#', '?', .. Enumerable.Range(0, 0x20).Select(i => (char)i), .. Enumerable.Range(0x7F, 0x21).Select(i => (char)i)];

    [Theory]
    [InlineData("lvAbC123-_", "lvAbC123-_")]
    [InlineData("张伟", "张伟")]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("a\\b#c?d", "a%5Cb%23c%3Fd")]
    [InlineData("100%", "100%25")]
    [InlineData("x\u0001\u007f\u009f", "x%01%7F%9F")]
    [InlineData("", "")]
    public void Escaping_is_readable_and_reversible(string id, string key)
    {
        Assert.Equal(key, TableKeys.Escape(id));
        Assert.Equal(id, TableKeys.Unescape(key));
    }

    [Fact]
    public void No_escaped_key_has_a_forbidden_character_and_no_two_ids_share_a_key()
    {
        var random = new Random(20261126);
        var alphabet = "ab%/\\#?\u0001\u001f\u007f\u0085\u009f 张😀0".ToCharArray();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < 20_000; i++)
        {
            var id = new string([.. Enumerable.Range(0, random.Next(0, 8)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
            var key = TableKeys.Escape(id);
            Assert.Equal(-1, key.IndexOfAny(Forbidden));
            Assert.Equal(id, TableKeys.Unescape(key));
            if (keys.TryGetValue(key, out var other)) Assert.Equal(other, id);
            else keys[key] = id;
        }
    }

    [Theory]
    [InlineData("%")]
    [InlineData("%2")]
    [InlineData("%G0")]
    public void A_malformed_key_is_a_format_error(string key) => Assert.Throws<FormatException>(() => TableKeys.Unescape(key));
}
