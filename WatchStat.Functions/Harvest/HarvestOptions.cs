using System.ComponentModel.DataAnnotations;

namespace WatchStat.Harvest;

/// <summary>Settings under <c>Harvest:</c>.</summary>
public sealed class HarvestOptions
{
    public const string Section = "Harvest";

    /// <summary>
    /// <c>Harvest:MaxPages</c>: a run that reaches this many pages without <c>ending</c> = 1 fails instead of
    /// looping. 20,000 pages of 100 is two million viewers, far beyond any live.
    /// </summary>
    [Range(1, 10_000_000, ErrorMessage = "Setting Harvest:MaxPages must be between 1 and 10000000.")]
    public int MaxPages { get; set; } = 20_000;

    /// <summary>
    /// <c>Harvest:LookbackDays</c>: the nightly harvest refreshes lives that ended (or arrived over HTTP) this many
    /// days back, since watch time keeps growing with replay viewing.
    /// </summary>
    [Range(0, 365, ErrorMessage = "Setting Harvest:LookbackDays must be between 0 and 365.")]
    public int LookbackDays { get; set; } = 7;

    /// <summary>
    /// <c>Harvest:StallSeconds</c>: a queued or running run that has shown no sign of life this long (its status row
    /// not written, its throttle delay over) is re-driven. A page takes well under a second; one WeCom call may take
    /// <c>WeCom:TimeoutSeconds</c> (30) with its retries, so 60 s is twice the longest page a live instance can be on.
    /// </summary>
    [Range(5, 86_400, ErrorMessage = "Setting Harvest:StallSeconds must be between 5 and 86400.")]
    public int StallSeconds { get; set; } = 60;

    public TimeSpan StallAfter => TimeSpan.FromSeconds(StallSeconds);

    /// <summary>
    /// <c>Harvest:DelayScale</c>: multiplies the real waits before a throttled page is tried again (the queue
    /// message's invisibility, the CLI's pause). 1 in production; tests and local experiments shrink it. The status
    /// row always shows the unscaled delay.
    /// </summary>
    [Range(0.0, 1.0, ErrorMessage = "Setting Harvest:DelayScale must be between 0 and 1.")]
    public double DelayScale { get; set; } = 1.0;

    public TimeSpan Scaled(TimeSpan delay) => delay * DelayScale;

    /// <summary>
    /// <c>Harvest:NightlySchedule</c> and <c>Harvest:SweepSchedule</c>: NCRONTAB (with seconds, UTC) of the timer
    /// functions; read by the Functions host through <c>%Harvest:NightlySchedule%</c>, so they must be app settings.
    /// </summary>
    public const string DefaultNightlySchedule = "0 0 18 * * *";

    public const string DefaultSweepSchedule = "0 * * * * *";
}
