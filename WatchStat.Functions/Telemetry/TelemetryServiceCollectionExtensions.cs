using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace WatchStat.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AuthenticationStringSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    /// <summary>
    /// Application Insights through OpenTelemetry (logs, the worker's traces, the <c>WatchStat</c> meter), wired only
    /// when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set. With <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c>
    /// (<c>ClientId=...;Authorization=AAD</c>) telemetry is sent with the managed identity, as a resource with local
    /// auth disabled requires. WeCom's HTTP calls are deliberately not traced as dependencies: their URIs carry the
    /// access token, and the app's own metrics already give their latency by API and errcode.
    /// </summary>
    /// <returns>Whether telemetry was wired.</returns>
    public static bool AddWatchStatTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration[ConnectionStringSetting];
        if (string.IsNullOrWhiteSpace(connectionString)) return false;

        var clientId = EntraClientId(configuration[AuthenticationStringSetting]);
        services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            .WithMetrics(metrics => metrics.AddMeter(WatchStatMetrics.MeterName))
            .UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = connectionString;
                if (clientId is not null)
                    options.Credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
            });
        return true;
    }

    /// <summary>The client id of <c>ClientId=...;Authorization=AAD</c>, or null when telemetry is not sent with Entra ID.</summary>
    internal static string? EntraClientId(string? authenticationString)
    {
        if (string.IsNullOrWhiteSpace(authenticationString)) return null;
        var parts = authenticationString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        return parts.TryGetValue("Authorization", out var kind) && kind.Equals("AAD", StringComparison.OrdinalIgnoreCase)
            && parts.TryGetValue("ClientId", out var id) && id.Length > 0 ? id : null;
    }
}
