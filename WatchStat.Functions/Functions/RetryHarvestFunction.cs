using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;
using WatchStat.WeCom;

namespace WatchStat.Functions;

/// <summary>
/// <c>POST /api/harvests/{livingid}/retry[?corpid=|?app=]</c>: re-drives a failed run from its checkpoint (not from page 1), after
/// its cause was fixed. 404 when the live was never harvested, 409 when its run has not failed.
/// </summary>
public sealed class RetryHarvestFunction(HarvestRuns runs, WeComApps apps)
{
    [Function(nameof(RetryHarvestFunction))]
    public async Task<StartHarvestOutput> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "harvests/{livingid}/retry")] HttpRequest request,
        string livingid,
        CancellationToken cancellationToken)
    {
        var (live, problem) = HarvestRoutes.LiveOf(request, livingid, apps);
        if (problem is not null) return new StartHarvestOutput { Result = Problems.BadRequest(problem) };
        var retry = await runs.RetryAsync(live, cancellationToken);
        return retry switch
        {
            { Status: null } => new StartHarvestOutput { Result = Problems.NotFound(retry.Problem!) },
            { Next: null } => new StartHarvestOutput { Result = Problems.Conflict(retry.Problem!) },
            _ => new StartHarvestOutput
            {
                Result = new AcceptedResult(HarvestRoutes.StatusPath(live, apps), HarvestStatusView.From(retry.Status)),
                Messages = [retry.Next.ToJson()],
            },
        };
    }
}
