// WeCom (企业微信) simulator for the watch-stat harvester.
//   dotnet run --project WatchStat.WeComSimulator -- --urls http://127.0.0.1:5080 --Simulator:TokenLifetimeSeconds=60
// Settings come from the "Simulator" configuration section (appsettings.json, Simulator__PageSize=..., --Simulator:...=...).
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using WatchStat.WeComSimulator;

const string DefaultUrl = "http://127.0.0.1:5080";

var builder = WebApplication.CreateSlimBuilder(args);

var options = new SimulatorOptions();
var section = builder.Configuration.GetSection("Simulator");
if (section.GetSection(nameof(SimulatorOptions.Apps)).GetChildren().Any())
{
    // Configured apps replace the default app (the binder would append to it).
    options.Apps.Clear();
}

section.Bind(options);

if (string.IsNullOrWhiteSpace(builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey)))
{
    builder.WebHost.UseUrls(DefaultUrl);
}

var app = SimulatorHost.Build(builder, options);
await app.StartAsync().ConfigureAwait(false);
var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
Console.WriteLine($"WeCom simulator listening on {string.Join(", ", addresses)}");
await app.WaitForShutdownAsync().ConfigureAwait(false);
