using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeCom.Suites;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Suites;

/// <summary>
/// An agent-developed app (代开发应用) installed through its template's callback: the same install flow as a
/// third-party app, but a corp's token comes from <c>gettoken</c> with the corp's permanent code as its secret,
/// not from get_corp_token. The simulator's gettoken takes a corp's permanent code as WeCom's does for these apps.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Disposed in DisposeAsync (xUnit's lifetime).")]
public sealed class AgentAppTests : PipelineTest
{
    private const string App = "agency";
    private const string TemplateId = "wwtemplate0watchstat";
    private const string AesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    private readonly string Corp = "wwdelta" + Guid.NewGuid().ToString("N")[..8]; // no other test's corp: the tables outlive a test

    private readonly FakeKeyVault _vault = new();
    private FunctionEndpoint _endpoint = null!;

    protected override SimulatorOptions SimulatorOptions => new() { Suites = [new() { SuiteId = TemplateId, SuiteSecret = "template-secret" }] };

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:CorpId"] = null,
        ["WeCom:Secret"] = null,
        ["KeyVault:Uri"] = FakeKeyVault.VaultUri.ToString(),
        [$"WeCom:Apps:{App}:Kind"] = "agent",
        [$"WeCom:Apps:{App}:SuiteId"] = TemplateId,
        [$"WeCom:Apps:{App}:SuiteSecretName"] = "agency-template-secret",
        [$"WeCom:Apps:{App}:CallbackTokenSecretName"] = "agency-callback-token",
        [$"WeCom:Apps:{App}:EncodingAesKeySecretName"] = "agency-aes-key",
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton(_vault.CreateClient());

    public override async Task InitializeAsync()
    {
        _vault.Set("agency-template-secret", "template-secret");
        _vault.Set("agency-callback-token", "AgencyToken7");
        _vault.Set("agency-aes-key", AesKey);
        await base.InitializeAsync();
        _endpoint = await FunctionEndpoint.StartAsync(Host, Queue);
        var check = await Simulator.State.Suites.RegisterCallbackAsync(TemplateId, _endpoint.CallbackUrl(App).ToString(), "AgencyToken7", AesKey);
        Assert.True(check!.Verified, $"URL check: {check}");
    }

    public override async Task DisposeAsync()
    {
        await _endpoint.DisposeAsync();
        await base.DisposeAsync();
        _vault.Dispose();
    }

    [Fact]
    public async Task A_corp_that_authorizes_the_template_is_harvested_with_gettoken_and_its_permanent_code()
    {
        Assert.True((await Simulator.State.Suites.AuthorizeAsync(TemplateId, Corp)).Accepted);
        var app = Host.Get<WeComApps>().Get(App);
        Assert.Equal(Simulator.State.Suites.PermanentCode(TemplateId, Corp), _vault.Get(SuiteVault.PermanentCodeSecretName(app, Corp)));
        var live = new LiveKey(Corp, NewLiveId("agent"));
        Simulator.State.AddLive(live.LivingId, new LiveSpec { CorpId = Corp, Members = 150, Externals = 50 });

        var answer = await PostRawAsync(JsonSerializer.Serialize(new { livingid = live.LivingId, app = App, corpid = Corp }));
        Assert.Equal(202, answer.Status);
        await NewDriver().DrainAsync();

        var status = await Store.GetAsync(live, default);
        Assert.Equal((HarvestStates.Completed, 150, 50), (status!.State, status.MembersWritten, status.ExternalWritten));
        RowAssertions.MatchSimulator(Simulator.State.FindLive(live.LivingId, Corp)!, await RowsOfAsync(live), status.RunId, App, Corp);
        // The corp's token came from gettoken with the permanent code, once; the suite token only served get_permanent_code.
        Assert.Equal((1L, 0L, 1L), (WeCom.Calls("gettoken", Corp), WeCom.Calls("service/get_corp_token"), WeCom.Calls("service/get_suite_token")));
        var logs = string.Join("\n", Host.Logs.GetSnapshot().Select(r => r.Message + " " + r.Exception));
        foreach (var secret in Simulator.State.Suites.IssuedSecrets().Concat(Simulator.State.IssuedTokens()))
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
    }

    private async Task<List<Azure.Data.Tables.TableEntity>> RowsOfAsync(LiveKey live)
    {
        var rows = new List<Azure.Data.Tables.TableEntity>();
        await foreach (var row in Store.ReadRowsAsync(live, default)) rows.Add(row);
        return rows;
    }
}
