using System.ComponentModel.DataAnnotations;

namespace WatchStat.Harvest;

/// <summary>Settings under <c>Harvest:</c>.</summary>
public sealed class HarvestOptions : IValidatableObject
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

    /// <summary>
    /// <c>Harvest:RetentionDays</c>: when set, the daily retention (<see cref="Privacy.Retention"/>) deletes every
    /// row of a live (its viewer rows, page records, status row, Livings rows and index entries) once it ended more
    /// than this many days ago. Absent or empty: kept forever. It must be more than <see cref="LookbackDays"/>, or the
    /// nightly harvest would harvest again what retention deleted.
    /// </summary>
    [Range(1, 36_500, ErrorMessage = "Setting Harvest:RetentionDays must be a whole number of days between 1 and 36500, or absent to keep data forever.")]
    public int? RetentionDays { get; set; }

    /// <summary>When the retention runs: 03:30 UTC every day, fixed (no app setting to forget); with no RetentionDays it does nothing.</summary>
    public const string RetentionSchedule = "0 30 3 * * *";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RetentionDays is { } days && days <= LookbackDays)
        {
            yield return new ValidationResult(
                $"Setting Harvest:RetentionDays ({days}) must be more than Harvest:LookbackDays ({LookbackDays}): the nightly harvest harvests "
                + "again the lives that ended within its lookback window, which would bring back what retention deleted.",
                [nameof(RetentionDays)]);
        }
    }
}
