using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Functions;

/// <summary>
/// <c>GET /api/harvests/{livingid}[?corpid=|?app=]</c>: the live's harvest status, or 404 when it was never harvested. The
/// corp is the default app's unless the query names it (or an app of another corp).
/// </summary>
public sealed class GetHarvestFunction(HarvestStore store, WeComApps apps)
{
    [Function(nameof(GetHarvestFunction))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "harvests/{livingid}")] HttpRequest request,
        string livingid,
        CancellationToken cancellationToken)
    {
        var (live, problem) = HarvestRoutes.LiveOf(request, livingid, apps);
        if (problem is not null) return Problems.BadRequest(problem);
        var status = await store.GetAsync(live, cancellationToken);
        return status is null
            ? Problems.NotFound(HarvestRuns.NotRecordedProblem(live))
            : new OkObjectResult(HarvestStatusView.From(status));
    }
}
