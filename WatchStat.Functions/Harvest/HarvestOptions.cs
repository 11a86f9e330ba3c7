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
}
