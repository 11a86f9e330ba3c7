using System.Globalization;
using System.Text;
using System.Text.Json;

namespace WatchStat.WeComSimulator;

/// <summary>
/// <c>living/get_user_all_livingid</c> (path/96834) and <c>living/get_living_info</c> (path/96835): how a harvester
/// finds the lives to harvest.
/// </summary>
internal static class DiscoveryApi
{
    private const int MaxLimit = 100;

    /// <summary>POST {"userid", "cursor", "limit"} → {"next_cursor", "livingid_list"}; next_cursor "" on the last page.</summary>
    public static async Task GetUserAllLivingIdAsync(ApiCall call)
    {
        string? userId;
        string? cursor;
        int limit;
        try
        {
            using var body = await JsonDocument.ParseAsync(call.Context.Request.Body, default, call.Context.RequestAborted).ConfigureAwait(false);
            var root = body.RootElement;
            userId = root.TryGetProperty("userid", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
            cursor = root.TryGetProperty("cursor", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            limit = root.TryGetProperty("limit", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetInt32() : MaxLimit;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            await WeComApi.WriteErrorAsync(call, WeComError.DataFormatError).ConfigureAwait(false);
            return;
        }

        if (string.IsNullOrEmpty(userId))
        {
            await WeComApi.WriteErrorAsync(call, new WeComError(40003, "invalid userid")).ConfigureAwait(false);
            return;
        }
        if (limit is < 1 or > MaxLimit)
        {
            await WeComApi.WriteErrorAsync(call, new WeComError(40058, "invalid limit, must be 1-100")).ConfigureAwait(false);
            return;
        }

        var lives = call.State.Anchors.LivesOf(userId, call.CorpId);
        var offset = 0;
        if (!string.IsNullOrEmpty(cursor) && !TryDecodeCursor(cursor, userId, out offset))
        {
            await WeComApi.WriteErrorAsync(call, new WeComError(40058, "invalid cursor")).ConfigureAwait(false);
            return;
        }

        var end = Math.Min(lives.Count, offset + limit);
        var next = end < lives.Count ? EncodeCursor(userId, end) : "";
        await WeComApi.WriteAsync(call.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("errcode", 0);
            writer.WriteString("errmsg", "ok");
            writer.WriteString("next_cursor", next);
            writer.WriteStartArray("livingid_list");
            for (var i = offset; i < end; i++) writer.WriteStringValue(lives[i].LivingId);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>GET ?livingid= → {"living_info": {...}} with every documented field.</summary>
    public static Task GetLivingInfoAsync(ApiCall call)
    {
        string? livingId = call.Context.Request.Query["livingid"];
        var info = string.IsNullOrEmpty(livingId) ? null : call.State.LivingInfo(livingId, call.CorpId);
        if (info is null) return WeComApi.WriteErrorAsync(call, WeComError.InvalidLivingId);

        return WeComApi.WriteAsync(call.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("errcode", 0);
            writer.WriteString("errmsg", "ok");
            writer.WriteStartObject("living_info");
            writer.WriteString("theme", info.Theme);
            writer.WriteNumber("living_start", info.LivingStart);
            writer.WriteNumber("living_duration", info.LivingDuration);
            writer.WriteNumber("status", info.Status);
            writer.WriteNumber("reserve_start", info.ReserveStart);
            writer.WriteNumber("reserve_living_duration", info.ReserveLivingDuration);
            writer.WriteString("description", info.Description);
            writer.WriteString("anchor_userid", info.AnchorUserId);
            writer.WriteNumber("main_department", info.MainDepartment);
            writer.WriteNumber("viewer_num", info.ViewerNum);
            writer.WriteNumber("comment_num", info.CommentNum);
            writer.WriteNumber("mic_num", info.MicNum);
            writer.WriteNumber("open_replay", info.OpenReplay);
            writer.WriteNumber("replay_status", info.ReplayStatus);
            writer.WriteNumber("type", info.Type);
            writer.WriteString("push_stream_url", info.PushStreamUrl);
            writer.WriteNumber("online_count", info.OnlineCount);
            writer.WriteNumber("subscribe_count", info.SubscribeCount);
            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    // Opaque to clients: base64url of "userid|offset".
    private static string EncodeCursor(string userId, int offset) =>
        System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{userId}|{offset.ToString(CultureInfo.InvariantCulture)}"));

    private static bool TryDecodeCursor(string cursor, string userId, out int offset)
    {
        offset = 0;
        try
        {
            var text = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(cursor));
            var bar = text.LastIndexOf('|');
            return bar > 0 && text[..bar] == userId && int.TryParse(text.AsSpan(bar + 1), NumberStyles.None, CultureInfo.InvariantCulture, out offset);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
