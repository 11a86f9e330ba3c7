using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WatchStat.Storage;

namespace WatchStat.WeCom;

/// <summary>
/// One WeCom budget per corp and API, shared by every Functions instance, the CLI and discovery: a share
/// (<c>WeCom:BudgetPercent</c>, 80) of WeCom's per-corp limits of each API, 10,000 calls a minute and 150,000 an hour
/// (<c>WeCom:CorpLimitPerMinute</c>, <c>WeCom:CorpLimitPerHour</c>).
/// <para>
/// The counts live in Table Storage, two rows per corp and API in the <c>WeComBudget</c> table (PartitionKey
/// <c>{corpid}|{api}</c>; RowKey <c>minute</c> and <c>hour</c>, each holding its window and the calls claimed in it).
/// A process claims a block of calls at a time (a 40th of the minute's budget, at most 500): one query reads both
/// rows, one entity-group transaction raises both counts under their ETags, so the minute and the hour are claimed
/// together or not at all, and a claimer that lost the race reads again (<see cref="OptimisticConcurrency"/>). The
/// block is spent locally, call by call, within its minute; what a process does not spend (it stopped, or crashed)
/// lapses with the window, never carries over. A window's row is reused by the next window (its count starts
/// again at zero), so the table holds two rows per corp and API forever.
/// </para>
/// <para>
/// A used-up budget is not a failure: the call is refused with <see cref="WeComErrorKind.Throttled"/> and a
/// <see cref="WeComException.RetryAfter"/> of the window's end, and the caller waits (the CLI, discovery in-process)
/// or puts its work back on its queue with that delay. WeCom's own 45009 is backed off as before, unless it comes
/// more than 60 s (WeCom's minute block) after the first of a streak with no answer between: that is the hour cap, and
/// the hour is marked used up for every claimer until the next hour.
/// </para>
/// </summary>
public sealed partial class WeComBudget : IDisposable
{
    public const string TableName = "WeComBudget";
    public const string MinuteRow = "minute";
    public const string HourRow = "hour";

    /// <summary>Claimers race for the same two rows by design: more tries than other rows get, spread by a random wait.</summary>
    private const int ClaimConflicts = 25;

    private static readonly TimeSpan ClaimBackoff = TimeSpan.FromMilliseconds(15);

    /// <summary>How long WeCom blocks an API after its minute limit is reached.</summary>
    public static readonly TimeSpan MinuteBlock = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<(string CorpId, string Api), Account> _accounts = new();
    private readonly TableClient _table;
    private readonly CreateOnce _created;
    private readonly WeComOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WeComBudget> _logger;

    public WeComBudget(StorageClients storage, IOptions<WeComOptions> options, TimeProvider time, ILogger<WeComBudget> logger)
    {
        _table = storage.Tables.GetTableClient(TableName);
        _created = new CreateOnce(ct => _table.CreateIfNotExistsAsync(ct));
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Calls a minute this deployment may make per corp and API: the share of WeCom's minute limit.</summary>
    public int PerMinute => Math.Max(1, (int)((long)_options.CorpLimitPerMinute * _options.BudgetPercent / 100));

    /// <summary>Calls an hour this deployment may make per corp and API: the share of WeCom's hour limit.</summary>
    public int PerHour => Math.Max(1, (int)((long)_options.CorpLimitPerHour * _options.BudgetPercent / 100));

    /// <summary>Calls claimed from the shared counts at once: a 40th of the minute's budget, at least 1, at most 500.</summary>
    public int BlockSize => Math.Clamp(PerMinute / 40, 1, 500);

    /// <summary>Claims this process has made (each one query and, unless the window was used up, one transaction, more when it lost a race).</summary>
    public long Claims => Interlocked.Read(ref _claims);

    /// <summary>Storage requests this process has made for the budget (queries and transactions); what the budget costs.</summary>
    public long StorageRequests => Interlocked.Read(ref _storageRequests);

    private long _claims;
    private long _storageRequests;

    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _created.EnsureAsync(cancellationToken);

    /// <summary>
    /// Takes one call of <paramref name="api"/> in <paramref name="corpId"/> from the budget: from this process's block,
    /// or from a new block claimed from the shared counts. Throws <see cref="WeComException"/> (Throttled, with
    /// <see cref="WeComException.RetryAfter"/>) when the minute's or the hour's budget is used up.
    /// </summary>
    public async ValueTask AcquireAsync(string corpId, string api, CancellationToken cancellationToken)
    {
        var account = _accounts.GetOrAdd((corpId, api), static _ => new Account());
        if (TryTakeLocal(account, corpId, api)) return;
        await account.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another caller of this process may have claimed a block while this one waited for the gate.
            if (TryTakeLocal(account, corpId, api)) return;
            var now = _time.GetUtcNow();
            Claim claim;
            try
            {
                claim = await ClaimAsync(corpId, api, now, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Lost the race for the counts every time: as good as throttled; the caller comes back in a second.
                throw new WeComException(api, null, null, WeComErrorKind.Throttled,
                    $"The WeCom budget of {api} in corp {corpId} is claimed by many at once; the call goes on in a second.") { RetryAfter = TimeSpan.FromSeconds(1) };
            }
            Interlocked.Increment(ref _claims);
            lock (account)
            {
                if (claim.Granted > 0)
                {
                    account.Minute = MinuteOf(now);
                    account.Left = claim.Granted - 1;
                    return;
                }
                account.BlockedUntil = claim.Until;
                account.BlockedBy = claim.Window;
            }
            LogUsedUp(api, corpId, claim.Window, claim.Until);
            throw UsedUp(corpId, api, claim.Window, claim.Until, now);
        }
        finally
        {
            account.Gate.Release();
        }
    }

    /// <summary>
    /// WeCom answered a call. A 45009 is WeCom's minute block (it lasts 60 s: the caller backs off as usual, and the
    /// answer is null) unless it comes more than 60 s after the first 45009 of a streak with no other answer between:
    /// then it is the hour cap, the hour is marked used up for every claimer, and the answer is the wait until the next
    /// hour.
    /// </summary>
    public async ValueTask<TimeSpan?> AnsweredAsync(string corpId, string api, int errCode, CancellationToken cancellationToken)
    {
        var account = _accounts.GetOrAdd((corpId, api), static _ => new Account());
        if (errCode != 45009)
        {
            lock (account) account.AnsweredSinceThrottle = true;
            return null;
        }

        var now = _time.GetUtcNow();
        DateTimeOffset until;
        lock (account)
        {
            if (account.AnsweredSinceThrottle || account.StreakStart is null) account.StreakStart = now;
            account.AnsweredSinceThrottle = false;
            if (now - account.StreakStart.Value <= MinuteBlock) return null;
            until = StartOfHour(MinuteOf(now) / 60 + 1);
            account.Left = 0;
            account.BlockedUntil = until;
            account.BlockedBy = "hour";
        }
        LogHourCap(api, corpId, until);
        try
        {
            await MarkHourUsedUpAsync(corpId, api, now, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex)
        {
            // Best effort: this process waits anyway, and the others learn from their own 45009s.
            LogNotMarked(api, corpId, ex.Status);
        }
        return until - now;
    }

    private bool TryTakeLocal(Account account, string corpId, string api)
    {
        var now = _time.GetUtcNow();
        DateTimeOffset until;
        string window;
        lock (account)
        {
            if (account.BlockedUntil > now)
            {
                until = account.BlockedUntil;
                window = account.BlockedBy;
            }
            else
            {
                if (account.Minute != MinuteOf(now) || account.Left <= 0) return false;
                account.Left--;
                return true;
            }
        }
        throw UsedUp(corpId, api, window, until, now);
    }

    private sealed record Claim(int Granted, string Window, DateTimeOffset Until);

    private async Task<Claim> ClaimAsync(string corpId, string api, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken).ConfigureAwait(false);
        var partition = TableKeys.Scoped(corpId, api);
        var (minute, hour) = (MinuteOf(now), MinuteOf(now) / 60);
        return await OptimisticConcurrency.UpdateAsync<Claim>($"The WeCom budget of {api} in corp {corpId}", async () =>
        {
            var (minuteRow, hourRow) = await ReadAsync(partition, cancellationToken).ConfigureAwait(false);
            var (minuteUsed, hourUsed) = (Used(minuteRow, minute), Used(hourRow, hour));
            if (hourUsed >= PerHour) return new Claim(0, "hour", StartOfHour(hour + 1));
            if (minuteUsed >= PerMinute) return new Claim(0, "minute", StartOfMinute(minute + 1));
            var granted = Math.Min(BlockSize, Math.Min(PerMinute - minuteUsed, PerHour - hourUsed));
            TableTransactionAction[] actions =
            [
                Write(minuteRow, partition, MinuteRow, minute, minuteUsed + granted, corpId, api, now),
                Write(hourRow, partition, HourRow, hour, hourUsed + granted, corpId, api, now),
            ];
            Interlocked.Increment(ref _storageRequests);
            var written = await OptimisticConcurrency.TryWriteAsync(async () =>
                (await _table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false)).GetRawResponse()).ConfigureAwait(false);
            return written ? new Claim(granted, "", default) : null;
        }, ClaimConflicts, ClaimBackoff, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks the current hour used up in the shared counts, so that no claimer calls WeCom in it.</summary>
    private async Task MarkHourUsedUpAsync(string corpId, string api, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _created.EnsureAsync(cancellationToken).ConfigureAwait(false);
        var partition = TableKeys.Scoped(corpId, api);
        var hour = MinuteOf(now) / 60;
        await OptimisticConcurrency.UpdateAsync<object>($"The WeCom budget of {api} in corp {corpId}", async () =>
        {
            var (_, row) = await ReadAsync(partition, cancellationToken).ConfigureAwait(false);
            var action = Write(row, partition, HourRow, hour, Math.Max(PerHour, Used(row, hour)), corpId, api, now, throttledAt: now);
            Interlocked.Increment(ref _storageRequests);
            return await OptimisticConcurrency.TryWriteAsync(async () =>
                (await _table.SubmitTransactionAsync([action], cancellationToken).ConfigureAwait(false)).GetRawResponse()).ConfigureAwait(false)
                ? new object() : null;
        }).ConfigureAwait(false);
    }

    private async Task<(TableEntity? Minute, TableEntity? Hour)> ReadAsync(string partition, CancellationToken cancellationToken)
    {
        TableEntity? minuteRow = null, hourRow = null;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and (RowKey eq {HourRow} or RowKey eq {MinuteRow})");
        Interlocked.Increment(ref _storageRequests);
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.RowKey == MinuteRow) minuteRow = row;
            else hourRow = row;
        }
        return (minuteRow, hourRow);
    }

    /// <summary>The calls claimed in <paramref name="window"/>: a row of an earlier window counts as none.</summary>
    private static int Used(TableEntity? row, long window) =>
        row is not null && row.GetInt64("Window") == window ? row.GetInt32("Used") ?? 0 : 0;

    private static TableTransactionAction Write(
        TableEntity? read, string partition, string rowKey, long window, int used, string corpId, string api, DateTimeOffset now, DateTimeOffset? throttledAt = null)
    {
        var row = new TableEntity(partition, rowKey)
        {
            ["CorpId"] = corpId,
            ["Api"] = api,
            ["Window"] = window,
            ["Used"] = used,
            ["UpdatedAt"] = now,
        };
        if (throttledAt is { } at) row["ThrottledAt"] = at;
        return read is null
            ? new TableTransactionAction(TableTransactionActionType.Add, row)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, row, read.ETag);
    }

    private WeComException UsedUp(string corpId, string api, string window, DateTimeOffset until, DateTimeOffset now)
    {
        var (ours, wecoms) = window == "hour" ? (PerHour, _options.CorpLimitPerHour) : (PerMinute, _options.CorpLimitPerMinute);
        return new WeComException(api, null, null, WeComErrorKind.Throttled,
            $"The WeCom budget of {api} in corp {corpId} is used up for this {window} ({ours:N0} calls: WeCom:BudgetPercent {_options.BudgetPercent}% "
            + $"of WeCom's {wecoms:N0} a {window}, or WeCom answered 45009); calls go on at {until:HH:mm:ss} UTC.")
        {
            RetryAfter = until > now ? until - now : TimeSpan.Zero,
        };
    }

    private static long MinuteOf(DateTimeOffset at) => at.UtcTicks / TimeSpan.TicksPerMinute;

    private static DateTimeOffset StartOfMinute(long minute) => new(minute * TimeSpan.TicksPerMinute, TimeSpan.Zero);

    private static DateTimeOffset StartOfHour(long hour) => new(hour * TimeSpan.TicksPerHour, TimeSpan.Zero);

    public void Dispose()
    {
        foreach (var account in _accounts.Values) account.Dispose();
    }

    private sealed class Account : IDisposable
    {
        public void Dispose() => Gate.Dispose();

        public readonly SemaphoreSlim Gate = new(1, 1);
        public long Minute = -1;
        public int Left;
        public DateTimeOffset BlockedUntil;
        public string BlockedBy = "minute";
        public DateTimeOffset? StreakStart;
        public bool AnsweredSinceThrottle;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The WeCom budget of {Api} in corp {CorpId} is used up for this {Window}; calls go on at {Until:u}")]
    private partial void LogUsedUp(string api, string corpId, string window, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WeCom answered 45009 to {Api} in corp {CorpId} past its 60 s minute block: the corp's hour cap; calls wait until {Until:u}")]
    private partial void LogHourCap(string api, string corpId, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The WeCom budget of {Api} in corp {CorpId} could not be marked used up after a 45009 (HTTP {Status}); other instances learn from their own")]
    private partial void LogNotMarked(string api, string corpId, int status);
}
