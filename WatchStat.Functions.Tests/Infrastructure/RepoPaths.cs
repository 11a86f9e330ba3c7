namespace WatchStat.Tests.Infrastructure;

/// <summary>Finds files of the repository from the test's output folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "WatchStat.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException($"No WatchStat.slnx above {AppContext.BaseDirectory}.");
    }
}
