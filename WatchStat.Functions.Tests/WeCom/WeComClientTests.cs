using Microsoft.Extensions.Time.Testing;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.WeCom;

/// <summary>The WeCom client against the simulator over real HTTP on loopback.</summary>
public sealed class WeComClientTests : IAsyncLifetime
{
    private RunningSimulator _simulator = null!;
    private string _storage = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync(new SimulatorOptions());
        _storage = (await Azurite.SharedAsync()).ConnectionString; // the WeCom budget's counts
    }

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Fact]
    public async Task A_multi_page_walk_returns_every_viewer_with_every_field()
    {
        await using var host = AppHost.Create(_simulator, storageConnectionString: _storage);
        const string livingId = "lv-walk-250m170x";
        var live = _simulator.State.FindLive(livingId)!;

        var (viewers, pages) = await WalkAsync(host, livingId);

        Assert.Equal(live.PageCount(100), pages);
        Assert.True(pages >= 5, $"the walk should span several pages, it took {pages}");
        Assert.Equal(Describe(live.ExpectedViewers()), viewers);
        Assert.Contains(viewers, v => v.InvitorUserId is not null);
        Assert.Contains(viewers, v => v.InvitorExternalUserId is not null);
        Assert.Equal(1, _simulator.State.Counters.Calls(WeComClient.GetTokenApi));
        Assert.Equal(pages, _simulator.State.Counters.Calls(WeComClient.GetWatchStatApi));
    }

    [Fact]
    public async Task Ending_is_the_only_end_and_empty_pages_are_walked_through()
    {
        const string livingId = "lv-empty-pages";
        _simulator.State.AddLive(livingId, new LiveSpec { Members = 120, Externals = 80, EmptyPageEvery = 2 });
        await using var host = AppHost.Create(_simulator, storageConnectionString: _storage);
        var live = _simulator.State.FindLive(livingId)!;

        var (viewers, pages) = await WalkAsync(host, livingId);

        Assert.Equal(live.PageCount(100), pages);
        Assert.Equal(Describe(live.ExpectedViewers()), viewers);
    }

    [Fact]
    public async Task A_token_is_renewed_before_it_expires_and_reused_until_then()
    {
        // One clock for both sides: the simulator issues 60 s tokens, the client renews 6 s before expiry.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions { TokenLifetimeSeconds = 60 }, time);
        await using var host = AppHost.Create(simulator, time, _storage);
        const string livingId = "lv-renew-900m100x";

        var pages = 0;
        var nextKey = "0";
        var renewals = new List<int>();
        while (true)
        {
            var page = await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, livingId, nextKey, default);
            pages++;
            if (page.IsLastPage) break;
            nextKey = page.NextKey!;
            time.Advance(TimeSpan.FromSeconds(20));
        }

        // Calls at t = 0, 20, ..., 180 s; each token serves until 54 s after it was fetched.
        var expected = 0;
        double? renewAt = null;
        for (var t = 0; t < pages * 20; t += 20)
        {
            if (renewAt is null || t >= renewAt) { expected++; renewAt = t + 54; }
        }
        Assert.Equal(10, pages);
        Assert.Equal(expected, simulator.State.Counters.Calls(WeComClient.GetTokenApi));
        Assert.Equal(4, expected);
        Assert.Equal(0, simulator.State.Counters.Errors(42001));
    }

    [Fact]
    public async Task A_revoked_token_is_fetched_again_and_the_call_retried_once()
    {
        await using var host = AppHost.Create(_simulator, storageConnectionString: _storage);
        await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-revoke-10m10x", "0", default);
        _simulator.State.RevokeAllTokens();
        var counters = _simulator.State.Counters;
        var (tokens, calls) = (counters.Calls(WeComClient.GetTokenApi), counters.Calls(WeComClient.GetWatchStatApi));

        var page = await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-revoke-10m10x", "0", default);

        Assert.Equal(20, page.Users.Count + page.ExternalUsers.Count);
        Assert.Equal(1, counters.Errors(40014));
        Assert.Equal(tokens + 1, counters.Calls(WeComClient.GetTokenApi));
        Assert.Equal(calls + 2, counters.Calls(WeComClient.GetWatchStatApi));
    }

    [Fact]
    public async Task A_token_WeCom_calls_expired_is_fetched_again_and_the_call_retried_once()
    {
        // The simulator's clock runs ahead of the client's, so WeCom expires a token the client still holds.
        var wecomTime = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions(), wecomTime);
        await using var host = AppHost.Create(simulator, storageConnectionString: _storage);
        await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-expire-10m10x", "0", default);
        wecomTime.Advance(TimeSpan.FromHours(3));

        var page = await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-expire-10m10x", "0", default);

        Assert.Equal(20, page.Users.Count + page.ExternalUsers.Count);
        Assert.Equal(1, simulator.State.Counters.Errors(42001));
        Assert.Equal(2, simulator.State.Counters.Calls(WeComClient.GetTokenApi));
        Assert.Equal(3, simulator.State.Counters.Calls(WeComClient.GetWatchStatApi));
    }

    [Fact]
    public async Task Fifty_parallel_calls_on_a_cold_cache_fetch_one_token()
    {
        _simulator.State.Options.LatencyMilliseconds = 50; // keep the gettoken call in flight while the others arrive
        try
        {
            await using var host = AppHost.Create(_simulator, storageConnectionString: _storage);
            var before = _simulator.State.Counters.Calls(WeComClient.GetTokenApi);

            var pages = await Task.WhenAll(Enumerable.Range(0, 50)
                .Select(_ => host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-parallel-60m40x", "0", default)));

            Assert.All(pages, p => Assert.Equal(100, p.Users.Count + p.ExternalUsers.Count));
            Assert.Equal(before + 1, _simulator.State.Counters.Calls(WeComClient.GetTokenApi));
        }
        finally
        {
            _simulator.State.Options.LatencyMilliseconds = 0;
        }
    }

    [Fact]
    public async Task A_wrong_corpid_is_a_configuration_error_that_is_not_retried()
    {
        await using var host = AppHost.Create(_simulator, storageConnectionString: _storage, settings: new Dictionary<string, string?> { ["WeCom:CorpId"] = "ww-not-a-corp" });

        var error = await Assert.ThrowsAsync<WeComException>(() => host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-x-1m1x", "0", default));

        Assert.Equal((WeComClient.GetTokenApi, 40013, WeComErrorKind.InvalidCorpId, false), (error.Api, error.ErrCode, error.Kind, error.IsRetryable));
        Assert.Contains("40013", error.Message);
        Assert.Equal(0, _simulator.State.Counters.Calls(WeComClient.GetWatchStatApi));
    }

    [Fact]
    public async Task A_wrong_secret_fails_with_40001_and_the_secret_is_not_in_the_message()
    {
        const string wrongSecret = "definitely-not-the-secret-4711";
        await using var host = AppHost.Create(_simulator, storageConnectionString: _storage, settings: new Dictionary<string, string?> { ["WeCom:Secret"] = wrongSecret });

        var error = await Assert.ThrowsAsync<WeComException>(() => host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-x-1m1x", "0", default));

        Assert.Equal((40001, WeComErrorKind.InvalidSecret, false), (error.ErrCode, error.Kind, error.IsRetryable));
        Assert.False(error.ToString().Contains(wrongSecret, StringComparison.Ordinal), "the exception text carries the secret");
    }

    [Fact]
    public async Task An_unknown_livingid_keeps_errcode_and_errmsg()
    {
        await using var host = AppHost.Create(_simulator, storageConnectionString: _storage);

        var error = await Assert.ThrowsAsync<WeComException>(() => host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "no-such-live", "0", default));

        Assert.Equal((WeComClient.GetWatchStatApi, 40058, WeComErrorKind.Other, false), (error.Api, error.ErrCode, error.Kind, error.IsRetryable));
        Assert.False(string.IsNullOrEmpty(error.ErrMsg));
        Assert.Contains(error.ErrMsg!, error.Message);
    }

    [Fact]
    public async Task An_unreachable_WeCom_is_a_retryable_transport_error()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using var host = AppHost.Create(_simulator, storageConnectionString: _storage, settings: new Dictionary<string, string?> { ["WeCom:BaseUrl"] = $"http://127.0.0.1:{port}/" });

        var error = await Assert.ThrowsAsync<WeComException>(() => host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-x-1m1x", "0", default));

        Assert.Equal((WeComErrorKind.Transport, true, (int?)null), (error.Kind, error.IsRetryable, error.ErrCode));
    }

    private static async Task<(List<ViewerFields> Viewers, int Pages)> WalkAsync(AppHost host, string livingId)
    {
        var byId = new Dictionary<(bool, string), ViewerFields>();
        var order = new List<(bool, string)>();
        var pages = 0;
        var nextKey = "0";
        while (true)
        {
            var page = await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, livingId, nextKey, default);
            pages++;
            foreach (var u in page.Users)
                Add(new ViewerFields(true, u.UserId, 0, null, u.WatchTime, u.IsComment, u.IsMic, u.InvitorUserId, u.InvitorExternalUserId));
            foreach (var x in page.ExternalUsers)
                Add(new ViewerFields(false, x.ExternalUserId, x.Type, x.Name, x.WatchTime, x.IsComment, x.IsMic, x.InvitorUserId, x.InvitorExternalUserId));
            if (page.IsLastPage) break;
            Assert.False(string.IsNullOrEmpty(page.NextKey));
            nextKey = page.NextKey!;
        }
        return (Sorted(byId.Values), pages);

        void Add(ViewerFields v)
        {
            if (byId.TryAdd((v.IsMember, v.Id), v)) order.Add((v.IsMember, v.Id));
            else byId[(v.IsMember, v.Id)] = v;
        }
    }

    private static List<ViewerFields> Describe(IEnumerable<SimulatedViewer> viewers) => Sorted(viewers.Select(v =>
        new ViewerFields(v.IsMember, v.Id, v.Type, v.Name, v.WatchTime, v.IsComment, v.IsMic, v.InvitorUserId, v.InvitorExternalUserId)));

    private static List<ViewerFields> Sorted(IEnumerable<ViewerFields> viewers) =>
        [.. viewers.OrderBy(v => v.IsMember).ThenBy(v => v.Id, StringComparer.Ordinal)];

    private sealed record ViewerFields(
        bool IsMember, string Id, int Type, string? Name, int WatchTime, int IsComment, int IsMic, string? InvitorUserId, string? InvitorExternalUserId);
}
