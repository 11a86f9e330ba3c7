using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeCom.Suites;
using WatchStat.WeComSimulator;
using Xunit.Abstractions;

namespace WatchStat.Tests.Suites;

/// <summary>
/// A service provider's third-party app, end to end: the simulator plays WeCom's suite side (tickets on a timer, the
/// install flow, get_suite_token, get_permanent_code, get_corp_token, corps kept apart) and calls the app's callback
/// route over real HTTP on 127.0.0.1; the suite's secrets and what the app receives live in a fake Key Vault behind
/// the real SecretClient; runs go through the Azurite queue.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Disposed in DisposeAsync (xUnit's lifetime).")]
public sealed class ThirdPartyAppTests(ITestOutputHelper output) : PipelineTest
{
    private const string App = "provider";
    private const string SuiteId = "wwsuite0watchstat";
    private const string SuiteSecret = "suite-secret-value-0123456789";
    private const string CallbackToken = "SuiteCallback42";
    private const string AesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    // Corps no other test uses: the tables outlive a test, and an installation is kept per app and corp.
    private static readonly string Run = Guid.NewGuid().ToString("N")[..6];
    private readonly string Alpha = "wwalpha" + Run + Interlocked.Increment(ref _instances);
    private readonly string Beta = "wwbeta" + Run + _instances;
    private readonly string Gamma = "wwgamma" + Run + _instances;
    private static int _instances;

    private readonly FakeKeyVault _vault = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private FunctionEndpoint _endpoint = null!;

    protected override TimeProvider? Time => _time;

    protected override SimulatorOptions SimulatorOptions => new()
    {
        Suites = [new() { SuiteId = SuiteId, SuiteSecret = SuiteSecret }],
        PageSize = 100,
    };

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:CorpId"] = null,
        ["WeCom:Secret"] = null,
        ["KeyVault:Uri"] = FakeKeyVault.VaultUri.ToString(),
        [$"WeCom:Apps:{App}:Kind"] = "thirdparty",
        [$"WeCom:Apps:{App}:SuiteId"] = SuiteId,
        [$"WeCom:Apps:{App}:SuiteSecretName"] = "provider-suite-secret",
        [$"WeCom:Apps:{App}:CallbackTokenSecretName"] = "provider-callback-token",
        [$"WeCom:Apps:{App}:EncodingAesKeySecretName"] = "provider-aes-key",
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton(_vault.CreateClient());

    private SuiteSide Suites => Simulator.State.Suites;
    private WeComApp Provider => Host.Get<WeComApps>().Get(App);

    public override async Task InitializeAsync()
    {
        _vault.Set("provider-suite-secret", SuiteSecret);
        _vault.Set("provider-callback-token", CallbackToken);
        _vault.Set("provider-aes-key", AesKey);
        await base.InitializeAsync();
        _endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        // As the provider saving the URL in its console: WeCom checks it, then pushes the first suite_ticket.
        var check = await Suites.RegisterCallbackAsync(SuiteId, _endpoint.CallbackUrl(App).ToString(), CallbackToken, AesKey);
        Assert.True(check!.Verified, $"URL check: {check}");
        Assert.NotNull(_vault.Get(SuiteVault.TicketSecretName(Provider)));
    }

    public override async Task DisposeAsync()
    {
        await _endpoint.DisposeAsync();
        await base.DisposeAsync();
        _vault.Dispose();
    }

    [Fact]
    public async Task Three_corps_install_the_suite_and_their_lives_are_harvested_in_parallel_each_under_its_own_corp()
    {
        foreach (var corp in new[] { Alpha, Beta, Gamma }) await AuthorizeAsync(corp);
        // The same livingid in two corps, different lives; a third corp's own live.
        var shared = NewLiveId("shared");
        var gammaLive = NewLiveId("gamma");
        var lives = new Dictionary<LiveKey, LiveSpec>
        {
            [new(Alpha, shared)] = new() { CorpId = Alpha, Members = 260, Externals = 140 },
            [new(Beta, shared)] = new() { CorpId = Beta, Members = 90, Externals = 30 },
            [new(Gamma, gammaLive)] = new() { CorpId = Gamma, Members = 330, Externals = 0 },
        };
        foreach (var (live, spec) in lives) Simulator.State.AddLive(live.LivingId, spec);

        var answers = await Task.WhenAll(lives.Keys.Select(live => PostAsync(live)));
        Assert.All(answers, a => Assert.Equal(202, a.Status));
        Assert.Contains("corpid=" + Beta, answers[1].Location);
        await NewDriver().DrainAsync();

        foreach (var (live, spec) in lives)
        {
            var status = await Store.GetAsync(live, default);
            Assert.Equal((HarvestStates.Completed, spec.Members, spec.Externals, Provider.Name), (status!.State, status.MembersWritten, status.ExternalWritten, status.App));
            var rows = await RowsAsync(live);
            Assert.Equal(spec.Members + spec.Externals, rows.Count);
            output.WriteLine($"rows: corp {live.CorpId}, live {live.LivingId}: {rows.Count} viewer rows in its partition, status {status.State} "
                + $"({status.MembersWritten} members, {status.ExternalWritten} external)");
            Assert.All(rows, r => Assert.Equal((live.CorpId, live.LivingId, live.PartitionKey), (r.GetString("CorpId"), r.GetString("LivingId"), r.PartitionKey)));
            // The simulator's viewers of this corp's live, and not the other corp's live of the same id.
            var expected = Simulator.State.FindLive(live.LivingId, live.CorpId)!.ExpectedViewers().Select(v => (v.IsMember ? "m:" : "x:") + v.Id).Order(StringComparer.Ordinal);
            Assert.Equal(expected, rows.Select(r => r.RowKey).Order(StringComparer.Ordinal));
        }
        // No query of one corp's data returns another's: a whole-table look finds each corp's rows only in its partitions.
        var byCorp = new Dictionary<string, int>();
        await foreach (var row in Store.WatchStats.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {new LiveKey(Alpha, shared).PartitionKey}")))
            byCorp[row.GetString("CorpId")] = byCorp.GetValueOrDefault(row.GetString("CorpId")) + 1;
        Assert.Equal(new Dictionary<string, int> { [Alpha] = 400 }, byCorp);

        var calls = TokenCalls();
        output.WriteLine($"token calls, three corps in parallel: {calls}");
        Assert.Equal(1, calls.Suite);
        Assert.Equal(3, calls.PermanentCode);
        Assert.All(new[] { Alpha, Beta, Gamma }, corp => Assert.Equal(1, calls.Corp[corp]));

        // The same lives again within the tokens' lifetime: no token call at all.
        await Task.WhenAll(lives.Keys.Select(live => PostAsync(live, force: true)));
        await NewDriver().DrainAsync();
        Assert.Equal(calls.ToString(), TokenCalls().ToString());

        // Past the corp tokens' lifetime (and the suite token's): one of each again, however many pages want them.
        Suites.RemoveCallback(SuiteId);
        _time.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
        await Suites.RegisterCallbackAsync(SuiteId, _endpoint.CallbackUrl(App).ToString(), CallbackToken, AesKey);
        await Task.WhenAll(lives.Keys.Select(live => PostAsync(live, force: true)));
        await NewDriver().DrainAsync();
        var later = TokenCalls();
        output.WriteLine($"token calls, after the tokens' lifetime and two more rounds: {later}");
        Assert.Equal(2, later.Suite);
        Assert.All(new[] { Alpha, Beta, Gamma }, corp => Assert.Equal(2, later.Corp[corp]));
        foreach (var live in lives.Keys) Assert.Equal(HarvestStates.Completed, (await Store.GetAsync(live, default))!.State);

        await AssertNoSecretsAsync();
    }

    [Fact]
    public async Task A_run_whose_ticket_expired_waits_for_the_next_push_and_completes()
    {
        await AuthorizeAsync(Alpha);
        var live = new LiveKey(Alpha, NewLiveId("ticket"));
        Simulator.State.AddLive(live.LivingId, new LiveSpec { CorpId = Alpha, Members = 500, Externals = 300 });
        Assert.Equal(202, (await PostAsync(live)).Status);
        // Two pages, then WeCom's pushes stop reaching the app for longer than a ticket and the tokens last.
        await DeliverPagesAsync(2);
        Suites.RemoveCallback(SuiteId);
        _time.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
        await NewDriver().DrainAsync();

        var waiting = await Store.GetAsync(live, default);
        Assert.Equal((HarvestStates.Failed, 2, 40085), (waiting!.State, waiting.PagesDone, waiting.LastErrorCode));
        Assert.Contains("suite_ticket", waiting.LastErrorMessage);

        // The next push: the app keeps the ticket and puts the run back to work from its checkpoint.
        await Suites.RegisterCallbackAsync(SuiteId, _endpoint.CallbackUrl(App).ToString(), CallbackToken, AesKey);
        Assert.Equal(1, await QueueLengthAsync());
        await NewDriver().DrainAsync();
        var done = await Store.GetAsync(live, default);
        Assert.Equal((HarvestStates.Completed, 500, 300), (done!.State, done.MembersWritten, done.ExternalWritten));
        Assert.Equal(800, (await RowsAsync(live)).Count);
        await AssertNoSecretsAsync();
    }

    [Fact]
    public async Task With_no_ticket_at_all_runs_fail_with_the_reason_and_go_on_when_one_arrives()
    {
        await AuthorizeAsync(Alpha);
        await AuthorizeAsync(Beta);
        // A fresh deployment that has never received a ticket, with no suite token yet.
        Suites.RemoveCallback(SuiteId);
        _vault.Purge(SuiteVault.TicketSecretName(Provider));
        _time.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
        var lives = new[] { new LiveKey(Alpha, NewLiveId("noticket")), new LiveKey(Beta, NewLiveId("noticket")) };
        foreach (var live in lives) Simulator.State.AddLive(live.LivingId, new LiveSpec { CorpId = live.CorpId, Members = 120, Externals = 80 });
        foreach (var live in lives) Assert.Equal(202, (await PostAsync(live)).Status);
        await NewDriver().DrainAsync();

        foreach (var live in lives)
        {
            var failed = await Store.GetAsync(live, default);
            Assert.Equal(HarvestStates.Failed, failed!.State);
            Assert.Contains("No suite_ticket has arrived yet", failed.LastErrorMessage);
        }

        await Suites.RegisterCallbackAsync(SuiteId, _endpoint.CallbackUrl(App).ToString(), CallbackToken, AesKey);
        await NewDriver().DrainAsync();
        foreach (var live in lives) Assert.Equal((HarvestStates.Completed, 200), ((await Store.GetAsync(live, default))!.State, (await RowsAsync(live)).Count));
        // Put back to work once: a later ticket finds nobody waiting.
        await Suites.PushTicketAsync(SuiteId);
        Assert.Equal(0, await QueueLengthAsync());
        await AssertNoSecretsAsync();
    }

    [Fact]
    public async Task Cancel_auth_mid_run_fails_that_corps_run_with_the_reason_and_leaves_other_corps_alone()
    {
        await AuthorizeAsync(Alpha);
        await AuthorizeAsync(Beta);
        var livingId = NewLiveId("cancel");
        var (alpha, beta) = (new LiveKey(Alpha, livingId), new LiveKey(Beta, livingId));
        Simulator.State.AddLive(livingId, new LiveSpec { CorpId = Alpha, Members = 600, Externals = 0 });
        Simulator.State.AddLive(livingId, new LiveSpec { CorpId = Beta, Members = 400, Externals = 100 });
        Assert.Equal(202, (await PostAsync(alpha)).Status);
        Assert.Equal(202, (await PostAsync(beta)).Status);
        await DeliverPagesAsync(2);

        var cancel = await Suites.CancelAuthAsync(SuiteId, Alpha);
        Assert.True(cancel.Accepted, cancel.ToString());
        await NewDriver().DrainAsync();

        var stopped = await Store.GetAsync(alpha, default);
        Assert.Equal(HarvestStates.Failed, stopped!.State);
        Assert.Contains($"Corp {Alpha} cancelled its authorization", stopped.LastErrorMessage);
        Assert.True(stopped.PagesDone < 6);
        var other = await Store.GetAsync(beta, default);
        Assert.Equal((HarvestStates.Completed, 400, 100), (other!.State, other.MembersWritten, other.ExternalWritten));
        Assert.True(_vault.IsDeleted(SuiteVault.PermanentCodeSecretName(Provider, Alpha)));
        Assert.NotNull(_vault.Get(SuiteVault.PermanentCodeSecretName(Provider, Beta)));
        Assert.False((await Host.Get<InstallationStore>().GetAsync(Provider, Alpha, default))!.IsAuthorized);

        // A new request for the corp is refused and changes nothing; the corp installing the app again works again.
        var refused = await PostAsync(new LiveKey(Alpha, NewLiveId("after")));
        Assert.Equal(400, refused.Status);
        Assert.Contains("has not authorized", refused.Body);
        await AuthorizeAsync(Alpha);
        Assert.Equal(202, (await PostAsync(alpha, force: true)).Status);
        await NewDriver().DrainAsync();
        Assert.Equal(HarvestStates.Completed, (await Store.GetAsync(alpha, default))!.State);
        await AssertNoSecretsAsync();
    }

    [Fact]
    public async Task The_nightly_harvest_walks_each_authorized_corps_anchors_and_keeps_their_lives_apart()
    {
        await AuthorizeAsync(Alpha);
        await AuthorizeAsync(Beta);
        await AuthorizeAsync(Gamma);
        // The same userid is an anchor in two corps (userids are unique within a corp only); a third corp has no anchors set.
        Simulator.State.Anchors.Add("zhangsan", 20, corpId: Alpha);
        Simulator.State.Anchors.Add("zhangsan", 10, corpId: Beta);
        Simulator.State.Anchors.Add("lisi", 10, corpId: Gamma);
        var installations = Host.Get<InstallationStore>();
        await installations.SetAnchorsAsync(Provider, Alpha, ["zhangsan"], default);
        await installations.SetAnchorsAsync(Provider, Beta, ["zhangsan"], default);
        Assert.True((await Suites.CancelAuthAsync(SuiteId, Beta)).Accepted); // a cancelled corp is not walked

        var decisions = await Host.Get<WatchStat.Harvest.Discovery>().RunAsync(App, dryRun: false, default);

        // Lives 0-19 of an anchor: those with i % 10 >= 4 ended, all within the 7-day window.
        var enqueued = decisions.Where(d => d.Enqueue).ToList();
        Assert.Equal(12, enqueued.Count);
        Assert.All(enqueued, d => Assert.Equal((Alpha, App), (d.CorpId, d.App)));
        Assert.All(decisions, d => Assert.StartsWith($"lv-{Alpha}-", d.LivingId, StringComparison.Ordinal));
        await NewDriver().DrainAsync();
        foreach (var d in enqueued)
        {
            var status = await Store.GetAsync(new LiveKey(Alpha, d.LivingId), default);
            Assert.Equal(HarvestStates.Completed, status!.State);
        }
        Assert.Equal(0, WeCom.Calls("service/get_corp_token", Beta) + WeCom.Calls("service/get_corp_token", Gamma));
        await AssertNoSecretsAsync();
    }

    [Fact]
    public async Task The_operator_lists_the_corps_and_sets_a_corps_anchors_with_the_CLI()
    {
        await AuthorizeAsync(Alpha);
        await AuthorizeAsync(Beta);
        Assert.True((await Suites.CancelAuthAsync(SuiteId, Beta)).Accepted);
        // The CLI process reads the same settings; listing and setting anchors touch the table only, not the vault.
        var environment = new Dictionary<string, string>
        {
            ["WeCom__BaseUrl"] = Simulator.BaseUrl.ToString(),
            ["KeyVault__Uri"] = FakeKeyVault.VaultUri.ToString(),
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
        };
        foreach (var (key, value) in Settings!.Where(s => s.Key.StartsWith("WeCom:Apps:", StringComparison.Ordinal)))
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value!;

        var list = await CliRunner.RunAsync(environment, "corps", "--app", App);
        var set = await CliRunner.RunAsync(environment, "corps", "--app", App, "--corpid", Alpha, "--anchors", "zhangsan, lisi");
        var cancelled = await CliRunner.RunAsync(environment, "corps", "--app", App, "--corpid", Beta, "--anchors", "wangwu");
        var half = await CliRunner.RunAsync(environment, "corps", "--app", App, "--corpid", Alpha);

        Assert.True(list.ExitCode == 0, list.Output + list.Error);
        output.WriteLine(list.Output);
        var lines = list.Output.Split('\n');
        Assert.Contains(lines, l => l.Contains(Alpha, StringComparison.Ordinal) && l.Contains("authorized", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(Beta, StringComparison.Ordinal) && l.Contains("cancelled", StringComparison.Ordinal));
        // Other tests' corps of the same app are in the table too.
        var all = await Host.Get<InstallationStore>().ListAsync(Provider, default);
        Assert.Contains($"{all.Count(i => i.IsAuthorized)} of {all.Count} corps have the app installed.", list.Output);
        Assert.True(set.ExitCode == 0, set.Output + set.Error);
        Assert.Equal(["zhangsan", "lisi"], (await Host.Get<InstallationStore>().GetAsync(Provider, Alpha, default))!.AnchorUserIds);
        Assert.Equal(1, cancelled.ExitCode);
        Assert.Contains("has not authorized", cancelled.Output);
        Assert.Empty((await Host.Get<InstallationStore>().GetAsync(Provider, Beta, default))!.AnchorUserIds);
        Assert.Equal(2, half.ExitCode);
    }

    private async Task AuthorizeAsync(string corp)
    {
        var delivery = await Suites.AuthorizeAsync(SuiteId, corp, $"Corp {corp}");
        Assert.True(delivery.Accepted, delivery.ToString());
        Assert.True((await Host.Get<InstallationStore>().GetAsync(Provider, corp, default))?.IsAuthorized);
        Assert.Equal(Suites.PermanentCode(SuiteId, corp), _vault.Get(SuiteVault.PermanentCodeSecretName(Provider, corp)));
    }

    private Task<HttpAnswer> PostAsync(LiveKey live, bool force = false) =>
        PostRawAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["livingid"] = live.LivingId, ["app"] = App, ["corpid"] = live.CorpId }),
            query: force ? "?force=true" : null);

    /// <summary>Delivers the next <paramref name="pages"/> page messages, one at a time, in queue order.</summary>
    private async Task DeliverPagesAsync(int pages)
    {
        var function = Host.Activate<WatchStat.Functions.HarvestPageFunction>();
        for (var i = 0; i < pages; i++)
        {
            var message = (await Queue.ReceiveMessageAsync()).Value;
            foreach (var next in await function.Run(message, default)) await Queue.SendMessageAsync(next);
            await Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
        }
    }

    private async Task<List<TableEntity>> RowsAsync(LiveKey live)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in Store.ReadRowsAsync(live, default)) rows.Add(row);
        return rows;
    }

    private TokenCallCounts TokenCalls() => new(
        WeCom.Calls("service/get_suite_token"),
        WeCom.Calls("service/get_permanent_code"),
        new SortedDictionary<string, long>(new[] { Alpha, Beta, Gamma }.ToDictionary(c => c, c => WeCom.Calls("service/get_corp_token", c)), StringComparer.Ordinal));

    private sealed record TokenCallCounts(long Suite, long PermanentCode, SortedDictionary<string, long> Corp)
    {
        public override string ToString() => $"get_suite_token {Suite}, get_permanent_code {PermanentCode}, get_corp_token {string.Join(", ", Corp.Select(c => $"{c.Key} {c.Value}"))}";
    }

    /// <summary>No ticket, suite token, auth code, permanent code, corp token or the suite's secret in any log line or table row.</summary>
    private async Task AssertNoSecretsAsync()
    {
        var secrets = Suites.IssuedSecrets().Concat(Simulator.State.IssuedTokens()).Append(SuiteSecret).Append(AesKey).Distinct().ToList();
        Assert.True(secrets.Count > 5);
        var logs = string.Join("\n", Host.Logs.GetSnapshot().Select(r => r.Message + " " + r.Exception));
        // Every row of this test's corps (their lives' partitions: "{corpid}|..."), the indexes and the installations.
        // Not the whole tables: the other tests' rows (a 100,000-viewer live among them) would make it a long scan.
        var tables = new List<string>();
        var filters = new[] { Alpha, Beta, Gamma }.Select(c => TableClient.CreateQueryFilter($"PartitionKey gt {c + "|"} and PartitionKey lt {c + "}"}"))
            .Append(TableClient.CreateQueryFilter($"PartitionKey ge {"%"} and PartitionKey lt {"&"}")).ToList();
        foreach (var name in new[] { HarvestRecord.TableName, ViewerRows.TableName, LivingStore.TableName, InstallationStore.TableName })
        {
            var table = Host.Get<StorageClients>().Tables.GetTableClient(name);
            foreach (var filter in name == InstallationStore.TableName ? [null] : filters.Cast<string?>())
            {
                await foreach (var row in table.QueryAsync<TableEntity>(filter))
                    tables.Add(string.Join("|", row.Select(p => $"{p.Key}={p.Value}")));
            }
        }
        Assert.Contains(tables, t => t.Contains($"CorpId={Alpha}", StringComparison.Ordinal));
        var everything = logs + "\n" + string.Join("\n", tables);
        foreach (var secret in secrets) Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
    }
}
