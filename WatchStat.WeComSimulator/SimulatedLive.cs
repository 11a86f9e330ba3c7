using System.Globalization;

namespace WatchStat.WeComSimulator;

/// <summary>The simulator's ground truth for one row of a get_watch_stat answer.</summary>
/// <param name="IsMember">true: a row of stat_info.users; false: a row of stat_info.external_users.</param>
/// <param name="Id">userid (members) or external_userid (externals).</param>
/// <param name="Type">externals: 1 (WeChat user) or 2 (WeCom user); members: 0.</param>
/// <param name="Name">externals only.</param>
/// <param name="WatchTime">Seconds, 0..DurationSeconds.</param>
/// <param name="IsComment">0 or 1.</param>
/// <param name="IsMic">0 or 1.</param>
/// <param name="InvitorUserId">invitor_userid, or null when absent.</param>
/// <param name="InvitorExternalUserId">invitor_external_userid, or null when absent.</param>
public sealed record SimulatedViewer(
    bool IsMember,
    string Id,
    int Type,
    string? Name,
    int WatchTime,
    int IsComment,
    int IsMic,
    string? InvitorUserId,
    string? InvitorExternalUserId);

/// <summary>
/// Deterministic data of one live: every viewer is computed from (livingid, index, spec) in O(1), nothing is materialized per call.
/// The sequence has Members + Externals items; members are spread evenly over it.
/// </summary>
public sealed class SimulatedLive
{
    private const int TopInviters = 5;
    private const double TopInviterShare = 0.6;

    // Salts: one per independent random decision.
    private const ulong SaltMemberName = 1;
    private const ulong SaltMemberOdd = 2;
    private const ulong SaltExternalId = 3;
    private const ulong SaltExternalOdd = 4;
    private const ulong SaltExternalName = 5;
    private const ulong SaltActivity = 6;
    private const ulong SaltFlags = 7;
    private const ulong SaltInvitor = 8;
    private const ulong SaltInvitorPick = 9;
    private const ulong SaltType = 10;
    private const ulong SaltNameKind = 11;

    private const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private readonly ulong _seed;

    // The viewers' ids and names: the live's own seed, or LiveSpec.IdSeed's so that several lives share their people.
    private readonly ulong _idSeed;

    /// <summary>Creates the live <paramref name="livingId"/> with the shape <paramref name="spec"/>.</summary>
    /// <exception cref="ArgumentException">The spec is inconsistent (negative counts, more than int.MaxValue viewers, EmptyPageEvery 1, ...).</exception>
    public SimulatedLive(string livingId, LiveSpec spec)
    {
        ArgumentNullException.ThrowIfNull(livingId);
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);
        LivingId = livingId;
        Spec = spec;
        Total = spec.Members + spec.Externals;
        _seed = StableHash.Fnv1a64(livingId);
        _idSeed = spec.IdSeed is null ? _seed : StableHash.Fnv1a64(spec.IdSeed);
    }

    /// <summary>The livingid.</summary>
    public string LivingId { get; }

    /// <summary>The shape and quirks.</summary>
    public LiveSpec Spec { get; }

    /// <summary>Members + Externals.</summary>
    public int Total { get; }

    /// <summary>Per-live value mixed into next_key check values.</summary>
    internal ulong Seed => _seed;

    /// <summary>The viewer at sequence position <paramref name="index"/> in [0, Total).</summary>
    public SimulatedViewer ViewerAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Total);
        long membersBefore = MembersBefore(index);
        return MembersBefore(index + 1L) > membersBefore
            ? Member((int)membersBefore, index)
            : External((int)(index - membersBefore), index);
    }

    /// <summary>Every distinct viewer once, in index order: what a correct harvester stores.</summary>
    public IReadOnlyList<SimulatedViewer> ExpectedViewers()
    {
        var viewers = new SimulatedViewer[Total];
        for (int i = 0; i < viewers.Length; i++)
        {
            viewers[i] = ViewerAt(i);
        }

        return viewers;
    }

    /// <summary>
    /// Pages a correct client fetches until ending=1, empty pages included.
    /// </summary>
    /// <exception cref="InvalidOperationException">The live gets stuck (<see cref="LiveSpec.StuckAtPage"/> is reached before the last page) and never ends.</exception>
    public int PageCount(int pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        long dataPages = Total == 0 ? 1 : ((long)Total + pageSize - 1) / pageSize;
        long pages = Spec.EmptyPageEvery >= 2 ? dataPages + ((dataPages - 1) / (Spec.EmptyPageEvery - 1)) : dataPages;
        if (Spec.StuckAtPage > 0 && Spec.StuckAtPage <= pages)
        {
            throw new InvalidOperationException(
                $"Live '{LivingId}' gets stuck at page {Spec.StuckAtPage.ToString(CultureInfo.InvariantCulture)} and never ends.");
        }

        return checked((int)pages);
    }

    /// <summary>true when sequence position <paramref name="index"/> holds a member.</summary>
    internal bool IsMemberAt(int index) => MembersBefore(index + 1L) > MembersBefore(index);

    /// <summary>Plans the page the cursor points at (see <see cref="LiveSpec"/> for the quirks).</summary>
    internal PagePlan PlanPage(PageCursor cursor, int pageSize)
    {
        if (Spec.StuckAtPage > 0 && cursor.Page >= Spec.StuckAtPage)
        {
            return new PagePlan(PageKind.Stuck, cursor.Offset, cursor.Offset, Ending: false, cursor, RepeatAcrossPosition: -1, RepeatWithinPosition: -1);
        }

        PageCursor following;
        if (Spec.EmptyPageEvery > 0 && cursor.Page % Spec.EmptyPageEvery == 0)
        {
            following = cursor with { Page = NextPage(cursor.Page) };
            return new PagePlan(PageKind.Empty, cursor.Offset, cursor.Offset, Ending: false, following, RepeatAcrossPosition: -1, RepeatWithinPosition: -1);
        }

        int end = (int)Math.Min((long)cursor.Offset + pageSize, Total);
        following = new PageCursor(end, NextPage(cursor.Page), cursor.Offset);
        int across = Spec.RepeatAcrossPages && cursor.PrevOffset >= 0 && cursor.PrevOffset < Total ? cursor.PrevOffset : -1;
        int within = Spec.RepeatWithinPage && end > cursor.Offset ? cursor.Offset : -1;
        return new PagePlan(PageKind.Data, cursor.Offset, end, Ending: end >= Total, following, across, within);
    }

    private static int NextPage(int page) => page == int.MaxValue ? page : page + 1;

    private long MembersBefore(long index) => Total == 0 ? 0 : index * Spec.Members / Total;

    private SimulatedViewer Member(int memberIndex, int position)
    {
        var (watch, comment, mic) = Activity(position);
        string? invitor = null;
        if (HasInvitor(position) && Spec.Members > 1)
        {
            ulong pick = StableHash.Of(_seed, position, SaltInvitorPick);
            invitor = MemberUserId(PickMember(pick, exclude: memberIndex));
        }

        return new SimulatedViewer(true, MemberUserId(memberIndex), 0, null, watch, comment, mic, invitor, null);
    }

    private SimulatedViewer External(int externalIndex, int position)
    {
        var (watch, comment, mic) = Activity(position);
        int type = StableHash.Of(_seed, position, SaltType) % 10 < 7 ? 1 : 2;
        string? invitorUser = null;
        string? invitorExternal = null;
        if (HasInvitor(position))
        {
            ulong pick = StableHash.Of(_seed, position, SaltInvitorPick);
            bool preferMember = (pick & 1) == 0;
            bool canMember = Spec.Members > 0;
            bool canExternal = Spec.Externals > 1;
            if (canMember && (preferMember || !canExternal))
            {
                invitorUser = MemberUserId(PickMember(pick >> 1, exclude: -1));
            }
            else if (canExternal)
            {
                int other = (int)((pick >> 1) % (ulong)Spec.Externals);
                if (other == externalIndex)
                {
                    other = (other + 1) % Spec.Externals;
                }

                invitorExternal = ExternalUserId(other);
            }
        }

        return new SimulatedViewer(false, ExternalUserId(externalIndex), type, ExternalName(externalIndex), watch, comment, mic, invitorUser, invitorExternal);
    }

    private (int WatchTime, int IsComment, int IsMic) Activity(int position)
    {
        ulong a = StableHash.Of(_seed, position, SaltActivity);
        ulong f = StableHash.Of(_seed, position, SaltFlags);
        int watch = Spec.DurationSeconds <= 0 || (a & 0xFFFF) % 100 < 5
            ? 0
            : 1 + (int)((a >> 16) % (ulong)Spec.DurationSeconds);
        int comment = (f & 0xFFFF) % 100 < 20 ? 1 : 0;
        int mic = ((f >> 16) & 0xFFFF) % 1000 < 30 ? 1 : 0;
        return (watch, comment, mic);
    }

    private bool HasInvitor(int position) =>
        Spec.InvitorShare > 0 && StableHash.Unit(StableHash.Of(_seed, position, SaltInvitor)) < Spec.InvitorShare;

    /// <summary>A member index: 60% among the first five members (top inviters), else uniform; never <paramref name="exclude"/>.</summary>
    private int PickMember(ulong pick, int exclude)
    {
        int members = Spec.Members;
        int top = Math.Min(TopInviters, members);
        int chosen = StableHash.Unit(StableHash.Mix(pick)) < TopInviterShare
            ? (int)((pick >> 8) % (ulong)top)
            : (int)((pick >> 8) % (ulong)members);
        return chosen == exclude ? (chosen + 1) % members : chosen;
    }

    /// <summary>Pinyin-like userid, unique per member index: letters, then the index (at least 4 digits).</summary>
    internal string MemberUserId(int memberIndex)
    {
        ulong h = StableHash.Of(_idSeed, memberIndex, SaltMemberName);
        string surname = ViewerNames.PinyinSurnames[(int)(h % (ulong)ViewerNames.PinyinSurnames.Length)];
        string given = ViewerNames.PinyinGivenNames[(int)((h >> 16) % (ulong)ViewerNames.PinyinGivenNames.Length)];
        string id = string.Concat(surname, given, memberIndex.ToString("D4", CultureInfo.InvariantCulture));
        if (Spec.OddIds)
        {
            // Inserted inside the letters (never first or last): the digits keep the id unique.
            ulong odd = StableHash.Of(_idSeed, memberIndex, SaltMemberOdd);
            if (odd % 40 == 0)
            {
                int letters = surname.Length + given.Length;
                string c = ViewerNames.OddChars[(int)((odd >> 8) % (ulong)ViewerNames.OddChars.Length)];
                id = id.Insert(1 + (int)((odd >> 16) % (ulong)letters), c);
            }
        }

        return id;
    }

    /// <summary>"wm" + 30 chars of [A-Za-z0-9_-]; six of them encode a bijection of the index, so ids are unique.</summary>
    internal string ExternalUserId(int externalIndex)
    {
        uint unique = Permute((uint)externalIndex, (uint)_idSeed ^ (uint)(_idSeed >> 32));
        ulong r0 = StableHash.Of(_idSeed, externalIndex, SaltExternalId);
        ulong r1 = StableHash.Mix(r0);
        ulong r2 = StableHash.Mix(r1);
        string id = string.Create(32, (unique, r0, r1, r2), static (span, s) =>
        {
            span[0] = 'w';
            span[1] = 'm';
            int u = 0;
            for (int i = 0; i < 30; i++)
            {
                int sixBits;
                if (i % 5 == 2)
                {
                    // Positions 2, 7, 12, 17, 22, 27 of the 30: the unique 32 bits (+4 noise bits in the last one).
                    sixBits = u < 5 ? (int)((s.unique >> (u * 6)) & 63) : (int)((s.unique >> 30) | ((s.r2 & 0xF) << 2));
                    u++;
                }
                else
                {
                    ulong noise = (i / 10) switch { 0 => s.r0, 1 => s.r1, _ => s.r2 };
                    sixBits = (int)((noise >> ((i % 10) * 6)) & 63);
                }

                span[2 + i] = Base64UrlAlphabet[sixBits];
            }
        });
        if (Spec.OddIds)
        {
            ulong odd = StableHash.Of(_idSeed, externalIndex, SaltExternalOdd);
            if (odd % 40 == 0)
            {
                string c = ViewerNames.OddChars[(int)((odd >> 8) % (ulong)ViewerNames.OddChars.Length)];
                id = id.Insert(2 + (int)((odd >> 16) % 30), c);
            }
        }

        return id;
    }

    /// <summary>Chinese 姓+名; about 10% with emoji, 3% with a comma and/or double quote, 1.5% long (30+ chars).</summary>
    private string ExternalName(int externalIndex)
    {
        if (Spec.ExternalNames is { } names && externalIndex < names.Count) return names[externalIndex];
        ulong h = StableHash.Of(_idSeed, externalIndex, SaltExternalName);
        string surname = ViewerNames.Surnames[(int)(h % (ulong)ViewerNames.Surnames.Length)];
        string given = ViewerNames.GivenNames[(int)((h >> 8) % (ulong)ViewerNames.GivenNames.Length)];
        ulong k = StableHash.Of(_idSeed, externalIndex, SaltNameKind);
        double kind = StableHash.Unit(k);
        int pick = (int)(k & 0xFF);
        if (kind < 0.10)
        {
            string emoji = ViewerNames.Emoji[pick % ViewerNames.Emoji.Length];
            return (pick & 0x10) == 0 ? string.Concat(surname, given, emoji) : string.Concat(emoji, surname, given);
        }

        if (kind < 0.13)
        {
            string english = ViewerNames.EnglishNames[pick % ViewerNames.EnglishNames.Length];
            return (pick % 3) switch
            {
                0 => string.Concat(surname, ", \"", english, "\""),
                1 => string.Concat(surname, given, ",销售部"),
                _ => string.Concat("\"", surname, given, "\""),
            };
        }

        if (kind < 0.145)
        {
            return string.Concat(surname, given, ViewerNames.LongSuffixes[pick % ViewerNames.LongSuffixes.Length]);
        }

        return string.Concat(surname, given);
    }

    /// <summary>A bijection of 32-bit values (xor, odd multiplications and xorshifts are each invertible).</summary>
    private static uint Permute(uint x, uint key)
    {
        x ^= key;
        x *= 0x9E3779B1u;
        x ^= x >> 15;
        x *= 0x85EBCA77u;
        x ^= x >> 13;
        x *= 0xC2B2AE3Du;
        x ^= x >> 16;
        return x;
    }

    private static void Validate(LiveSpec spec)
    {
        if (spec.Members < 0 || spec.Externals < 0)
        {
            throw new ArgumentException("Members and Externals must not be negative.", nameof(spec));
        }

        if ((long)spec.Members + spec.Externals > int.MaxValue)
        {
            throw new ArgumentException("A live holds at most int.MaxValue viewers.", nameof(spec));
        }

        if (spec.PageSize is < 1)
        {
            throw new ArgumentException("PageSize must be at least 1.", nameof(spec));
        }

        if (spec.DurationSeconds < 0)
        {
            throw new ArgumentException("DurationSeconds must not be negative.", nameof(spec));
        }

        if (double.IsNaN(spec.InvitorShare) || spec.InvitorShare < 0 || spec.InvitorShare > 1)
        {
            throw new ArgumentException("InvitorShare must be in [0, 1].", nameof(spec));
        }

        if (spec.EmptyPageEvery < 0 || spec.EmptyPageEvery == 1)
        {
            throw new ArgumentException("EmptyPageEvery must be 0 (never) or at least 2 (1 would make every page empty).", nameof(spec));
        }

        if (spec.StuckAtPage < 0)
        {
            throw new ArgumentException("StuckAtPage must not be negative.", nameof(spec));
        }
    }
}

/// <summary>Where a get_watch_stat call continues: sequence offset, 1-based page number, offset of the previous data page (-1: none).</summary>
internal readonly record struct PageCursor(int Offset, int Page, int PrevOffset)
{
    public static PageCursor Start => new(0, 1, -1);
}

internal enum PageKind
{
    Data,
    Empty,
    Stuck,
}

/// <summary>One get_watch_stat page: positions [Start, End), the cursor of the next page, and the positions repeated (-1: none).</summary>
internal readonly record struct PagePlan(
    PageKind Kind,
    int Start,
    int End,
    bool Ending,
    PageCursor Next,
    int RepeatAcrossPosition,
    int RepeatWithinPosition);
