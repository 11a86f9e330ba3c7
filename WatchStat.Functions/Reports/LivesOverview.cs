using System.Collections.Concurrent;
using WatchStat.Storage;

namespace WatchStat.Reports;

/// <summary>One live of the overview: its facts (Livings) and its harvest's outcome (the Harvests status row).</summary>
/// <param name="State">The harvest's state; null when the live was never harvested.</param>
/// <param name="Viewers">Distinct viewers of the last run (so far, while it runs); null when never harvested.</param>
/// <param name="WatchTimeSeconds">The completed run's total watch time; null otherwise.</param>
public sealed record LiveSummary(
    string LivingId, string CorpId, string App, DateTimeOffset Date, string? Theme, string? AnchorUserId, int? DurationSeconds, int? Status,
    string? State, int? Viewers, long? WatchTimeSeconds, string? LastError);

/// <summary>A day of the trend (in the overview's time zone): lives, their viewers and watch hours.</summary>
public sealed record DaySummary(string Day, int Lives, int Viewers, double WatchHours);

/// <summary>The lives dated within [From, To), newest first, and the days between with their totals.</summary>
public sealed record LivesOverviewResult(
    DateTimeOffset From, DateTimeOffset To, string TimeZone, string? App, string? AnchorUserId, IReadOnlyList<LiveSummary> Lives, IReadOnlyList<DaySummary> Days);

/// <summary>
/// The lives overview: the lives of a date range with their harvest's outcome, from the <c>Livings</c> index of lives
/// by date (one range of one partition) and, per live, its Livings row and its Harvests status row (two point reads).
/// Never a viewer row, never a scan: its cost grows with the lives in the range.
/// </summary>
public sealed class LivesOverview(LivingStore livings, HarvestStore store)
{
    /// <summary>Longest range one overview covers.</summary>
    public const int MaxDays = 366;

    private const int Parallelism = 16;

    public async Task<LivesOverviewResult> ReadAsync(
        DateTimeOffset from, DateTimeOffset to, TimeZoneInfo zone, string? app, string? anchor, CancellationToken cancellationToken)
    {
        var entries = await livings.DatedAsync(from, to, cancellationToken);
        var lives = new ConcurrentBag<LiveSummary>();
        // One live may have entries of several dates (its date changed): the one that is its date now is read.
        await Parallel.ForEachAsync(entries.DistinctBy(e => (e.Live, e.Date)), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (entry, ct) =>
            {
                if (app is not null && !string.Equals(entry.App, app, StringComparison.OrdinalIgnoreCase)) return;
                var row = await livings.GetAsync(entry.Live, ct);
                if (row is null || LivingStore.DateOf(row) is not { } date || date != entry.Date)
                {
                    await livings.ForgetDateAsync(entry.Entry, ct); // stale: the live's date moved on
                    return;
                }
                if (anchor is not null && !string.Equals(row.GetString("AnchorUserId"), anchor, StringComparison.Ordinal)) return;
                var status = await store.GetAsync(entry.Live, ct);
                lives.Add(new LiveSummary(
                    entry.Live.LivingId, entry.Live.CorpId, status?.App ?? row.GetString("App") ?? entry.App, date,
                    row.GetString("Theme"), row.GetString("AnchorUserId"), row.GetInt32("LivingDurationSeconds"), row.GetInt32("Status"),
                    status?.State, status is null ? null : status.MembersWritten + status.ExternalWritten,
                    status?.State == HarvestStates.Completed ? status.WatchTimeSeconds : null,
                    status?.State == HarvestStates.Failed ? status.LastErrorMessage : null));
            });

        var ordered = lives.OrderByDescending(l => l.Date).ThenBy(l => l.LivingId, StringComparer.Ordinal).ToList();
        var days = new List<DaySummary>();
        var byDay = ordered.ToLookup(l => DayOf(l.Date, zone));
        for (var day = DayOf(from, zone); string.CompareOrdinal(day, DayOf(to.AddTicks(-1), zone)) <= 0; day = NextDay(day))
        {
            var of = byDay[day].ToList();
            days.Add(new DaySummary(day, of.Count, of.Sum(l => l.Viewers ?? 0), Math.Round(of.Sum(l => l.WatchTimeSeconds ?? 0) / 3600.0, 2)));
        }
        return new LivesOverviewResult(from, to, zone.Id, app, anchor, ordered, days);
    }

    public static string DayOf(DateTimeOffset at, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(at, zone).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private static string NextDay(string day) =>
        DateOnly.ParseExact(day, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture).AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
}
