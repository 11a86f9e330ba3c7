using Microsoft.Playwright;

namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// A headless Chromium for the report pages' tests: Debian's <c>chromium</c> (CI installs it with apt-get), or the
/// browser <c>WATCHSTAT_CHROMIUM</c> names, driven by Playwright for .NET. Playwright's own browser downloads are
/// never used. None found: the browser tests are skipped with <see cref="Missing"/> (CI fails instead, in .ci/run).
/// </summary>
public static class Browser
{
    public const string Variable = "WATCHSTAT_CHROMIUM";

    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

    /// <summary>The browser's executable, or null.</summary>
    public static string? Find() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given ? (File.Exists(given) ? given : null) : Candidates.FirstOrDefault(File.Exists);

    public static string Missing =>
        $"No Chromium: install Debian's (sudo apt-get install chromium fonts-noto-cjk) or set {Variable} to a Chromium or Chrome executable; the report pages' browser tests need one.";

    /// <summary>Starts Playwright and the browser, headless.</summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        var executable = Find() ?? throw new InvalidOperationException(Missing);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = executable, Headless = true });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What goes wrong on <paramref name="page"/> from now on, one line each: console errors and warnings, script
    /// errors, failed requests and HTTP answers of 400 and above. A page that loads cleanly leaves it empty.
    /// </summary>
    public static List<string> WatchProblems(IPage page)
    {
        var problems = new List<string>();
        page.Console += (_, message) => { if (message.Type is "error" or "warning") problems.Add($"console {message.Type}: {message.Text}"); };
        page.PageError += (_, error) => problems.Add($"page error: {error}");
        page.RequestFailed += (_, request) => problems.Add($"request failed: {request.Url} {request.Failure}");
        page.Response += (_, response) => { if (response.Status >= 400) problems.Add($"HTTP {response.Status}: {response.Url}"); };
        return problems;
    }

    /// <summary>Where the tests write their screenshots: artifacts/screenshots in the repository.</summary>
    public static string ScreenshotPath(string name)
    {
        var folder = RepoPaths.Combine("artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }
}
