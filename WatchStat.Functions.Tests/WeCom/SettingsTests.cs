using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace WatchStat.Tests.WeCom;

public sealed class SettingsTests
{
    [Theory]
    [InlineData("WeCom:CorpId")]
    [InlineData("WeCom:Secret")]
    public async Task A_missing_setting_fails_at_start_with_its_name(string missing)
    {
        var settings = new Dictionary<string, string?>
        {
            ["WeCom:CorpId"] = "ww-corp",
            ["WeCom:Secret"] = "s3cret",
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        };
        settings.Remove(missing);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddWatchStat();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(missing, error.Message);
    }
}
