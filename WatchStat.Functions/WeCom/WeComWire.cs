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

/// <summary>Body of <c>POST /cgi-bin/living/get_user_all_livingid</c> (path/96834).</summary>
public sealed record UserAllLivingIdRequest(
    [property: JsonPropertyName("userid")] string UserId,
    [property: JsonPropertyName("cursor")] string Cursor,
    [property: JsonPropertyName("limit")] int Limit);

/// <summary>One page of an anchor's lives; <see cref="NextCursor"/> empty on the last page.</summary>
public sealed record UserAllLivingIdResult : WeComResult
{
    [JsonPropertyName("next_cursor")]
    [JsonConverter(typeof(OpaqueStringConverter))]
    public string? NextCursor { get; init; }

    [JsonPropertyName("livingid_list")] public IReadOnlyList<string>? LivingIds { get; init; }
}

/// <summary><c>GET /cgi-bin/living/get_living_info</c> (path/96835).</summary>
public sealed record LivingInfoResult : WeComResult
{
    [JsonPropertyName("living_info")] public LivingInfo? LivingInfo { get; init; }
}

/// <summary>A live's details, every field of the API page. Times are unix seconds.</summary>
public sealed record LivingInfo
{
    [JsonPropertyName("theme")] public string? Theme { get; init; }
    [JsonPropertyName("living_start")] public long LivingStart { get; init; }
    /// <summary>Seconds the live lasted.</summary>
    [JsonPropertyName("living_duration")] public int LivingDuration { get; init; }

    /// <summary>0 scheduled, 1 live, 2 ended, 3 expired, 4 cancelled.</summary>
    [JsonPropertyName("status")] public int? StatusValue { get; init; }

    /// <summary>The API page's sample spells the key <c>"status "</c>, with a space: accepted too, in case WeCom does.</summary>
    [JsonPropertyName("status ")] public int? StatusWithSpace { get; init; }

    [JsonIgnore] public int Status => StatusValue ?? StatusWithSpace ?? -1;

    [JsonPropertyName("reserve_start")] public long ReserveStart { get; init; }
    [JsonPropertyName("reserve_living_duration")] public int ReserveLivingDuration { get; init; }
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("anchor_userid")] public string? AnchorUserId { get; init; }
    [JsonPropertyName("main_department")] public long MainDepartment { get; init; }
    [JsonPropertyName("viewer_num")] public int ViewerNum { get; init; }
    [JsonPropertyName("comment_num")] public int CommentNum { get; init; }
    [JsonPropertyName("mic_num")] public int MicNum { get; init; }
    /// <summary>1 when replay is open.</summary>
    [JsonPropertyName("open_replay")] public int OpenReplay { get; init; }
    /// <summary>With open_replay = 1: 0 ready, 1 generating, 2 deleted, 3 failed.</summary>
    [JsonPropertyName("replay_status")] public int ReplayStatus { get; init; }
    /// <summary>0 general, 1 small class, 2 large class, 3 training, 4 event.</summary>
    [JsonPropertyName("type")] public int Type { get; init; }
    /// <summary>The stream's push address: it carries the push key, so it is read but never stored or logged.</summary>
    [JsonPropertyName("push_stream_url")] public string? PushStreamUrl { get; init; }
    [JsonPropertyName("online_count")] public int OnlineCount { get; init; }
    [JsonPropertyName("subscribe_count")] public int SubscribeCount { get; init; }

    // The generated ToString would print push_stream_url, push key and all.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("theme = ").Append(Theme).Append(", status = ").Append(Status).Append(", living_start = ").Append(LivingStart);
        return true;
    }
}

/// <summary>Body of <c>POST /cgi-bin/service/get_suite_token</c> (a third-party app's suite access token).</summary>
public sealed record SuiteTokenRequest(
    [property: JsonPropertyName("suite_id")] string SuiteId,
    [property: JsonPropertyName("suite_secret")] string SuiteSecret,
    [property: JsonPropertyName("suite_ticket")] string SuiteTicket)
{
    // Holds the suite's secret and ticket: never printed.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("suite_id = ").Append(SuiteId);
        return true;
    }
}

/// <summary>Answer of <c>service/get_suite_token</c>.</summary>
public sealed record SuiteTokenResult : WeComResult
{
    [JsonPropertyName("suite_access_token")] public string? SuiteAccessToken { get; init; }
    [JsonPropertyName("expires_in")] public int ExpiresIn { get; init; }

    protected override bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("errcode = ").Append(ErrCode).Append(", expires_in = ").Append(ExpiresIn);
        return true;
    }
}

/// <summary>Body of <c>POST /cgi-bin/service/get_permanent_code</c>: the temporary auth code of a create_auth event.</summary>
public sealed record PermanentCodeRequest([property: JsonPropertyName("auth_code")] string AuthCode)
{
    public override string ToString() => nameof(PermanentCodeRequest);
}

/// <summary>Answer of <c>service/get_permanent_code</c>: the corp that authorized the suite and its permanent code (no errcode on success).</summary>
public sealed record PermanentCodeResult : WeComResult
{
    [JsonPropertyName("permanent_code")] public string? PermanentCode { get; init; }
    [JsonPropertyName("auth_corp_info")] public AuthCorpInfo? AuthCorpInfo { get; init; }

    protected override bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("errcode = ").Append(ErrCode).Append(", corpid = ").Append(AuthCorpInfo?.CorpId);
        return true;
    }
}

public sealed record AuthCorpInfo
{
    [JsonPropertyName("corpid")] public string? CorpId { get; init; }
    [JsonPropertyName("corp_name")] public string? CorpName { get; init; }
}

/// <summary>Body of <c>POST /cgi-bin/service/get_corp_token</c>: an authorized corp and its permanent code.</summary>
public sealed record CorpTokenRequest(
    [property: JsonPropertyName("auth_corpid")] string AuthCorpId,
    [property: JsonPropertyName("permanent_code")] string PermanentCode)
{
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("auth_corpid = ").Append(AuthCorpId);
        return true;
    }
}
