using Azure.Data.Tables;
using WatchStat.Storage;

namespace WatchStat.Reports;

/// <summary>One viewer row as the report needs it; nothing else of the row is kept.</summary>
/// <param name="Id">The member's userid or the external user's external_userid.</param>
/// <param name="Name">An external user's name, when WeCom gives one.</param>
/// <param name="ExternalType">An external user's kind: 1 WeChat, 2 WeCom (企业微信).</param>
public readonly record struct ReportViewer(
    bool IsMember, int WatchTimeSeconds, bool IsComment, bool IsMic, string? InvitorUserId, string? InvitorExternalUserId,
    string Id = "", string? Name = null, int? ExternalType = null)
{
    public static ReportViewer From(TableEntity row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var isMember = ViewerRows.IsMemberRowKey(row.RowKey);
        return new(
            isMember,
            row.GetInt32("WatchTimeSeconds") ?? 0,
            row.GetBoolean("IsComment") == true,
            row.GetBoolean("IsMic") == true,
            row.GetString("InvitorUserId"),
            row.GetString("InvitorExternalUserId"),
            (isMember ? row.GetString("UserId") : row.GetString("ExternalUserId")) ?? "",
            row.GetString("Name"),
            row.GetInt32("ExternalType"));
    }
}

/// <summary>
/// The figures of one live, computed from its viewer rows as they stream by: counts and sums as they come, and
/// the watch times (one int per viewer) for the medians and the histogram. Nothing else of a row is held, so a
/// live of 100,000 viewers costs well under a megabyte.
/// </summary>
/// <param name="livingId">The live.</param>
/// <param name="durationSeconds">How long the live lasted (the Livings row's LivingDurationSeconds), or null when unknown.</param>
public sealed class LiveReport(string livingId, int? durationSeconds)
{
    /// <summary>How many inviters the report lists.</summary>
    public const int TopInviterCount = 10;

    public const string MemberKind = "member";
    public const string ExternalKind = "external";

    private readonly int? _duration = durationSeconds is > 0 ? durationSeconds : null;
    private readonly Accumulator _members = new();
    private readonly Accumulator _externals = new();
    private readonly Dictionary<(string Kind, string Id), InviterTally> _inviters = [];
    private readonly Dictionary<string, string> _externalNames = new(StringComparer.Ordinal);
    private int _withInvitor;
    private int _weChat;
    private int _weCom;

    /// <summary>Viewer rows added so far.</summary>
    public int Viewers => _members.Viewers + _externals.Viewers;

    public void Add(in ReportViewer viewer)
    {
        (viewer.IsMember ? _members : _externals).Add(viewer, _duration);
        if (!viewer.IsMember)
        {
            if (viewer.ExternalType == ExternalTypes.WeChat) _weChat++;
            else if (viewer.ExternalType == ExternalTypes.WeCom) _weCom++;
            // An external inviter is shown by name when its own viewer row has one.
            if (viewer.Name is { Length: > 0 } name && viewer.Id.Length > 0) _externalNames[viewer.Id] = name;
        }

        // A viewer names one invitor; should WeCom ever give both fields, the member invitor is the one counted.
        (string Kind, string Id)? invitor = viewer.InvitorUserId is { Length: > 0 } user ? (MemberKind, user)
            : viewer.InvitorExternalUserId is { Length: > 0 } external ? (ExternalKind, external)
            : null;
        if (invitor is not { } key) return;
        _withInvitor++;
        if (!_inviters.TryGetValue(key, out var tally)) _inviters[key] = tally = new InviterTally();
        tally.Viewers++;
        tally.WatchTimeSeconds += viewer.WatchTimeSeconds;
    }

    public void Add(TableEntity row) => Add(ReportViewer.From(row));

    public LiveReportResult Build()
    {
        var members = _members.WatchTimes();
        var externals = _externals.WatchTimes();
        var all = new int[members.Length + externals.Length];
        members.CopyTo(all, 0);
        externals.CopyTo(all, members.Length);
        Array.Sort(all);

        var histogram = Histogram(_duration);
        var counts = new int[histogram.Count];
        foreach (var seconds in all) counts[BucketOf(histogram, seconds)]++;

        return new LiveReportResult(
            livingId,
            _duration,
            Figures(Accumulator.Sum(_members, _externals), all),
            Figures(_members, members),
            Figures(_externals, externals),
            new WatchTimeHistogram(
                _duration is null ? "minutes" : "duration",
                [.. histogram.Select((b, i) => b with { Viewers = counts[i] })]),
            _withInvitor == 0 ? null : new InviterFigures(
                _withInvitor,
                _inviters.Count,
                [.. _inviters
                    .OrderByDescending(i => i.Value.Viewers)
                    .ThenByDescending(i => i.Value.WatchTimeSeconds)
                    .ThenBy(i => i.Key.Kind, StringComparer.Ordinal)
                    .ThenBy(i => i.Key.Id, StringComparer.Ordinal)
                    .Take(TopInviterCount)
                    .Select((i, rank) => new TopInviter(rank + 1, i.Key.Kind, i.Key.Id, i.Value.Viewers, i.Value.WatchTimeSeconds,
                        i.Key.Kind == ExternalKind ? _externalNames.GetValueOrDefault(i.Key.Id) : null))]),
            new ExternalKinds(_weChat, _weCom, _externals.Viewers - _weChat - _weCom));
    }

    /// <summary>The median of sorted values: the middle one, or the mean of the two middle ones; 0 for none.</summary>
    public static double Median(IReadOnlyList<int> sorted)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) return 0;
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + (double)sorted[middle]) / 2;
    }

    /// <summary>
    /// The histogram's buckets, [FromSeconds, ToSeconds): with a known duration, its deciles (the last one
    /// includes the full duration) and a bucket for more than the whole live (replays add watch time);
    /// otherwise 0-5, 5-15, 15-30, 30-60 and 60+ minutes.
    /// </summary>
    public static IReadOnlyList<HistogramBucket> Histogram(int? durationSeconds)
    {
        if (durationSeconds is not { } duration || duration <= 0)
        {
            return
            [
                new("0-5 min", 0, 300, 0),
                new("5-15 min", 300, 900, 0),
                new("15-30 min", 900, 1800, 0),
                new("30-60 min", 1800, 3600, 0),
                new("60+ min", 3600, null, 0),
            ];
        }
        var d = (long)duration;
        // A viewer is in decile i when i/10 <= watch/duration < (i+1)/10: from ceil(i*d/10) seconds on.
        static int From(long d, int i) => (int)((i * d + 9) / 10);
        var buckets = new List<HistogramBucket>(11);
        for (var i = 0; i < 10; i++)
            buckets.Add(new($"{i * 10}-{(i + 1) * 10}%", From(d, i), i == 9 ? (int)d + 1 : From(d, i + 1), 0));
        buckets.Add(new(">100%", (int)d + 1, null, 0));
        return buckets;
    }

    private static int BucketOf(IReadOnlyList<HistogramBucket> buckets, int seconds)
    {
        for (var i = 0; i < buckets.Count; i++)
        {
            if (seconds >= buckets[i].FromSeconds && (buckets[i].ToSeconds is not { } to || seconds < to)) return i;
        }
        return 0; // negative watch times (never seen) count with the shortest
    }

    private ViewerFigures Figures(Accumulator group, int[] sortedWatchTimes)
    {
        var viewers = group.Viewers;
        return new ViewerFigures(
            viewers,
            group.WatchTimeSeconds,
            viewers == 0 ? 0 : group.WatchTimeSeconds / (double)viewers,
            Median(sortedWatchTimes),
            _duration is null ? null : group.WatchedHalf,
            _duration is null ? null : viewers == 0 ? 0 : group.WatchedHalf / (double)viewers,
            group.Commenters,
            group.MicSpeakers);
    }

    private sealed class InviterTally
    {
        public int Viewers;
        public long WatchTimeSeconds;
    }

    /// <summary>Running figures of one kind of viewer.</summary>
    private sealed class Accumulator
    {
        private readonly List<int> _watchTimes = [];
        private int[]? _sorted;

        public int Viewers { get; private set; }
        public long WatchTimeSeconds { get; private set; }
        public int WatchedHalf { get; private set; }
        public int Commenters { get; private set; }
        public int MicSpeakers { get; private set; }

        public void Add(in ReportViewer viewer, int? duration)
        {
            Viewers++;
            WatchTimeSeconds += viewer.WatchTimeSeconds;
            // At least half of the live, in whole numbers: no rounding decides who is in.
            if (duration is { } d && 2L * viewer.WatchTimeSeconds >= d) WatchedHalf++;
            if (viewer.IsComment) Commenters++;
            if (viewer.IsMic) MicSpeakers++;
            _watchTimes.Add(viewer.WatchTimeSeconds);
            _sorted = null;
        }

        public int[] WatchTimes()
        {
            if (_sorted is null)
            {
                _sorted = [.. _watchTimes];
                Array.Sort(_sorted);
            }
            return _sorted;
        }

        public static Accumulator Sum(Accumulator a, Accumulator b) => new()
        {
            Viewers = a.Viewers + b.Viewers,
            WatchTimeSeconds = a.WatchTimeSeconds + b.WatchTimeSeconds,
            WatchedHalf = a.WatchedHalf + b.WatchedHalf,
            Commenters = a.Commenters + b.Commenters,
            MicSpeakers = a.MicSpeakers + b.MicSpeakers,
        };
    }
}

/// <summary>
/// The report of one live, as <c>watchstat report --json</c> writes it (camelCase): see the README for the shape.
/// </summary>
/// <param name="DurationSeconds">The live's duration from the Livings table; null when unknown.</param>
public sealed record LiveReportResult(
    string LivingId,
    int? DurationSeconds,
    ViewerFigures All,
    ViewerFigures Members,
    ViewerFigures Externals,
    WatchTimeHistogram Histogram,
    InviterFigures? Inviters,
    ExternalKinds ExternalKinds);

/// <summary>External viewers by their kind: WeChat users (type 1), WeCom users of other corps (type 2), and neither given.</summary>
public sealed record ExternalKinds(int WeChat, int WeCom, int Unknown);

/// <summary>The external_type values of get_watch_stat's external users.</summary>
public static class ExternalTypes
{
    public const int WeChat = 1;
    public const int WeCom = 2;
}

/// <summary>Figures of a set of viewers (all of them, the members or the external viewers).</summary>
/// <param name="WatchedHalf">Viewers who watched at least half of the live's duration; null when the duration is unknown.</param>
/// <param name="WatchedHalfShare">WatchedHalf / Viewers (0 when there are no viewers); null when the duration is unknown.</param>
public sealed record ViewerFigures(
    int Viewers,
    long WatchTimeSeconds,
    double MeanWatchTimeSeconds,
    double MedianWatchTimeSeconds,
    int? WatchedHalf,
    double? WatchedHalfShare,
    int Commenters,
    int MicSpeakers);

/// <summary>Viewers by watch time: <c>duration</c> deciles when the duration is known, else <c>minutes</c> buckets.</summary>
public sealed record WatchTimeHistogram(string Basis, IReadOnlyList<HistogramBucket> Buckets);

/// <summary>Viewers whose watch time is in [FromSeconds, ToSeconds); ToSeconds null: no upper bound.</summary>
public sealed record HistogramBucket(string Label, int FromSeconds, int? ToSeconds, int Viewers);

/// <summary>Who brought viewers (present only when some viewer row names an invitor).</summary>
/// <param name="ViewersWithInvitor">Viewers whose row has InvitorUserId or InvitorExternalUserId.</param>
/// <param name="Inviters">Distinct invitors.</param>
/// <param name="Top">The top ten by viewers brought (then by their watch time).</param>
public sealed record InviterFigures(int ViewersWithInvitor, int Inviters, IReadOnlyList<TopInviter> Top);

/// <summary>
/// An invitor: <c>member</c> (a userid) or <c>external</c> (an external_userid), the viewers it brought and their total
/// watch time; an external invitor's name when its own viewer row has one.
/// </summary>
public sealed record TopInviter(int Rank, string Kind, string Id, int Viewers, long WatchTimeSeconds, string? Name = null);
