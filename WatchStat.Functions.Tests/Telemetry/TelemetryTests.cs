using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenTelemetry.Metrics;
using WatchStat.Telemetry;
using WatchStat.Tests.Infrastructure;
using WatchStat.WeCom;
using WatchStat.WeComSimulator;

namespace WatchStat.Tests.Telemetry;

public sealed class TelemetryWiringTests
{
    private static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Fact]
    public void Without_a_connection_string_no_telemetry_is_wired()
    {
        var services = new ServiceCollection();

        Assert.False(services.AddWatchStatTelemetry(Config([])));
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(MeterProvider));
    }

    [Fact]
    public void With_a_connection_string_the_WatchStat_meter_is_exported_through_OpenTelemetry()
    {
        var services = new ServiceCollection().AddLogging();
        var wired = services.AddWatchStatTelemetry(Config(new()
        {
            [TelemetryServiceCollectionExtensions.ConnectionStringSetting] = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/",
            [TelemetryServiceCollectionExtensions.AuthenticationStringSetting] = "ClientId=11111111-1111-1111-1111-111111111111;Authorization=AAD",
        }));

        Assert.True(wired);
        using var provider = services.BuildServiceProvider();
        Assert.NotNull(provider.GetService<MeterProvider>());
    }

    [Theory]
    [InlineData("ClientId=abc;Authorization=AAD", "abc")]
    [InlineData("Authorization=aad; ClientId=abc", "abc")]
    [InlineData("Authorization=AAD", null)]
    [InlineData("ClientId=abc", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void The_identity_comes_from_the_authentication_string(string? authentication, string? clientId) =>
        Assert.Equal(clientId, TelemetryServiceCollectionExtensions.EntraClientId(authentication));
}

/// <summary>The app's metrics as a harvest records them.</summary>
public sealed class HarvestMetricsTests : PipelineTest
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["Harvest:DelayScale"] = "0.001" };

    private MetricCollector<T> Collect<T>(string instrument) where T : struct =>
        new(Host.Get<IMeterFactory>(), WatchStatMetrics.MeterName, instrument);

    [Fact]
    public async Task A_harvest_records_pages_viewers_and_WeCom_latency_by_api_and_errcode()
    {
        using var pages = Collect<long>("watchstat.pages.fetched");
        using var viewers = Collect<long>("watchstat.viewers.written");
        using var calls = Collect<double>("watchstat.wecom.call.duration");
        using var throttled = Collect<long>("watchstat.wecom.throttled");
        Simulator.State.Faults.Set([new FaultRule { Kinds = [FaultKind.FrequencyLimit], Api = WeComClient.GetWatchStatApi, FromCall = 3, ToCall = 3 }]);
        var livingId = NewLiveId("400m200x"); // 6 pages

        await PostHarvestAsync(livingId);
        await NewDriver().DrainAsync();

        Assert.Equal(6, pages.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(600, viewers.GetMeasurementSnapshot().Sum(m => m.Value));
        var byTags = calls.GetMeasurementSnapshot().GroupBy(m => ($"{m.Tags["api"]}", $"{m.Tags["errcode"]}")).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(6, byTags[(WeComClient.GetWatchStatApi, "0")]);
        Assert.Equal(1, byTags[(WeComClient.GetWatchStatApi, "45009")]);
        Assert.Equal(1, byTags[(WeComClient.GetTokenApi, "0")]);
        Assert.All(calls.GetMeasurementSnapshot(), m => Assert.True(m.Value >= 0));
        var throttle = Assert.Single(throttled.GetMeasurementSnapshot());
        Assert.Equal("45009", throttle.Tags["errcode"]);
    }
}

public sealed class LoggingDefaultsTests
{
    [Fact]
    public void The_quiet_defaults_apply_when_nothing_is_set_and_any_setting_overrides_them()
    {
        var quiet = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Other"] = "x" });
        quiet.AddWatchStatLoggingDefaults();
        var raised = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Polly"] = "Information" });
        raised.AddWatchStatLoggingDefaults(); // added after the setting, as Program.cs does: still underneath it

        Assert.Equal("Warning", quiet.Build()["Logging:LogLevel:Polly"]);
        Assert.Equal("Warning", quiet.Build()["Logging:LogLevel:Microsoft.AspNetCore"]);
        Assert.Equal("Information", raised.Build()["Logging:LogLevel:Polly"]);
        Assert.Equal("Warning", raised.Build()["Logging:LogLevel:Microsoft.AspNetCore"]);
    }
}
