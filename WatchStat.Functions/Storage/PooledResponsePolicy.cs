using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.IO;

namespace WatchStat.Storage;

/// <summary>
/// Buffers the body of every table read (a GET: an entity or a query page of up to 1,000 rows) into pooled blocks
/// instead of the fresh <see cref="MemoryStream"/> Azure.Core grows for each response. A query page is about 1 MB of
/// JSON: buffered the SDK's way it leaves a megabyte or two of large-object-heap garbage per page, which only a full
/// GC reclaims, so reading a 100,000-viewer live grew the heap by ~25 MB. Pooled, the same few blocks serve every page.
/// The CLI adds it (<see cref="AddTo"/>): its export and report read whole partitions. The Functions app does not: it
/// reads single entities and a run's page records once, and in the real host the worker's peak memory and the time
/// per page measured the same with it and without it.
/// </summary>
/// <remarks>
/// It runs once per try (<see cref="HttpPipelinePosition.PerRetry"/>), inside the retry policy, so the body is read in
/// full within the attempt exactly as with the SDK's own buffering: a connection that drops mid-body is retried, and
/// the SDK then parses a complete, seekable stream. Disposing the response returns the blocks.
/// </remarks>
public sealed class PooledResponsePolicy : HttpPipelinePolicy
{
    private static readonly RecyclableMemoryStreamManager Pool = new(new RecyclableMemoryStreamManager.Options
    {
        // Blocks of 64 KiB stay below the large-object threshold; a page takes ~16 of them.
        BlockSize = 64 * 1024,
        // Keep what a few concurrent pages need, return the rest to the GC.
        MaximumSmallPoolFreeBytes = 8 * 1024 * 1024,
        MaximumLargePoolFreeBytes = 8 * 1024 * 1024,
    });

    public static PooledResponsePolicy Instance { get; } = new();

    /// <summary>Table reads of clients made with these options buffer their bodies in pooled blocks, within each try.</summary>
    public static void AddTo(Azure.Data.Tables.TableClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddPolicy(Instance, HttpPipelinePosition.PerRetry);
    }

    private PooledResponsePolicy()
    {
    }

    // One body for both: with async false every await below completes synchronously.
    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline, async: false).AsTask().GetAwaiter().GetResult();

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline, async: true);

    private static async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline, bool async)
    {
        // Reads only: writes answer with small bodies, and a transaction's multipart answer is left to the SDK.
        var reads = message.Request.Method == RequestMethod.Get;
        if (reads) message.BufferResponse = false;
        if (async) await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        else ProcessNext(message, pipeline);
        if (!reads || message.Response.ContentStream is not { } network) return;

        var pooled = Pool.GetStream(nameof(PooledResponsePolicy));
        try
        {
            if (async) await network.CopyToAsync(pooled, message.CancellationToken).ConfigureAwait(false);
            else network.CopyTo(pooled);
        }
        catch
        {
            pooled.Dispose();
            throw;
        }
        network.Dispose();
        pooled.Position = 0;
        message.Response.ContentStream = pooled;
    }
}
