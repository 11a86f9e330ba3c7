using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;

namespace WatchStat.Functions;

/// <summary>
/// <c>POST /api/harvests/{livingid}/retry</c>: re-drives a failed run from its checkpoint (not from page 1), after
/// its cause was fixed. 404 when the live was never harvested, 409 when its run has not failed.
/// </summary>
public sealed class RetryHarvestFunction(HarvestRuns runs)
{
    [Function(nameof(RetryHarvestFunction))]
    public async Task<StartHarvestOutput> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "harvests/{livingid}/retry")] HttpRequest request,
        string livingid,
        CancellationToken cancellationToken)
    {
        if (LivingIdRules.Check(livingid) is { } wrong) return new StartHarvestOutput { Result = Problems.BadRequest(wrong) };
        var retry = await runs.RetryAsync(livingid, cancellationToken);
        return retry switch
        {
            { Status: null } => new StartHarvestOutput { Result = Problems.NotFound($"No harvest is recorded for live '{livingid}'.") },
            { Next: null } => new StartHarvestOutput { Result = Problems.Conflict(retry.Problem!) },
            _ => new StartHarvestOutput
            {
                Result = new AcceptedResult(HarvestRoutes.StatusPath(livingid), HarvestStatusView.From(retry.Status)),
                Messages = [retry.Next.ToJson()],
            },
        };
    }
}
