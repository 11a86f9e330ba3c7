using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using WatchStat.WeCom;

namespace WatchStat.Tests.WeCom;

public sealed class SettingsTests
{
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.AddFakeLogging();
        builder.Services.AddWatchStat();
        return builder.Build();
    }

    public static TheoryData<Dictionary<string, string?>, string> Broken => new()
    {
        { new() { ["WeCom:Secret"] = "s" }, "Setting WeCom:CorpId is required" },
        { new() { ["WeCom:CorpId"] = "ww" }, "Setting WeCom:Secret is required" },
        { new() { ["WeCom:Apps:sales:CorpId"] = "ww" }, "Setting WeCom:Apps:sales:Secret is required" },
        { new() { ["WeCom:Apps:sales:Secret"] = "s" }, "Setting WeCom:Apps:sales:CorpId is required" },
        { new() { ["KeyVault:Uri"] = "https://kv.vault.azure.net/", ["WeCom:Apps:sales:CorpId"] = "ww" }, "Setting WeCom:Apps:sales:SecretName is required" },
        { new() { ["KeyVault:Uri"] = "https://kv.vault.azure.net/", ["WeCom:CorpId"] = "ww", ["WeCom:Secret"] = "s" }, "Setting WeCom:SecretName is required" },
        { new() { ["WeCom:Apps:sales team:CorpId"] = "ww", ["WeCom:Apps:sales team:Secret"] = "s" }, "must be 1-32 letters" },
        { new() { ["WeCom:CorpId"] = "ww1", ["WeCom:Secret"] = "s", ["WeCom:Apps:default:CorpId"] = "ww2" }, "disagree" },
        { new(), "No WeCom app is configured" },
        { new() { ["KeyVault:Uri"] = "kv.vault.azure.net", ["WeCom:CorpId"] = "ww", ["WeCom:SecretName"] = "n" }, "KeyVault:Uri must be the vault's https address" },
        { new() { ["WeCom:CorpId"] = "ww", ["WeCom:Secret"] = "s", ["KeyVault:SecretCacheMinutes"] = "0" }, "KeyVault:SecretCacheMinutes" },
        { new() { ["WeCom:CorpId"] = "ww", ["WeCom:Secret"] = "s", ["WeCom:CallbackToken"] = "t" }, "Setting WeCom:EncodingAesKey is required with WeCom:CallbackToken" },
        { new() { ["WeCom:Apps:sales:CorpId"] = "ww", ["WeCom:Apps:sales:Secret"] = "s", ["WeCom:Apps:sales:EncodingAesKey"] = AesKey },
            "Setting WeCom:Apps:sales:CallbackToken is required with WeCom:Apps:sales:EncodingAesKey" },
        { new() { ["WeCom:CorpId"] = "ww", ["WeCom:Secret"] = "s", ["WeCom:CallbackToken"] = "t", ["WeCom:EncodingAesKey"] = AesKey[..42] },
            "Setting WeCom:EncodingAesKey must be the 43 characters" },
        { new() { ["KeyVault:Uri"] = "https://kv.vault.azure.net/", ["WeCom:CorpId"] = "ww", ["WeCom:SecretName"] = "n", ["WeCom:CallbackTokenSecretName"] = "t" },
            "Setting WeCom:EncodingAesKeySecretName is required with WeCom:CallbackTokenSecretName" },
        { new() { ["KeyVault:Uri"] = "https://kv.vault.azure.net/", ["WeCom:CorpId"] = "ww", ["WeCom:SecretName"] = "n", ["WeCom:CallbackToken"] = "t", ["WeCom:EncodingAesKey"] = AesKey },
            "Setting WeCom:CallbackToken is not read when KeyVault:Uri is set" },
        // App kinds: a suite app has no corp or secret of its own, needs Key Vault, its suite secret and its callback.
        { Kind("thirdparty"), "Setting WeCom:Apps:p:SuiteId is required" },
        { Kind("partner"), "Setting WeCom:Apps:p:Kind must be custom, agent or thirdparty; it is 'partner'" },
        { Suite("custom"), "Setting WeCom:Apps:p:SuiteId is for agent-developed and third-party apps" },
        { Suite("thirdparty", vault: false), "Setting KeyVault:Uri is required: WeCom app 'p' is installed by corps through suite ws1" },
        { Suite("thirdparty", extra: ("CorpId", "ww")), "Setting WeCom:Apps:p:CorpId must not be set" },
        { Suite("agent", extra: ("SecretName", "n")), "must not be set: WeCom app 'p' is installed by corps through suite ws1, and each corp's permanent code is its credential" },
        { Suite("thirdparty", extra: ("SuiteSecretName", null)), "Setting WeCom:Apps:p:SuiteSecretName is required" },
        { Suite("thirdparty", extra: ("CallbackTokenSecretName", null)), "WeCom pushes its suite_ticket and authorizations to its callback" },
    };

    /// <summary>An app 'p' of that kind configured like a custom app (CorpId and secret).</summary>
    private static Dictionary<string, string?> Kind(string kind) => new()
    {
        ["WeCom:Apps:p:Kind"] = kind, ["WeCom:Apps:p:CorpId"] = "ww", ["WeCom:Apps:p:Secret"] = "s",
    };

    /// <summary>A suite app 'p' of that kind as it should be, but for <paramref name="extra"/> (a setting set, or removed with null).</summary>
    private static Dictionary<string, string?> Suite(string kind, bool vault = true, (string Name, string? Value)? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["WeCom:Apps:p:Kind"] = kind, ["WeCom:Apps:p:SuiteId"] = "ws1", ["WeCom:Apps:p:SuiteSecretName"] = "suite",
            ["WeCom:Apps:p:CallbackTokenSecretName"] = "t", ["WeCom:Apps:p:EncodingAesKeySecretName"] = "k",
        };
        if (vault) settings["KeyVault:Uri"] = "https://kv.vault.azure.net/";
        if (extra is var (name, value))
        {
            if (value is null) settings.Remove($"WeCom:Apps:p:{name}");
            else settings[$"WeCom:Apps:p:{name}"] = value;
        }
        return settings;
    }

    /// <summary>An EncodingAESKey of the right form (WeCom's published sample's).</summary>
    private const string AesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    [Theory]
    [MemberData(nameof(Broken))]
    public async Task A_missing_or_wrong_setting_fails_at_start_with_its_name(Dictionary<string, string?> settings, string message)
    {
        settings["AzureWebJobsStorage"] = "UseDevelopmentStorage=true";
        using var host = Build(settings);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("thirdparty", WeComAppKind.ThirdParty)]
    [InlineData("agent", WeComAppKind.Agent)]
    [InlineData("ThirdParty", WeComAppKind.ThirdParty)]
    public async Task A_suite_app_set_up_as_documented_starts_with_no_corp_of_its_own(string kind, WeComAppKind expected)
    {
        var settings = Suite(kind);
        settings["AzureWebJobsStorage"] = "UseDevelopmentStorage=true";
        using var host = Build(settings);

        await host.StartAsync();

        var app = host.Services.GetRequiredService<WeComApps>().Get("p");
        Assert.Equal((expected, "ws1", true, ""), (app.Kind, app.SuiteId, app.IsInstalled, app.CorpId));
        Assert.Contains("corpid is required", WeComApps.CheckCorp(app, null, out _));
        Assert.Null(WeComApps.CheckCorp(app, "wwcorp1", out var corp));
        Assert.Equal("wwcorp1", corp);
        await host.StopAsync();
    }

    [Fact]
    public async Task The_single_app_settings_and_the_apps_section_together_give_default_and_named_apps()
    {
        using var host = Build(new()
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["WeCom:CorpId"] = "ww-main",
            ["WeCom:Secret"] = "s-main",
            ["WeCom:Apps:default:AnchorUserIds"] = "zhangsan, lisi",
            ["WeCom:Apps:Sales:CorpId"] = "ww-sales",
            ["WeCom:Apps:Sales:Secret"] = "s-sales",
        });
        await host.StartAsync();
        var apps = host.Services.GetRequiredService<WeComApps>();

        Assert.Equal(["Sales", "default"], apps.All.Select(a => a.Name));
        Assert.Equal("ww-main", apps.Get(null).CorpId);
        Assert.Equal(["zhangsan", "lisi"], apps.Get(null).AnchorUserIds);
        Assert.Equal("ww-sales", apps.Get("sales").CorpId); // app names match in any case
        Assert.Null(apps.Find("marketing"));
        await host.StopAsync();
    }

    [Fact]
    public async Task An_app_has_a_callback_route_when_both_callback_secrets_are_set_and_not_with_neither()
    {
        using var host = Build(new()
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["WeCom:CorpId"] = "ww-main",
            ["WeCom:Secret"] = "s-main",
            ["WeCom:CallbackToken"] = "QDG6eK",
            ["WeCom:EncodingAesKey"] = AesKey,
            ["WeCom:Apps:sales:CorpId"] = "ww-sales",
            ["WeCom:Apps:sales:Secret"] = "s-sales",
        });
        await host.StartAsync();
        var apps = host.Services.GetRequiredService<WeComApps>();
        var keys = host.Services.GetRequiredService<WatchStat.WeCom.Callbacks.WeComCallbackKeys>();

        Assert.True(keys.HasCallback(apps.Get(null)));
        Assert.False(keys.HasCallback(apps.Get("sales")));
        var crypto = await keys.ForAsync(apps.Get(null), default);
        var echo = crypto.Encrypt("echo-1");
        Assert.Equal("echo-1", crypto.VerifyAndDecrypt(crypto.Signature("1", "n", echo), "1", "n", echo));
        await host.StopAsync();
    }

    [Fact]
    public async Task The_sample_settings_start_the_app_with_a_callback_route_for_the_default_app()
    {
        var values = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Infrastructure.RepoPaths.Combine("local.settings.sample.json")))
            .RootElement.GetProperty("Values").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        using var host = Build(values);

        await host.StartAsync();

        var apps = host.Services.GetRequiredService<WeComApps>();
        Assert.True(host.Services.GetRequiredService<WatchStat.WeCom.Callbacks.WeComCallbackKeys>().HasCallback(apps.Get(null)));
        await host.StopAsync();
    }

    [Fact]
    public async Task An_empty_KeyVault_Uri_means_secrets_from_configuration()
    {
        using var host = Build(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true", ["KeyVault:Uri"] = "", ["WeCom:CorpId"] = "ww", ["WeCom:Secret"] = "s" });

        await host.StartAsync();

        Assert.IsType<WatchStat.Secrets.ConfigurationSecretSource>(host.Services.GetRequiredService<WatchStat.Secrets.IWeComSecretSource>());
        await host.StopAsync();
    }

    [Fact]
    public async Task Start_up_says_once_that_secrets_come_from_local_configuration()
    {
        using var host = Build(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true", ["WeCom:CorpId"] = "ww", ["WeCom:Secret"] = "s3cret-value" });

        await host.StartAsync();

        var logs = host.Services.GetFakeLogCollector().GetSnapshot();
        Assert.Single(logs, r => r.Message.Contains("read from local configuration", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, r => r.Message.Contains("s3cret-value", StringComparison.Ordinal));
        await host.StopAsync();
    }
}
