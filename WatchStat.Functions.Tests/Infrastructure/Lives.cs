using WatchStat.Storage;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Infrastructure;

/// <summary>Lives as the tables key them (<see cref="LiveKey"/>), in the corps the tests use.</summary>
public static class Lives
{
    /// <summary>A live of the simulator's default app's corp, the corp of every single-app test.</summary>
    public static LiveKey Sim(string livingId) => new(SimulatorOptions.DefaultCorpId, livingId);
}
