using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WatchStat;
using WatchStat.Functions;
using WatchStat.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
builder.Configuration.AddWatchStatLoggingDefaults();
builder.ConfigureFunctionsWebApplication();
builder.Services.AddWatchStat();
builder.Services.AddHostedService<StorageAtStart>();
builder.Services.AddWatchStatTelemetry(builder.Configuration);
builder.Build().Run();
