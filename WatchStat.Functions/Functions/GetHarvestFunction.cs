using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using WatchStat.Harvest;
using WatchStat.Storage;

namespace WatchStat.Functions;

/// <summary><c>GET /api/harvests/{livingid}</c>: the live's harvest status, or 404 when it was never harvested.</summary>
public sealed class GetHarvestFunction(HarvestStore store)
{
    [Function(nameof(GetHarvestFunction))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "harvests/{livingid}")] HttpRequest request,
        string livingid,
        CancellationToken cancellationToken)
    {
        if (LivingIdRules.Check(livingid) is { } wrong) return Problems.BadRequest(wrong);
        var status = await store.GetAsync(livingid, cancellationToken);
        return status is null
            ? Problems.NotFound($"No harvest is recorded for live '{livingid}'.")
            : new OkObjectResult(HarvestStatusView.From(status));
    }
}
