namespace WatchStat.Tests.Infrastructure;

/// <summary>A test that needs a browser: skipped, saying what to install, when there is none.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (Browser.Find() is null) Skip = Browser.Missing;
    }
}
