using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Storage;

/// <summary>
/// Table reads go through <see cref="PooledResponsePolicy"/> (the CLI's storage clients carry it): the rows must come back exactly, a body cut off mid-read must be retried as with the SDK's own buffering, and
/// errors must keep their status and code. Against a real Azurite.
/// </summary>
public sealed class PooledResponsePolicyTests : IAsyncLifetime
{
    private readonly BodyCutter _cutter = new();
    private StorageClients _clients = null!;
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        var azurite = await Azurite.SharedAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [StorageClients.SettingName] = azurite.ConnectionString })
            .Build();
        // The cutter sits after the pooled policy, nearer the wire: it spoils what the pooled policy reads.
        _clients = StorageClients.FromConfiguration(configuration, configureTables: o =>
        {
            PooledResponsePolicy.AddTo(o);
            o.AddPolicy(_cutter, HttpPipelinePosition.PerRetry);
            o.Retry.Delay = TimeSpan.FromMilliseconds(10);
        });
        _table = _clients.Tables.GetTableClient($"pooled{Guid.NewGuid().ToString("N")[..12]}");
        await _table.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync() => await _table.DeleteAsync();

    [Fact]
    public async Task A_query_of_several_pages_returns_every_row_with_every_value()
    {
        var written = Rows("live-1", 2_345);
        foreach (var chunk in written.Chunk(100))
            await _table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r)));

        var pages = 0;
        var read = new List<TableEntity>();
        await foreach (var page in _table.QueryAsync<TableEntity>(e => e.PartitionKey == "live-1", maxPerPage: 1000).AsPages())
        {
            pages++;
            read.AddRange(page.Values);
        }

        Assert.Equal(3, pages);
        Assert.Equal(written.Count, read.Count);
        foreach (var (expected, actual) in written.OrderBy(r => r.RowKey, StringComparer.Ordinal).Zip(read))
        {
            Assert.Equal(expected.RowKey, actual.RowKey);
            Assert.Equal(expected.GetString("Name"), actual.GetString("Name"));
            Assert.Equal(expected.GetInt32("WatchTimeSeconds"), actual.GetInt32("WatchTimeSeconds"));
            Assert.Equal(expected.GetInt64("Big"), actual.GetInt64("Big"));
            Assert.Equal(expected.GetBoolean("IsMic"), actual.GetBoolean("IsMic"));
            Assert.Equal(expected.GetDouble("Share"), actual.GetDouble("Share"));
            Assert.Equal(expected.GetDateTimeOffset("HarvestedAt"), actual.GetDateTimeOffset("HarvestedAt"));
        }
    }

    [Fact]
    public async Task A_body_cut_off_mid_read_is_read_again_within_the_retries()
    {
        var written = Rows("live-2", 300);
        foreach (var chunk in written.Chunk(100))
            await _table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r)));
        _cutter.CutNextGetAfter(bytes: 4096);

        var read = new List<TableEntity>();
        await foreach (var row in _table.QueryAsync<TableEntity>(e => e.PartitionKey == "live-2", maxPerPage: 1000)) read.Add(row);

        Assert.Equal(1, _cutter.Cut);
        Assert.Equal(2, _cutter.Gets); // the cut attempt and its retry
        Assert.Equal(written.Select(r => r.RowKey).Order(StringComparer.Ordinal), read.Select(r => r.RowKey));
    }

    [Fact]
    public async Task Errors_keep_their_status_and_code()
    {
        var missing = _clients.Tables.GetTableClient(_table.Name + "gone");

        var error = await Assert.ThrowsAsync<RequestFailedException>(async () =>
        {
            await foreach (var _ in missing.QueryAsync<TableEntity>(e => e.PartitionKey == "x")) { }
        });
        var absent = await _table.GetEntityIfExistsAsync<TableEntity>("nobody", "nothing");

        Assert.Equal((404, "TableNotFound"), (error.Status, error.ErrorCode));
        Assert.False(absent.HasValue);
    }

    private static List<TableEntity> Rows(string partition, int count) =>
    [
        .. Enumerable.Range(0, count).Select(i => new TableEntity(partition, $"m:{i:D6}")
        {
            ["Name"] = $"王小明 {i}, \"引号\" 🐼",
            ["WatchTimeSeconds"] = i * 7,
            ["Big"] = 10_000_000_000L + i,
            ["IsMic"] = i % 3 == 0,
            ["Share"] = i / 3.0,
            ["HarvestedAt"] = new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero).AddSeconds(i),
        }),
    ];

    /// <summary>Cuts the body of the next GET after some bytes, as a connection that drops mid-response does.</summary>
    private sealed class BodyCutter : HttpPipelinePolicy
    {
        private int _cutAfter = -1;

        public int Cut { get; private set; }

        public int Gets { get; private set; }

        public void CutNextGetAfter(int bytes)
        {
            _cutAfter = bytes;
            Gets = 0;
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            Spoil(message);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            Spoil(message);
        }

        private void Spoil(HttpMessage message)
        {
            if (message.Request.Method != RequestMethod.Get) return;
            Gets++;
            if (_cutAfter < 0 || message.Response.ContentStream is not { } body) return;
            message.Response.ContentStream = new CutStream(body, _cutAfter);
            _cutAfter = -1;
            Cut++;
        }
    }

    /// <summary>Passes the first bytes through, then fails as a reset connection does.</summary>
    private sealed class CutStream(Stream inner, int after) : Stream
    {
        private int _left = after;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_left <= 0) throw new IOException("Injected: the connection was reset mid-body.");
            var read = inner.Read(buffer[..Math.Min(buffer.Length, _left)]);
            _left -= read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left <= 0) throw new IOException("Injected: the connection was reset mid-body.");
            var read = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, _left)], cancellationToken);
            _left -= read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
