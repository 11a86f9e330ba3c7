using System.Net.Http;
using Microsoft.Extensions.DependencyInjection;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.WeCom;

/// <summary>
/// The access token and the secret never reach a log line or an exception. This test process runs with
/// HttpClient's URI redaction switched OFF (see the test project), so any handler that logs a whole URI would leak here.
/// </summary>
public sealed class SecretHygieneTests : IAsyncLifetime
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
    public async Task No_log_line_of_a_real_walk_carries_the_token_or_the_secret()
    {
        var seen = new RecordingHandler();
        await using var host = AppHost.Create(_simulator, storageConnectionString: _storage,
            configure: services => services.AddHttpClient<WeComClient>().AddHttpMessageHandler(() => seen));
        var secret = _simulator.State.Options.Apps[0].Secret;

        var nextKey = "0";
        while (true)
        {
            var page = await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-logs-150m50x", nextKey, default);
            if (page.IsLastPage) break;
            nextKey = page.NextKey!;
        }
        _simulator.State.RevokeAllTokens(); // a token rejection and retry is logged too
        await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-logs-150m50x", "0", default);
        // ... and the resilience pipeline's retries of transient faults.
        _simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.Http502, FaultKind.SystemBusy, FaultKind.TruncatedJson], ToCall = 3 }]);
        await host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "lv-logs-150m50x", "0", default);
        await Assert.ThrowsAsync<WeComException>(() => host.Client.GetWatchStatAsync(host.App, host.App.CorpId, "no-such-live", "0", default));

        var tokens = seen.AccessTokens();
        Assert.Equal(2, tokens.Count);
        var logs = host.Logs.GetSnapshot();
        Assert.NotEmpty(logs);
        var text = string.Join('\n', logs.Select(r => $"{r.Category} {r.Level} {r.Message} {r.Exception} {string.Join(',', r.StructuredState ?? [])}"));
        Assert.Contains(WeComClient.GetWatchStatApi, text); // the lines are there, naming the API
        Assert.Contains(logs, r => r.Category?.StartsWith("Polly", StringComparison.Ordinal) == true); // retries were logged
        foreach (var token in tokens)
            Assert.False(text.Contains(token, StringComparison.Ordinal), "a log line carries an access token");
        Assert.False(text.Contains(secret, StringComparison.Ordinal), "a log line carries the secret");
    }

    [Fact]
    public async Task Token_records_do_not_print_the_token()
    {
        var token = new AccessToken("tok-0123456789-secret-value", DateTimeOffset.UnixEpoch);
        var result = new TokenResult { AccessToken = "tok-0123456789-secret-value", ExpiresIn = 7200 };

        Assert.DoesNotContain("tok-0123456789", token.ToString());
        Assert.DoesNotContain("tok-0123456789", result.ToString());
        await Task.CompletedTask;
    }

    /// <summary>Sees each request the client sends, to learn which tokens were in use.</summary>
    private sealed class RecordingHandler : DelegatingHandler
    {
        private readonly List<Uri> _uris = [];

        public IReadOnlyList<string> AccessTokens()
        {
            lock (_uris)
            {
                return [.. _uris.Select(u => System.Web.HttpUtility.ParseQueryString(u.Query)["access_token"])
                    .OfType<string>().Distinct()];
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (_uris) _uris.Add(request.RequestUri!);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
