using Azure;

namespace WatchStat.Storage;

/// <summary>
/// The one optimistic-concurrency loop of the app: read a row, decide, and write under the ETag that was read; when
/// another writer got there first, read again and decide afresh. Every row that several instances may change at
/// once (a live's harvest status, its Livings row) is updated through here.
/// </summary>
public static class OptimisticConcurrency
{
    /// <summary>How often <see cref="UpdateAsync{T}"/> reads and decides again before it gives up.</summary>
    public const int MaxConflicts = 5;

    /// <summary>
    /// Runs <paramref name="attempt"/> (read, decide, write under the ETag) until it answers non-null: null means it
    /// lost a race. Gives up with an exception after <see cref="MaxConflicts"/> attempts, so that the caller's
    /// delivery (a queue message, a WeCom callback) is retried later; <paramref name="what"/> names the row.
    /// </summary>
    public static Task<T> UpdateAsync<T>(string what, Func<Task<T?>> attempt) where T : class =>
        UpdateAsync(what, attempt, MaxConflicts, TimeSpan.Zero, CancellationToken.None);

    /// <summary>
    /// <see cref="UpdateAsync{T}(string, Func{Task{T}})"/> for a row many writers race for by design (a shared counter):
    /// up to <paramref name="maxConflicts"/> attempts, waiting a random time of up to <paramref name="backoff"/> times
    /// the conflicts so far between them, so that the racers spread out instead of colliding again.
    /// </summary>
    public static async Task<T> UpdateAsync<T>(string what, Func<Task<T?>> attempt, int maxConflicts, TimeSpan backoff, CancellationToken cancellationToken)
        where T : class
    {
        for (var read = 1; ; read++)
        {
            if (await attempt() is { } done) return done;
            if (read >= maxConflicts)
                throw new InvalidOperationException($"{what} kept changing ({maxConflicts} tries); try again.");
            if (backoff > TimeSpan.Zero) await Task.Delay(backoff * (read * Random.Shared.NextDouble()), cancellationToken);
        }
    }

    /// <summary>
    /// Runs a conditional write (an add, or an update under an ETag): false when it lost the race, that is when the
    /// row was added, changed or deleted by another writer since it was read (409, 412, 404).
    /// </summary>
    public static async Task<bool> TryWriteAsync(Func<Task<Response>> write)
    {
        try
        {
            await write();
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
        {
            return false;
        }
    }
}
