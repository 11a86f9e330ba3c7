using Microsoft.Extensions.Logging;
using WatchStat.Storage;
using WatchStat.Telemetry;
using WatchStat.WeCom;
using WatchStat.WeCom.Callbacks;
using WatchStat.WeCom.Suites;

namespace WatchStat.Harvest;

/// <summary>What a suite's instruction event did, and the pages to send when it put runs back to work.</summary>
public sealed record SuiteOutcome(string Outcome, IReadOnlyList<HarvestPageMessage> Messages)
{
    public const string TicketSaved = "suite-ticket";
    public const string Authorized = "create-auth";
    public const string Changed = "change-auth";
    public const string Cancelled = "cancel-auth";
    public const string Ignored = "ignored";
}

/// <summary>
/// The instruction events (指令回调) WeCom pushes to a suite app's callback, verified and decrypted by the callback
/// function with the suite's id as receiveid:
/// <list type="bullet">
/// <item><c>suite_ticket</c> (every 10 minutes): kept in Key Vault; runs that failed for want of one go on.</item>
/// <item><c>create_auth</c>: a corp installed the app; its permanent code (get_permanent_code) goes to Key Vault, the corp to <c>Installations</c>.</item>
/// <item><c>change_auth</c>: noted on the corp's installation.</item>
/// <item><c>cancel_auth</c>: the corp uninstalled the app; its queued and running runs fail with the reason, and its permanent code is deleted.</item>
/// </list>
/// Each is idempotent: WeCom delivers an event again when the answer is late.
/// </summary>
public sealed partial class SuiteCallbacks(
    WeComClient wecom,
    SuiteVault vault,
    InstallationStore installations,
    HarvestStore store,
    HarvestRuns runs,
    HarvestStep step,
    WatchStatMetrics metrics,
    TimeProvider time,
    ILogger<SuiteCallbacks> logger)
{
    public async Task<SuiteOutcome> HandleAsync(WeComApp app, WeComCallbackEvent callback, CancellationToken cancellationToken)
    {
        string? Field(string name) => callback.Fields.GetValueOrDefault(name) is { Length: > 0 } value ? value : null;
        if (Field("SuiteId") is { } suiteId && suiteId != app.SuiteId)
            throw new WeComCallbackException(WeComCallbackReason.WrongReceiver, "The event is addressed (SuiteId) to another suite than the app's.");

        var infoType = Field("InfoType");
        var outcome = infoType switch
        {
            "suite_ticket" => await TicketAsync(app, Field("SuiteTicket") ?? throw Bad("suite_ticket has no SuiteTicket."), cancellationToken),
            "create_auth" => await AuthorizedAsync(app, Field("AuthCode") ?? throw Bad("create_auth has no AuthCode."), cancellationToken),
            "change_auth" => await ChangedAsync(app, Corp(Field("AuthCorpId"), "change_auth"), cancellationToken),
            "cancel_auth" => await CancelledAsync(app, Corp(Field("AuthCorpId"), "cancel_auth"), cancellationToken),
            _ => Ignored(app, infoType),
        };
        metrics.Callback(app.Name, outcome.Outcome);
        return outcome;
    }

    /// <summary>Keeps the ticket, then puts back to work the runs that failed for want of one.</summary>
    private async Task<SuiteOutcome> TicketAsync(WeComApp app, string ticket, CancellationToken cancellationToken)
    {
        await vault.SaveTicketAsync(app, ticket, cancellationToken);
        var messages = new List<HarvestPageMessage>();
        await foreach (var entry in store.AwaitingTicketAsync(app.Name, corpId: null, cancellationToken))
        {
            if (LiveKey.TryParse(entry.RowKey, out var live))
            {
                var retry = await runs.RetryAsync(live, cancellationToken);
                if (retry.Next is { } next) messages.Add(next);
            }
            await store.RemoveIndexEntryAsync(entry, cancellationToken);
        }
        LogTicket(app.Name, messages.Count);
        return new SuiteOutcome(SuiteOutcome.TicketSaved, messages);
    }

    /// <summary>
    /// A corp installed the app: its permanent code goes straight to Key Vault, then the corp is noted as authorized.
    /// The auth code works once, so a delivery of the same event again gets WeCom's refusal (40029), which is
    /// acknowledged: the first delivery did the work.
    /// </summary>
    private async Task<SuiteOutcome> AuthorizedAsync(WeComApp app, string authCode, CancellationToken cancellationToken)
    {
        string corpId;
        string? corpName;
        try
        {
            (corpId, corpName, var permanentCode) = await wecom.GetPermanentCodeAsync(app, authCode, cancellationToken);
            if (!WeComApps.IsValidCorpId(corpId))
                throw WeComException.Transport(WeComClient.GetPermanentCodeApi, "the answer's auth_corp_info.corpid is not a corpid.");
            await vault.SavePermanentCodeAsync(app, corpId, permanentCode, cancellationToken);
        }
        catch (WeComException ex) when (!ex.IsRetryable && ex.Kind != WeComErrorKind.AwaitingSuiteTicket)
        {
            LogAuthCodeRefused(app.Name, ex.ErrCode, ex.Message);
            return new SuiteOutcome(SuiteOutcome.Ignored, []);
        }
        await installations.AuthorizedAsync(app, corpId, corpName, time.GetUtcNow(), created: true, cancellationToken);
        LogAuthorized(app.Name, corpId);
        return new SuiteOutcome(SuiteOutcome.Authorized, []);
    }

    private async Task<SuiteOutcome> ChangedAsync(WeComApp app, string corpId, CancellationToken cancellationToken)
    {
        await installations.AuthorizedAsync(app, corpId, corpName: null, time.GetUtcNow(), created: false, cancellationToken);
        LogChanged(app.Name, corpId);
        return new SuiteOutcome(SuiteOutcome.Changed, []);
    }

    /// <summary>
    /// A corp uninstalled the app: noted first (so nothing new starts for it), then its queued and running runs fail
    /// with the reason, its runs waiting for a ticket are dropped, and its permanent code is deleted. Other corps'
    /// runs are not touched.
    /// </summary>
    private async Task<SuiteOutcome> CancelledAsync(WeComApp app, string corpId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await installations.CancelledAsync(app, corpId, now, cancellationToken);
        var reason = $"Corp {corpId} cancelled its authorization of WeCom app '{app.Name}' (cancel_auth at {now:u}): the run was stopped and "
            + "the corp's permanent code removed. If the corp installs the app again, start the harvest again.";
        var failed = 0;
        await foreach (var entry in store.ActiveEntriesAsync(cancellationToken))
        {
            if (!LiveKey.TryParse(entry.RowKey, out var live) || live.CorpId != corpId) continue;
            var result = await store.UpdateStatusAsync(live, async status =>
                status is null || !HarvestStates.IsActive(status.State) || !HarvestRuns.IsSameApp(status, app)
                    ? new StepResult(StepOutcome.Stale, status, null)
                    : await step.FailAsync(status, null, null, reason, cancellationToken), cancellationToken);
            if (result.Outcome == StepOutcome.Failed) failed++;
        }
        await foreach (var entry in store.AwaitingTicketAsync(app.Name, corpId, cancellationToken))
        {
            if (LiveKey.TryParse(entry.RowKey, out var live))
            {
                // The run failed for want of a ticket; it will not go on when one comes, and now says why.
                await store.UpdateStatusAsync<object>(live, async status =>
                {
                    if (status is not { State: HarvestStates.Failed }) return Done;
                    status.LastErrorMessage = reason;
                    return await store.TryReplaceAsync(status, cancellationToken) ? Done : null;
                }, cancellationToken);
            }
            await store.RemoveIndexEntryAsync(entry, cancellationToken);
        }
        await vault.DeletePermanentCodeAsync(app, corpId, cancellationToken);
        LogCancelled(app.Name, corpId, failed);
        return new SuiteOutcome(SuiteOutcome.Cancelled, []);
    }

    private static readonly object Done = new();

    private SuiteOutcome Ignored(WeComApp app, string? infoType)
    {
        LogIgnored(app.Name, infoType);
        return new SuiteOutcome(SuiteOutcome.Ignored, []);
    }

    private static string Corp(string? corpId, string infoType) =>
        WeComApps.IsValidCorpId(corpId) ? corpId! : throw Bad($"{infoType} has no valid AuthCorpId.");

    private static WeComCallbackException Bad(string message) => new(WeComCallbackReason.BadEvent, "The suite event " + message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Suite callback for app {App}: suite_ticket kept; {Resumed} runs waiting for it go on")]
    private partial void LogTicket(string app, int resumed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Suite callback for app {App}: corp {CorpId} authorized the app; its permanent code is in Key Vault")]
    private partial void LogAuthorized(string app, string corpId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Suite callback for app {App}: create_auth's auth code was refused (errcode {ErrCode}), acknowledged: {Why}")]
    private partial void LogAuthCodeRefused(string app, int? errCode, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Suite callback for app {App}: corp {CorpId} changed its authorization")]
    private partial void LogChanged(string app, string corpId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Suite callback for app {App}: corp {CorpId} cancelled its authorization; {Failed} runs failed, its permanent code deleted")]
    private partial void LogCancelled(string app, string corpId, int failed);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Suite callback for app {App} ignored: InfoType {InfoType}")]
    private partial void LogIgnored(string app, string? infoType);
}
