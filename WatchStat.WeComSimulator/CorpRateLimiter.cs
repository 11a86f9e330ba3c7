using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace WatchStat.WeComSimulator;

/// <summary>Which of WeCom's per-corp limits refused a call.</summary>
internal enum RateLimitWindow
{
    /// <summary><see cref="SimulatorOptions.CorpCallsPerMinute"/>: blocked until the next calendar minute.</summary>
    Minute,

    /// <summary><see cref="SimulatorOptions.CorpCallsPerHour"/>: blocked until the next calendar hour.</summary>
    Hour,
}

/// <summary>
/// WeCom's per-enterprise, per-API frequency limits (<see cref="SimulatorOptions.CorpCallsPerMinute"/> and
/// <see cref="SimulatorOptions.CorpCallsPerHour"/>), in fixed windows of the simulator's clock: the calendar minute and
/// the calendar hour (UTC). Only admitted calls use up a window's budget: a call refused with 45009 does not, so a
/// client that keeps calling through a block is let in again as soon as the window turns. Only the windows whose limit
/// is on are counted, from the moment it is on (calls made while unlimited are not counted). Changing a limit keeps
/// the counts of the current windows. Lock-free (a compare-and-swap per counter); windows of past minutes and hours are
/// dropped the first time a call sees a later one.
/// </summary>
internal sealed class CorpRateLimiter(SimulatorOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Corp, string Api, long Window), StrongBox<long>> _minutes = new();
    private readonly ConcurrentDictionary<(string Corp, string Api, long Window), StrongBox<long>> _hours = new();
    private long _minutesPrunedBefore = long.MinValue;
    private long _hoursPrunedBefore = long.MinValue;

    /// <summary>
    /// Counts a call of <paramref name="corp"/> to <paramref name="api"/> if both limits let it in; otherwise the limit
    /// that refused it (the minute's when both would), and nothing is counted.
    /// </summary>
    public RateLimitWindow? TryAdmit(string corp, string api)
    {
        int perMinute = options.CorpCallsPerMinute;
        int perHour = options.CorpCallsPerHour;
        if (perMinute <= 0 && perHour <= 0)
        {
            return null;
        }

        long ticks = time.GetUtcNow().UtcTicks;
        StrongBox<long>? minute = null;
        if (perMinute > 0)
        {
            long window = ticks / TimeSpan.TicksPerMinute;
            Prune(_minutes, ref _minutesPrunedBefore, window);
            minute = _minutes.GetOrAdd((corp, api, window), static _ => new StrongBox<long>());
            if (!TryTake(minute, perMinute))
            {
                return RateLimitWindow.Minute;
            }
        }

        if (perHour > 0)
        {
            long window = ticks / TimeSpan.TicksPerHour;
            Prune(_hours, ref _hoursPrunedBefore, window);
            var hour = _hours.GetOrAdd((corp, api, window), static _ => new StrongBox<long>());
            if (!TryTake(hour, perHour))
            {
                if (minute is not null)
                {
                    Interlocked.Decrement(ref minute.Value); // give the minute's slot back: the call does not run
                }

                return RateLimitWindow.Hour;
            }
        }

        return null;
    }

    /// <summary>One more call in the window unless it already holds <paramref name="limit"/>; never goes beyond it, even under contention.</summary>
    private static bool TryTake(StrongBox<long> counter, int limit)
    {
        while (true)
        {
            long count = Volatile.Read(ref counter.Value);
            if (count >= limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref counter.Value, count + 1, count) == count)
            {
                return true;
            }
        }
    }

    /// <summary>Drops the windows before <paramref name="current"/>, once per window (the first call that sees it does it).</summary>
    private static void Prune(ConcurrentDictionary<(string Corp, string Api, long Window), StrongBox<long>> windows, ref long prunedBefore, long current)
    {
        long seen = Volatile.Read(ref prunedBefore);
        if (current <= seen || Interlocked.CompareExchange(ref prunedBefore, current, seen) != seen)
        {
            return;
        }

        foreach (var (key, _) in windows)
        {
            if (key.Window < current)
            {
                windows.TryRemove(key, out _);
            }
        }
    }
}
