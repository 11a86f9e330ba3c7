using System.Diagnostics.Tracing;
using System.Net;
using Azure.Core.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using WatchStat.Secrets;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeCom.Callbacks;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Secrets;

/// <summary>
/// Two WeCom apps whose secrets live in Key Vault, read by the real <see cref="Azure.Security.KeyVault.Secrets.SecretClient"/>
/// over a fake vault endpoint; harvests through the HTTP and queue functions.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Disposed in DisposeAsync (xUnit's lifetime).")]
public sealed class KeyVaultSecretsTests : PipelineTest
{
    private const string TrainingCorp = "ww-training-corp";
    private const string SalesCorp = "ww-sales-corp";
    private const string TrainingSecret = "training-secret-value-0001";
    private const string SalesSecret = "sales-secret-value-0001";

    private readonly FakeKeyVault _vault = new();

    protected override SimulatorOptions SimulatorOptions => new()
    {
        Apps = [new() { CorpId = TrainingCorp, Secret = TrainingSecret }, new() { CorpId = SalesCorp, Secret = SalesSecret }],
    };

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["WeCom:CorpId"] = null,
        ["WeCom:Secret"] = null,
        ["KeyVault:Uri"] = FakeKeyVault.VaultUri.ToString(),
        ["WeCom:Apps:default:CorpId"] = TrainingCorp,
        ["WeCom:Apps:default:SecretName"] = "wecom-training",
        ["WeCom:Apps:sales:CorpId"] = SalesCorp,
        ["WeCom:Apps:sales:SecretName"] = "wecom-sales",
        ["WeCom:Apps:default:CallbackTokenSecretName"] = "wecom-training-callback-token",
        ["WeCom:Apps:default:EncodingAesKeySecretName"] = "wecom-training-aes-key",
        // Named, but never put in the vault.
        ["WeCom:Apps:sales:CallbackTokenSecretName"] = "wecom-sales-callback-token",
        ["WeCom:Apps:sales:EncodingAesKeySecretName"] = "wecom-sales-aes-key",
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton(_vault.CreateClient());

    public override async Task InitializeAsync()
    {
        _vault.Set("wecom-training", TrainingSecret);
        _vault.Set("wecom-sales", SalesSecret);
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _vault.Dispose();
    }

    [Fact]
    public async Task The_callback_keys_come_from_the_vault_read_once_for_many_callbacks_and_a_missing_one_names_its_secret()
    {
        const string aesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
        _vault.Set("wecom-training-callback-token", "KvCallbackToken");
        _vault.Set("wecom-training-aes-key", aesKey);
        var keys = Host.Get<WeComCallbackKeys>();
        var apps = Host.Get<WeComApps>();

        for (var i = 0; i < 20; i++)
        {
            var crypto = await keys.ForAsync(apps.Get(null), default);
            var echo = crypto.Encrypt($"echo-{i}");
            Assert.Equal($"echo-{i}", crypto.VerifyAndDecrypt(crypto.Signature("1", "n", echo), "1", "n", echo));
        }
        Assert.Equal((1, 1), (_vault.Reads("wecom-training-callback-token"), _vault.Reads("wecom-training-aes-key")));
        // The value is the vault's, not a setting's: a signature made with another Token does not verify.
        var other = new WeComMessageCrypto("OtherToken", aesKey, TrainingCorp);
        var spoofed = other.Encrypt("x");
        Assert.False((await keys.ForAsync(apps.Get(null), default)).VerifySignature(other.Signature("1", "n", spoofed), "1", "n", spoofed));

        Assert.True(keys.HasCallback(apps.Get("sales"))); // named in settings ...
        var error = await Assert.ThrowsAsync<SecretUnavailableException>(() => keys.ForAsync(apps.Get("sales"), default)); // ... but not in the vault
        Assert.Contains("wecom-sales-", error.Message, StringComparison.Ordinal);
        Assert.Contains(FakeKeyVault.VaultUri.ToString(), error.Message, StringComparison.Ordinal);
        Assert.False(error.IsRetryable);
        // ... so its callback route answers 404, as for an app without a callback.
        var output = await Host.Activate<WatchStat.Functions.WeComCallbackFunction>().Run(HttpCall.Request("GET", query: "?msg_signature=x&timestamp=1&nonce=n&echostr=e"), "sales", default);
        Assert.Equal(404, (await HttpCall.RenderAsync(output.Result)).Status);

        // Anonymous callers cannot make the vault read it again and again: the failure is remembered for a minute.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var remembering = new WeComCallbackKeys(Host.Get<IWeComSecretSource>(), time);
        await Assert.ThrowsAsync<SecretUnavailableException>(() => remembering.ForAsync(apps.Get("sales"), default));
        var requestsBefore = _vault.Requests;
        for (var i = 0; i < 10; i++) await Assert.ThrowsAsync<SecretUnavailableException>(() => remembering.ForAsync(apps.Get("sales"), default));
        Assert.Equal(requestsBefore, _vault.Requests);
        // Once the secrets are there, they are read after the minute.
        _vault.Set("wecom-sales-callback-token", "SalesToken");
        _vault.Set("wecom-sales-aes-key", aesKey);
        time.Advance(WeComCallbackKeys.FailureMemory);
        Assert.NotNull(await remembering.ForAsync(apps.Get("sales"), default));
        Assert.True(_vault.Requests > requestsBefore);
        Assert.DoesNotContain("KvCallbackToken", string.Join('\n', Host.Logs.GetSnapshot().Select(r => r.Message + r.Exception)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_hundred_harvests_across_two_apps_read_each_secret_once_and_fetch_one_token_per_app()
    {
        var lives = Enumerable.Range(0, 100).Select(i => (Id: NewLiveId("2m1x"), App: i % 2 == 0 ? "default" : "sales")).ToList();
        foreach (var (id, app) in lives) Assert.Equal(202, (await PostHarvestAsync(id, app: app)).Status);

        await NewDriver().DrainAsync();

        foreach (var (id, app) in lives)
        {
            var status = await StatusAsync(id, app);
            Assert.Equal((HarvestStates.Completed, app, 3), (status.State, status.App, status.MembersWritten + status.ExternalWritten));
        }
        Assert.Equal(1, _vault.Reads("wecom-training"));
        Assert.Equal(1, _vault.Reads("wecom-sales"));
        Assert.Equal(1, WeCom.Calls("gettoken", TrainingCorp));
        Assert.Equal(1, WeCom.Calls("gettoken", SalesCorp));
        Assert.Equal(100, WeCom.Calls("living/get_watch_stat"));
    }

    [Fact]
    public async Task Two_apps_harvesting_at_once_keep_separate_tokens_secrets_and_rows()
    {
        var training = NewLiveId("900m300x");
        var sales = NewLiveId("500m700x");
        var trainingRun = (await PostHarvestAsync(training)).Json.GetProperty("harvest").GetProperty("runId").GetString()!;
        var salesRun = (await PostHarvestAsync(sales, app: "sales")).Json.GetProperty("harvest").GetProperty("runId").GetString()!;

        await NewDriver().DrainAsync(); // the two chains interleave on the one queue

        RowAssertions.MatchSimulator(Simulator.State.FindLive(training)!, await RowsAsync(training), trainingRun, "default", TrainingCorp);
        RowAssertions.MatchSimulator(Simulator.State.FindLive(sales)!, await RowsAsync(sales, "sales"), salesRun, "sales", SalesCorp);
        Assert.Equal(("default", "sales"), ((await StatusAsync(training)).App, (await StatusAsync(sales, "sales")).App));
        Assert.Equal((1, 1), (WeCom.Calls("gettoken", TrainingCorp), WeCom.Calls("gettoken", SalesCorp)));
        Assert.Equal((12, 12), (WeCom.Calls("living/get_watch_stat", TrainingCorp), WeCom.Calls("living/get_watch_stat", SalesCorp)));
        Assert.Equal((1, 1), (_vault.Reads("wecom-training"), _vault.Reads("wecom-sales")));
    }

    [Fact]
    public async Task A_rotated_secret_is_read_again_when_WeCom_rejects_the_old_one_and_no_run_fails()
    {
        await PostHarvestAsync(NewLiveId("50m50x"), app: "sales");
        await NewDriver().DrainAsync();

        // The operator rotates the secret in WeCom and in the vault; the app still holds the old one.
        Simulator.State.SetSecret(SalesCorp, "sales-secret-value-0002");
        _vault.Set("wecom-sales", "sales-secret-value-0002");
        Simulator.State.RevokeAllTokens();
        var livingId = NewLiveId("300m200x");
        await PostHarvestAsync(livingId, app: "sales");
        var driver = NewDriver();
        await driver.DrainAsync();

        var status = await StatusAsync(livingId, "sales");
        Assert.Equal((HarvestStates.Completed, 5), (status.State, status.PagesDone));
        Assert.Equal(1, WeCom.Errors(40001));
        Assert.Equal(2, _vault.Reads("wecom-sales"));
        Assert.Equal((0, 0), (driver.FailedInvocations, driver.Poisoned));
    }

    [Fact]
    public async Task A_secret_WeCom_rejects_again_after_a_fresh_read_fails_the_run_saying_where_it_came_from()
    {
        Simulator.State.SetSecret(SalesCorp, "rotated-in-wecom-but-not-in-the-vault");
        var livingId = NewLiveId("10m10x");

        await PostHarvestAsync(livingId, app: "sales");
        await NewDriver().DrainAsync();

        var status = await StatusAsync(livingId, "sales");
        Assert.Equal((HarvestStates.Failed, 40001), (status.State, status.LastErrorCode));
        Assert.Contains("Key Vault secret 'wecom-sales'", status.LastErrorMessage);
        Assert.Equal(2, WeCom.Errors(40001));
        Assert.Equal(2, _vault.Reads("wecom-sales"));
    }

    [Fact]
    public async Task A_403_fails_the_run_naming_the_vault_the_secret_and_the_role()
    {
        _vault.FailNext("wecom-sales", HttpStatusCode.Forbidden);
        var livingId = NewLiveId("10m10x");

        await PostHarvestAsync(livingId, app: "sales");
        await NewDriver().DrainAsync();

        var status = await StatusAsync(livingId, "sales");
        Assert.Equal(HarvestStates.Failed, status.State);
        Assert.Contains(FakeKeyVault.VaultUri.ToString(), status.LastErrorMessage);
        Assert.Contains("'wecom-sales'", status.LastErrorMessage);
        Assert.Contains("Key Vault Secrets User", status.LastErrorMessage);
        Assert.Contains("403", status.LastErrorMessage);
    }

    [Fact]
    public async Task A_404_says_the_secret_was_not_found()
    {
        _vault.FailNext("wecom-training", HttpStatusCode.NotFound);
        var source = Host.Get<IWeComSecretSource>();

        var error = await Assert.ThrowsAsync<SecretUnavailableException>(() => source.GetSecretAsync(Host.Get<WeComApps>().Get(null), AppSecretKind.Secret, default).AsTask());

        Assert.False(error.IsRetryable);
        Assert.Contains("not found", error.Message);
        Assert.Contains("'wecom-training'", error.Message);
        Assert.Contains(FakeKeyVault.VaultUri.ToString(), error.Message);
    }

    [Fact]
    public async Task A_429_is_backed_off_and_read_again()
    {
        _vault.FailNext("wecom-training", HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests);
        var source = Host.Get<IWeComSecretSource>();

        var secret = await source.GetSecretAsync(Host.Get<WeComApps>().Get(null), AppSecretKind.Secret, default);

        Assert.Equal(TrainingSecret, secret);
        Assert.Equal(1, _vault.Reads("wecom-training"));
        Assert.Equal(0, _vault.PendingFailures("wecom-training")); // both throttled answers were met and retried
    }

    [Fact]
    public async Task A_429_that_does_not_stop_is_a_retryable_error_that_says_so()
    {
        _vault.FailNext("wecom-training", Enumerable.Repeat(HttpStatusCode.TooManyRequests, 10).ToArray());
        var source = Host.Get<IWeComSecretSource>();

        var error = await Assert.ThrowsAsync<SecretUnavailableException>(() => source.GetSecretAsync(Host.Get<WeComApps>().Get(null), AppSecretKind.Secret, default).AsTask());

        Assert.True(error.IsRetryable);
        Assert.Contains("429", error.Message);
        Assert.Equal(10 - 6, _vault.PendingFailures("wecom-training")); // the first try and five retries
        Assert.Equal(0, _vault.Reads("wecom-training"));
    }

    [Fact]
    public async Task No_secret_value_reaches_a_log_line_or_an_Azure_SDK_event()
    {
        var events = new List<string>();
        using (AzureEventSourceListener.CreateConsoleLogger(EventLevel.Verbose)) { } // warms the Azure SDK event sources
        using var listener = new AzureEventSourceListener((e, message) => { lock (events) events.Add($"{e.EventSource.Name} {message}"); }, EventLevel.Verbose);

        await PostHarvestAsync(NewLiveId("150m50x"));
        await PostHarvestAsync(NewLiveId("150m50x"), app: "sales");
        await NewDriver().DrainAsync();
        Simulator.State.SetSecret(SalesCorp, "sales-secret-value-0003");
        _vault.Set("wecom-sales", "sales-secret-value-0003");
        Simulator.State.RevokeAllTokens();
        await PostHarvestAsync(NewLiveId("150m50x"), app: "sales");
        await NewDriver().DrainAsync();

        Assert.Equal(3, _vault.TotalReads);
        string text;
        lock (events) text = string.Join('\n', events) + '\n' + string.Join('\n', Host.Logs.GetSnapshot().Select(r => $"{r.Message} {r.Exception}"));
        Assert.Contains("watchstat-test.vault.azure.net", text); // the SDK's request events were captured
        foreach (var secret in new[] { TrainingSecret, SalesSecret, "sales-secret-value-0003" })
            Assert.False(text.Contains(secret, StringComparison.Ordinal), "a log line or SDK event carries a secret value");
    }

    [Fact]
    public async Task An_unknown_app_is_a_400_and_nothing_is_enqueued()
    {
        var livingId = NewLiveId("1m1x");

        var answer = await PostHarvestAsync(livingId, app: "marketing");

        Assert.Equal(400, answer.Status);
        Assert.Contains("Unknown WeCom app 'marketing'", answer.Json.GetProperty("detail").GetString());
        // An HTTP caller is not told the deployment's apps (the operator's CLI lists them).
        Assert.DoesNotContain("sales", answer.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("default", answer.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await QueueLengthAsync());
        Assert.Null(await Store.GetAsync(LiveOf(livingId), default));
    }
}
