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

    /// <summary><c>Harvest:StallMinutes</c>: a queued or running run whose checkpoint has not moved this long is re-driven.</summary>
    [Range(1, 1440, ErrorMessage = "Setting Harvest:StallMinutes must be between 1 and 1440.")]
    public int StallMinutes { get; set; } = 15;

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

    public const string DefaultSweepSchedule = "0 */10 * * * *";
}
