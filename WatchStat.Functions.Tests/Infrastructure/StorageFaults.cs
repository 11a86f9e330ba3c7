using Azure.Core;
using Azure.Core.Pipeline;

namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// A storage-transport fault at the edge of the app: the Nth request that matches fails as if the process died
/// before it reached the service. Placed per call (before the SDK's retries), so nothing retries it.
/// </summary>
public sealed class StorageFaults : HttpPipelinePolicy
{
    private Func<Request, bool>? _match;
    private int _countdown;
    private int _repeat = 1;

    private readonly List<string> _requests = [];

    public int Injected { get; private set; }

    /// <summary>Every storage request that passed, as "METHOD /path" (query left out).</summary>
    public IReadOnlyList<string> Requests
    {
        get { lock (this) return [.. _requests]; }
    }

    public void ClearRequests()
    {
        lock (this) _requests.Clear();
    }

    /// <summary>
    /// Fails the <paramref name="nth"/> request (1-based) that <paramref name="match"/> accepts from now on, and the
    /// <paramref name="times"/> - 1 matching requests after it (a retried request matches again).
    /// </summary>
    public void FailNth(int nth, Func<Request, bool> match, int times = 1)
    {
        lock (this)
        {
            _match = match;
            _countdown = nth;
            _repeat = times;
        }
    }

    /// <summary>The transaction that advances a checkpoint: a batch on the Harvests table.</summary>
    public static bool IsCheckpointWrite(Request request) => IsBatchOn(request, "Harvests");

    /// <summary>A transaction that writes viewer rows: a batch on the WatchStats table.</summary>
    public static bool IsRowsWrite(Request request) => IsBatchOn(request, "WatchStats");

    private static bool IsBatchOn(Request request, string table)
    {
        if (request.Method != RequestMethod.Post || !request.Uri.Path.EndsWith("/$batch", StringComparison.Ordinal) || request.Content is null) return false;
        using var body = new MemoryStream();
        request.Content.WriteTo(body, default);
        return System.Text.Encoding.UTF8.GetString(body.ToArray()).Contains($"/{table}(", StringComparison.Ordinal);
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Check(message);
        ProcessNext(message, pipeline);
    }

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Check(message);
        return ProcessNextAsync(message, pipeline);
    }

    private void Check(HttpMessage message)
    {
        lock (this)
        {
            _requests.Add($"{message.Request.Method} {message.Request.Uri.Path}");
            if (_match is null || !_match(message.Request) || --_countdown > 0) return;
            if (--_repeat <= 0) _match = null;
            Injected++;
        }
        throw new IOException("Injected fault: the process died before this storage request was sent.");
    }
}
