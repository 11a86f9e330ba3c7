namespace WatchStat.Cli;

public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The work ran and failed (e.g. a harvest run failed; errcode and errmsg are printed).</summary>
    public const int Failed = 1;
    /// <summary>Usage or configuration error: nothing was done.</summary>
    public const int Usage = 2;
}
