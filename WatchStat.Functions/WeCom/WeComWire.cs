using System.Text.Json.Serialization;

namespace WatchStat.WeCom;

// Wire records for WeCom's server API, named after its JSON exactly (snake_case).
// Every field the API pages document is here; unknown fields are ignored and absent ones keep their defaults.

/// <summary>The envelope every WeCom answer carries, also on failure.</summary>
public record WeComResult
{
    [JsonPropertyName("errcode")] public int ErrCode { get; init; }
    [JsonPropertyName("errmsg")] public string? ErrMsg { get; init; }
}

/// <summary><c>GET /cgi-bin/gettoken</c> (path/91039).</summary>
public sealed record TokenResult : WeComResult
{
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("expires_in")] public int ExpiresIn { get; init; }

    // A record's generated ToString would print the token; this one never does.
    protected override bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("errcode = ").Append(ErrCode).Append(", expires_in = ").Append(ExpiresIn);
        return true;
    }
}

/// <summary>Body of <c>POST /cgi-bin/living/get_watch_stat</c> (path/96836).</summary>
public sealed record WatchStatRequest(
    [property: JsonPropertyName("livingid")] string LivingId,
    [property: JsonPropertyName("next_key")] string NextKey);

/// <summary>One page of <c>living/get_watch_stat</c>.</summary>
public sealed record WatchStatResult : WeComResult
{
    /// <summary>0: more to fetch; 1: all fetched. The only signal of the end.</summary>
    [JsonPropertyName("ending")] public int Ending { get; init; }

    /// <summary>Opaque cursor for the next call; numbers are kept as their text.</summary>
    [JsonPropertyName("next_key")]
    [JsonConverter(typeof(OpaqueStringConverter))]
    public string? NextKey { get; init; }

    [JsonPropertyName("stat_info")] public WatchStatInfo? StatInfo { get; init; }

    [JsonIgnore] public bool IsLastPage => Ending == 1;
    [JsonIgnore] public IReadOnlyList<WatchStatMember> Users => StatInfo?.Users ?? [];
    [JsonIgnore] public IReadOnlyList<WatchStatExternalUser> ExternalUsers => StatInfo?.ExternalUsers ?? [];
}

public sealed record WatchStatInfo
{
    [JsonPropertyName("users")] public IReadOnlyList<WatchStatMember>? Users { get; init; }
    [JsonPropertyName("external_users")] public IReadOnlyList<WatchStatExternalUser>? ExternalUsers { get; init; }
}

/// <summary>stat_info.users[]: a member of the enterprise who watched.</summary>
public sealed record WatchStatMember
{
    [JsonPropertyName("userid")] public string UserId { get; init; } = "";
    /// <summary>Seconds watched.</summary>
    [JsonPropertyName("watch_time")] public int WatchTime { get; init; }
    /// <summary>0 no, 1 yes.</summary>
    [JsonPropertyName("is_comment")] public int IsComment { get; init; }
    /// <summary>0 no, 1 yes (spoke on the mic).</summary>
    [JsonPropertyName("is_mic")] public int IsMic { get; init; }
    [JsonPropertyName("invitor_userid")] public string? InvitorUserId { get; init; }
    [JsonPropertyName("invitor_external_userid")] public string? InvitorExternalUserId { get; init; }
}

/// <summary>stat_info.external_users[]: a viewer from outside the enterprise.</summary>
public sealed record WatchStatExternalUser
{
    [JsonPropertyName("external_userid")] public string ExternalUserId { get; init; } = "";
    /// <summary>1 WeChat user, 2 WeCom user.</summary>
    [JsonPropertyName("type")] public int Type { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("watch_time")] public int WatchTime { get; init; }
    [JsonPropertyName("is_comment")] public int IsComment { get; init; }
    [JsonPropertyName("is_mic")] public int IsMic { get; init; }
    /// <summary>Present when the invitor is a member ("推广产品" lives only).</summary>
    [JsonPropertyName("invitor_userid")] public string? InvitorUserId { get; init; }
    /// <summary>Present when the invitor is not a member ("推广产品" lives only).</summary>
    [JsonPropertyName("invitor_external_userid")] public string? InvitorExternalUserId { get; init; }
}
