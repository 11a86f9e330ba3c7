namespace WatchStat.Storage;

/// <summary>
/// An idempotent creation (a table, a queue) run once per process, shared by concurrent callers; a failed or
/// cancelled attempt is made again by the next caller instead of being remembered.
/// </summary>
public sealed class CreateOnce(Func<CancellationToken, Task> create)
{
    private Task? _attempt;

    public Task EnsureAsync(CancellationToken cancellationToken = default)
    {
        var current = Volatile.Read(ref _attempt);
        if (current is null || current.IsFaulted || current.IsCanceled)
        {
            Interlocked.CompareExchange(ref _attempt, create(cancellationToken), current);
            current = Volatile.Read(ref _attempt)!;
        }
        return current;
    }
}
