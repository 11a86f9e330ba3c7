using System.Collections.Concurrent;

namespace WatchStat.WeCom;

/// <summary>
/// An in-memory cache whose entries stay fresh until a moment their fetch decides, shared by every caller in the
/// process: at most one fetch per key is in flight, and concurrent callers wait for it and share its value.
/// A value found wrong is dropped only if it is still the cached one, so a burst of rejections causes one refetch.
/// </summary>
public sealed class SharedCache<TKey, TValue>(TimeProvider time)
    where TKey : notnull
    where TValue : class
{
    private readonly ConcurrentDictionary<TKey, Slot> _slots = new();

    public async ValueTask<TValue> GetAsync(
        TKey key,
        Func<CancellationToken, Task<(TValue Value, DateTimeOffset FreshUntil)>> fetch,
        CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd(key, static _ => new Slot());
        if (Fresh(Volatile.Read(ref slot.Current)) is { } cached) return cached;

        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Whoever held the gate before us may have fetched it already.
            if (Fresh(Volatile.Read(ref slot.Current)) is { } fetched) return fetched;
            var (value, freshUntil) = await fetch(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref slot.Current, new Entry(value, freshUntil));
            return value;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>Drops <paramref name="rejected"/> if it is still the value cached under <paramref name="key"/>.</summary>
    public void Invalidate(TKey key, TValue rejected)
    {
        if (!_slots.TryGetValue(key, out var slot)) return;
        var current = Volatile.Read(ref slot.Current);
        if (current is not null && EqualityComparer<TValue>.Default.Equals(current.Value, rejected))
            Interlocked.CompareExchange(ref slot.Current, null, current);
    }

    /// <summary>Drops whatever is cached under <paramref name="key"/>: its source changed (a secret written or deleted here).</summary>
    public void Forget(TKey key)
    {
        if (_slots.TryGetValue(key, out var slot)) Volatile.Write(ref slot.Current, null);
    }

    private TValue? Fresh(Entry? entry) => entry is not null && time.GetUtcNow() < entry.FreshUntil ? entry.Value : null;

    private sealed record Entry(TValue Value, DateTimeOffset FreshUntil);

    // One slot per key for the life of the process; its semaphore never allocates a wait handle.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Lives as long as the cache.")]
    private sealed class Slot
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public Entry? Current;
    }
}
