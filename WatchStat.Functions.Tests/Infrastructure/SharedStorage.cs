namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// Tests that use the app's real queue (<c>harvest-pages</c>) and tables run one at a time in this collection:
/// the queue name is fixed by the functions' bindings, so two such tests at once would take each other's messages.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SharedStorage
{
    public const string Name = "Azurite storage (harvest-pages queue, tables)";
}
