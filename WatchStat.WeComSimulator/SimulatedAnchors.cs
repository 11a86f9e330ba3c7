using System.Collections.Concurrent;

namespace WatchStat.WeComSimulator;

/// <summary>
/// What <c>living/get_living_info</c> answers for a live (path/96835), every field. Times are unix seconds.
/// status: 0 scheduled, 1 live, 2 ended, 3 expired, 4 cancelled; replay_status (open_replay = 1): 0 ready,
/// 1 generating, 2 deleted, 3 failed; type: 0 general, 1 small class, 2 large class, 3 training, 4 event.
/// </summary>
public sealed record SimulatedLivingInfo(
    string LivingId,
    string AnchorUserId,
    string Theme,
    long LivingStart,
    int LivingDuration,
    int Status,
    long ReserveStart,
    int ReserveLivingDuration,
    string Description,
    int MainDepartment,
    int ViewerNum,
    int CommentNum,
    int MicNum,
    int OpenReplay,
    int ReplayStatus,
    int Type,
    string PushStreamUrl,
    int OnlineCount,
    int SubscribeCount)
{
    /// <summary>When the live ended (start + duration); meaningful for status 2.</summary>
    public DateTimeOffset EndedAt => DateTimeOffset.FromUnixTimeSeconds(LivingStart + LivingDuration);
}

/// <summary>
/// Anchors and the lives they created, for the discovery APIs. Each anchor's lives are generated once when it is
/// added, from its index and the clock at that moment: every status, start times spread over the past weeks.
/// Their livingids follow the <c>{M}m{X}x</c> convention, so <c>get_watch_stat</c> answers for them too.
/// </summary>
public sealed class SimulatedAnchors(TimeProvider time)
{
    private static readonly string[] Themes = ["新品发布会", "季度全员大会", "销售技巧培训", "产品公开课", "客户答谢直播", "安全生产培训", "年度战略分享"];

    // By (corpid, userid); corpid "" for an anchor every corp sees.
    private readonly ConcurrentDictionary<(string CorpId, string UserId), SimulatedLivingInfo[]> _byAnchor = new();
    // Where each anchor's live sits in its anchor's array, so a status change shows in LivesOf and Info alike; and
    // whose corp it is ("" for every corp's).
    private readonly ConcurrentDictionary<string, (SimulatedLivingInfo[] Lives, int Index, string CorpId)> _byLive = new(StringComparer.Ordinal);
    // Status changes of lives that are not an anchor's (the id convention, PUT /sim/lives), by (the live's corpid or "", livingid):
    // the same livingid registered for two corps is two lives.
    private readonly ConcurrentDictionary<(string CorpId, string LivingId), SimulatedLivingInfo> _changed = new();
    private readonly Lock _statusLock = new();

    /// <summary>
    /// Adds an anchor with <paramref name="lives"/> lives. Live i: status by i % 10 (0 scheduled, 1 live,
    /// 2 expired, 3 cancelled, otherwise ended); the ended ones started i × <paramref name="spacing"/> ago
    /// (default 7 hours, so 150 lives span six weeks; 58.4 hours spread 300 lives over two years) and lasted an hour.
    /// Generated in one pass, O(<paramref name="lives"/>). Adding an anchor again replaces its lives.
    /// </summary>
    /// <param name="corpId">
    /// The anchor's corp: only that corp's tokens list its lives (get_user_all_livingid), read their info or their
    /// stats, as userids are only unique within a corp. Its livingids carry the corpid
    /// (<c>lv-{corpid}-{userid}-0000-3m2x</c>), since WeCom's are unique across corps. null: an anchor every corp sees,
    /// with livingids <c>lv-{userid}-0000-3m2x</c>, as before corps were told apart.
    /// </param>
    /// <exception cref="ArgumentException">
    /// <paramref name="lives"/> is negative, <paramref name="spacing"/> is under a second, or the oldest live would
    /// start before the year 1 (what a DateTimeOffset holds).
    /// </exception>
    public IReadOnlyList<SimulatedLivingInfo> Add(string anchorUserId, int lives, TimeSpan? spacing = null, string? corpId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(anchorUserId);
        ArgumentOutOfRangeException.ThrowIfNegative(lives);
        if (corpId is { Length: 0 }) throw new ArgumentException("corpId must be null or non-empty", nameof(corpId));
        if (spacing is { } given && given < TimeSpan.FromSeconds(1))
            throw new ArgumentOutOfRangeException(nameof(spacing), given, "spacing must be at least a second");
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var step = (long)(spacing ?? TimeSpan.FromHours(7)).TotalSeconds;
        if (lives > 1 && step > (now - DateTimeOffset.MinValue.ToUnixTimeSeconds()) / (lives - 1))
            throw new ArgumentOutOfRangeException(nameof(spacing), spacing, $"{lives} lives {spacing ?? TimeSpan.FromHours(7)} apart would start before the year 1");
        var prefix = corpId is null ? $"lv-{anchorUserId}" : $"lv-{corpId}-{anchorUserId}";
        var list = new SimulatedLivingInfo[lives];
        for (var i = 0; i < lives; i++)
        {
            var livingId = $"{prefix}-{i:D4}-{3 + i % 5}m{2 + i % 3}x";
            var status = (i % 10) switch { 0 => 0, 1 => 1, 2 => 3, 3 => 4, _ => 2 };
            var start = status switch
            {
                0 => now + 3600 * (i + 1),   // scheduled ahead
                1 => now - 1800,             // on air
                _ => now - step * i,         // in the past
            };
            var duration = status == 2 ? 3600 : status == 1 ? 1800 : 0;
            var openReplay = i % 2;
            var info = new SimulatedLivingInfo(
                livingId, anchorUserId, $"{Themes[i % Themes.Length]} #{i}", start, duration, status,
                ReserveStart: start, ReserveLivingDuration: 3600, Description: $"模拟直播 {i}：{anchorUserId}",
                MainDepartment: 1 + i % 4, ViewerNum: status == 2 ? 5 + i % 7 : 0, CommentNum: status == 2 ? i % 5 : 0, MicNum: status == 2 ? i % 2 : 0,
                OpenReplay: openReplay, ReplayStatus: openReplay == 1 ? i % 4 : 0, Type: i % 5,
                PushStreamUrl: $"rtmp://push.example.invalid/live/{livingId}?key=sim", OnlineCount: status == 1 ? 42 : 0, SubscribeCount: 10 + i % 30);
            list[i] = info;
            _byLive[livingId] = (list, i, corpId ?? "");
        }

        if (_byAnchor.TryGetValue((corpId ?? "", anchorUserId), out var replaced))
        {
            // Lives the anchor had before and has no longer (more of them then): gone, as the id convention
            // lv-...-{i:D4}-... gives the same livingids to the lives both lists have.
            foreach (var old in replaced)
            {
                if (_byLive.TryGetValue(old.LivingId, out var slot) && ReferenceEquals(slot.Lives, replaced))
                {
                    _byLive.TryRemove(KeyValuePair.Create(old.LivingId, slot));
                }
            }
        }

        _byAnchor[(corpId ?? "", anchorUserId)] = list;
        return list;
    }

    /// <summary>The lives of the anchor every corp sees (added without a corpid).</summary>
    public IReadOnlyList<SimulatedLivingInfo> LivesOf(string anchorUserId) => LivesOf(anchorUserId, null);

    /// <summary>
    /// The lives get_user_all_livingid lists for <paramref name="anchorUserId"/> to a token of <paramref name="corpId"/>:
    /// that corp's anchor of this userid if it has one, else the anchor every corp sees; never another corp's anchor.
    /// </summary>
    public IReadOnlyList<SimulatedLivingInfo> LivesOf(string anchorUserId, string? corpId) =>
        (!string.IsNullOrEmpty(corpId) ? _byAnchor.GetValueOrDefault((corpId, anchorUserId)) : null)
        ?? _byAnchor.GetValueOrDefault(("", anchorUserId))
        ?? [];

    /// <summary>The corp of an anchor's live: "" for an anchor every corp sees, null when the live is no anchor's.</summary>
    internal string? CorpOf(string livingId) => _byLive.TryGetValue(livingId, out var slot) ? slot.CorpId : null;

    /// <summary>
    /// The info of an anchor's live; for any other live with viewers (the id convention), an ended live of yesterday,
    /// or what <see cref="SetStatus"/> made of it.
    /// </summary>
    public SimulatedLivingInfo? Info(string livingId, SimulatedLive? live)
    {
        if (_byLive.TryGetValue(livingId, out var slot)) return slot.Lives[slot.Index];
        if (live is null) return null;
        if (_changed.TryGetValue((live.Spec.CorpId ?? "", livingId), out var changed)) return changed with { ViewerNum = live.Total };
        var start = time.GetUtcNow().AddDays(-1).ToUnixTimeSeconds();
        return OtherLive(livingId, live, start);
    }

    /// <summary>
    /// Sets a live's status (0 scheduled, 1 live, 2 ended, 4 cancelled), as a <c>living_status_change</c> callback
    /// announces it, and returns its info afterwards; null (nothing changed) when the live is neither an anchor's nor
    /// <paramref name="live"/>. 1: on air from now (duration 0), unless it already was. 2: it ended now, its start
    /// kept (an hour ago for a live of the id convention that had no status yet) and its duration the time since, at
    /// least 1 s; a live that had already ended is left as it was. 0: scheduled an hour ahead unless its start is
    /// still ahead. 4: cancelled, duration 0.
    /// </summary>
    public SimulatedLivingInfo? SetStatus(string livingId, SimulatedLive? live, int status)
    {
        ArgumentNullException.ThrowIfNull(livingId);
        if (status is not (0 or 1 or 2 or 4))
            throw new ArgumentOutOfRangeException(nameof(status), status, "A live's status changes to 0, 1, 2 or 4.");
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        lock (_statusLock)
        {
            if (_byLive.TryGetValue(livingId, out var slot))
            {
                return slot.Lives[slot.Index] = WithStatus(slot.Lives[slot.Index], status, now);
            }
            if (live is null) return null;
            var key = (live.Spec.CorpId ?? "", livingId);
            var changed = WithStatus(_changed.GetValueOrDefault(key) ?? OtherLive(livingId, live, now - 3600), status, now);
            _changed[key] = changed;
            return changed with { ViewerNum = live.Total };
        }
    }

    private static SimulatedLivingInfo OtherLive(string livingId, SimulatedLive live, long start) =>
        new(livingId, "sim-anchor", "模拟直播", start, 3600, 2, start, 3600, "", 1, live.Total, 0, 0, 0, 0, 0, "", 0, 0);

    private static SimulatedLivingInfo WithStatus(SimulatedLivingInfo info, int status, long now)
    {
        switch (status)
        {
            case 0:
                var reserved = info.LivingStart > now ? info.LivingStart : now + 3600;
                return info with { Status = 0, LivingStart = reserved, ReserveStart = reserved, LivingDuration = 0, OnlineCount = 0 };
            case 1:
                return info.Status == 1 ? info : info with { Status = 1, LivingStart = now, LivingDuration = 0 };
            case 2:
                if (info.Status == 2) return info;
                var start = Math.Min(info.LivingStart, now - 1);
                return info with { Status = 2, LivingStart = start, LivingDuration = (int)Math.Min(now - start, int.MaxValue), OnlineCount = 0 };
            default:
                return info with { Status = status, LivingDuration = 0, OnlineCount = 0 };
        }
    }
}
