using System.Threading.Channels;
using Microsoft.Extensions.Options;
using WatchStat.Harvest;
using WatchStat.Storage;
using WatchStat.WeCom;

namespace WatchStat.Cli.Harvesting;

/// <summary>Progress of a CLI harvest after each checkpoint.</summary>
public sealed record HarvestProgress(HarvestRecord Status, int PagesThisSession, TimeSpan Elapsed);

/// <summary>
/// Runs a live's harvest in-process with the page step's three phases, pipelined: while a page's rows are being
/// written, the next page is already being fetched, so a harvest takes about as long as its WeCom calls or its
/// table writes, whichever is longer, rather than both. The checkpoint moves under the same optimistic concurrency
/// as the queue path, every <see cref="CommitEvery"/> pages or <see cref="CommitInterval"/>, recording each page's
/// row keys; a crash redoes at most that much, and rewriting rows is harmless. An unfinished run (queued or
/// running) is resumed where its checkpoint stands.
/// </summary>
public sealed class HarvestLoop(HarvestRuns runs, HarvestStep step, HarvestStore store, LivingStore livings, IOptions<HarvestOptions> options, TimeProvider time)
{
    /// <summary>Pages recorded with one checkpoint at most (a transaction holds the status row and one record per page).</summary>
    public const int CommitEvery = 50;

    public static readonly TimeSpan CommitInterval = TimeSpan.FromSeconds(1);

    /// <summary>Row transactions in flight at once: the table works on one while the next is on its way.</summary>
    public const int WriteLanes = 2;

    /// <summary>Pages fetched ahead of the writes, at most.</summary>
    public const int FetchAhead = 4;

    private readonly HarvestStep _step = step;
    private readonly HarvestOptions _options = options.Value;
    private readonly TimeProvider _time = time;

    public async Task<HarvestRecord> RunAsync(LiveKey live, WeComApp app, bool force, Action<HarvestProgress>? progress, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var start = await runs.StartAsync(live, app, force, cancellationToken);
        if (start.OtherApp is not null) return start.Status; // another app's live: not ours to advance
        // Noted in Livings and dated, so that the lives overview lists it and retention finds it.
        await livings.RecordArrivalAsync(live, app.Name, LivingStore.ArrivedViaCli, _time.GetUtcNow(), cancellationToken);
        var status = start.Status;
        var pages = 0;
        while (HarvestStates.IsActive(status.State))
        {
            var session = new Session(this, status, started, progress, cancellationToken);
            status = await session.RunAsync();
            pages += session.Pages;
            if (!HarvestStates.IsActive(status.State)) break;

            // Another writer moved the checkpoint (the Functions app, another CLI): follow it as it now stands;
            // if another run replaced ours, it is that run's business.
            var fresh = await store.GetAsync(live, cancellationToken)
                ?? throw new InvalidOperationException($"The status row of live '{live}' disappeared during the harvest.");
            if (fresh.RunId != status.RunId) return fresh;
            status = fresh;
            await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken);
        }
        return status;
    }

    /// <summary>
    /// One pass from the checkpoint until the run ends or another writer moves the checkpoint. A fetch lane asks
    /// WeCom for one page after another into a small buffer; the write lane writes each page's rows, up to
    /// <see cref="WriteLanes"/> transactions at once (pages are independent rows of one partition), and moves the
    /// checkpoint over every page whose rows are all written.
    /// </summary>
    private sealed class Session(HarvestLoop loop, HarvestRecord status, long started, Action<HarvestProgress>? progress, CancellationToken cancellationToken)
    {
        private readonly List<(PageFetch Page, Task Write)> _pending = [];
        private long _lastCommit = loop._time.GetTimestamp();

        public int Pages { get; private set; }

        public async Task<HarvestRecord> RunAsync()
        {
            var page = status.PagesDone + 1;
            var key = status.NextKey;
            while (true)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var fetched = Channel.CreateBounded<PageFetch>(new BoundedChannelOptions(FetchAhead) { SingleReader = true, SingleWriter = true });
                var fetching = FetchLaneAsync(fetched.Writer, page, key, stop.Token);
                try
                {
                    await foreach (var fetch in fetched.Reader.ReadAllAsync(cancellationToken))
                    {
                        if (fetch.Throttled is { } throttled)
                        {
                            if (!await CommitAsync()) return status;
                            var throttle = await loop._step.ThrottleAsync(status, fetch.Page, throttled, cancellationToken);
                            if (throttle is not { RetryAfter: { } delay }) return status; // the checkpoint moved under us
                            Report();
                            // WeCom throttled: wait as the queue would, then go on from the same page.
                            await Task.Delay(loop._options.Scaled(delay), loop._time, cancellationToken);
                            break;
                        }
                        if (fetch.Failure is { } failure)
                        {
                            if (await CommitAsync()) await loop._step.FailAsync(status, null, fetch.FailureCode, failure, cancellationToken, fetch.AwaitsTicket);
                            return status;
                        }

                        await WriteAsync(fetch);
                        (page, key) = (fetch.Page + 1, fetch.Result!.NextKey ?? key);
                        if (fetch.IsLastPage || _pending.Count >= CommitEvery || loop._time.GetElapsedTime(_lastCommit) >= CommitInterval)
                        {
                            if (!await CommitAsync() || fetch.IsLastPage) return status;
                        }
                    }
                }
                finally
                {
                    await stop.CancelAsync();
                    await fetching.ContinueWith(static _ => { }, TaskScheduler.Default); // its end is of no interest once we stop
                }
            }
        }

        /// <summary>Fetches pages one after another, each with the next_key of the one before, until the last page or a page that did not come.</summary>
        private async Task FetchLaneAsync(ChannelWriter<PageFetch> fetched, int page, string key, CancellationToken stop)
        {
            try
            {
                while (true)
                {
                    var fetch = await loop._step.FetchAsync(status, page, key, stop);
                    await fetched.WriteAsync(fetch, stop);
                    if (fetch.Result is null || fetch.IsLastPage) break;
                    (page, key) = (page + 1, fetch.Result.NextKey!);
                }
                fetched.Complete();
            }
            catch (Exception ex)
            {
                fetched.Complete(ex);
            }
        }

        /// <summary>Starts writing a page's rows, waiting while <see cref="WriteLanes"/> transactions are in flight.</summary>
        private async Task WriteAsync(PageFetch fetch)
        {
            var inFlight = _pending.Where(p => !p.Write.IsCompleted).Select(p => p.Write).ToList();
            if (inFlight.Count >= WriteLanes) await Task.WhenAny(inFlight);
            _pending.Add((fetch, loop._step.WriteAsync(status, fetch, cancellationToken)));
        }

        /// <summary>Waits for the pending pages' rows, then moves the checkpoint past them. False when another writer moved it.</summary>
        private async Task<bool> CommitAsync()
        {
            if (_pending.Count == 0) return true;
            await Task.WhenAll(_pending.Select(p => p.Write));
            var result = await loop._step.CommitAsync(status, [.. _pending.Select(p => p.Page)], deliveryId: null, cancellationToken);
            if (result is null) return false;
            Pages += _pending.Count;
            _pending.Clear();
            _lastCommit = loop._time.GetTimestamp();
            Report();
            return true;
        }

        private void Report() => progress?.Invoke(new HarvestProgress(status, Pages, loop._time.GetElapsedTime(started)));
    }
}
