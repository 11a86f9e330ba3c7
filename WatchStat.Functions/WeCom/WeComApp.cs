namespace WatchStat.WeCom;

/// <summary>A WeCom app the harvester calls as: its name in our settings and its enterprise's corpid.</summary>
public sealed record WeComApp(string Name, string CorpId)
{
    public const string DefaultName = "default";
}
