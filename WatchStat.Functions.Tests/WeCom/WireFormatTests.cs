using System.Text.Json;
using WatchStat.WeCom;

namespace WatchStat.Tests.WeCom;

public sealed class WireFormatTests
{
    [Fact]
    public void Unknown_fields_are_ignored_and_absent_ones_tolerated()
    {
        const string json = """
            {"errcode":0,"errmsg":"ok","ending":0,"next_key":"k1","surprise":{"a":[1,2]},
             "stat_info":{"users":[{"userid":"u1","watch_time":30,"extra":true}],
                          "external_users":[{"external_userid":"wm1","type":2,"watch_time":"12"}]}}
            """;

        var page = JsonSerializer.Deserialize(json, WeComJsonContext.Default.WatchStatResult)!;

        Assert.False(page.IsLastPage);
        var user = Assert.Single(page.Users);
        Assert.Equal(("u1", 30, 0, 0, (string?)null, (string?)null), (user.UserId, user.WatchTime, user.IsComment, user.IsMic, user.InvitorUserId, user.InvitorExternalUserId));
        var external = Assert.Single(page.ExternalUsers);
        Assert.Equal(("wm1", 2, (string?)null, 12), (external.ExternalUserId, external.Type, external.Name, external.WatchTime));
    }

    [Fact]
    public void A_missing_stat_info_is_an_empty_page()
    {
        var page = JsonSerializer.Deserialize("""{"errcode":0,"errmsg":"ok","ending":1}""", WeComJsonContext.Default.WatchStatResult)!;

        Assert.True(page.IsLastPage);
        Assert.Empty(page.Users);
        Assert.Empty(page.ExternalUsers);
        Assert.Null(page.NextKey);
    }

    [Theory]
    [InlineData("\"NEXT_KEY\"", "NEXT_KEY")]
    [InlineData("12345678901234567890123", "12345678901234567890123")]
    [InlineData("1.50", "1.50")]
    [InlineData("\"0\"", "0")]
    public void Next_key_is_kept_as_the_exact_text_WeCom_sent(string jsonValue, string expected)
    {
        var page = JsonSerializer.Deserialize($$"""{"errcode":0,"ending":0,"next_key":{{jsonValue}}}""", WeComJsonContext.Default.WatchStatResult)!;

        Assert.Equal(expected, page.NextKey);
    }

    [Fact]
    public void The_request_body_uses_WeComs_names()
    {
        var json = JsonSerializer.Serialize(new WatchStatRequest("lv1", "nk_x"), WeComJsonContext.Default.WatchStatRequest);

        Assert.Equal("""{"livingid":"lv1","next_key":"nk_x"}""", json);
    }
}
