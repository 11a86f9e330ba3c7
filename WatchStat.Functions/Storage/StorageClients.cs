using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace WatchStat.Storage;

/// <summary>
/// The table and queue service clients of the app's storage account, built once from the same
/// <c>AzureWebJobsStorage</c> setting the Functions host uses: a connection string locally (Azurite),
/// or the identity-based form in Azure (<c>AzureWebJobsStorage__tableServiceUri</c>, <c>__queueServiceUri</c>,
/// <c>__credential=managedidentity</c>, <c>__clientId</c>).
/// </summary>
public sealed class StorageClients(TableServiceClient tables, QueueServiceClient queues)
{
    public const string SettingName = "AzureWebJobsStorage";

    /// <summary>Every queue message is base64, as the queue trigger expects by default (host.json <c>messageEncoding</c>).</summary>
    public const QueueMessageEncoding MessageEncoding = QueueMessageEncoding.Base64;

    public TableServiceClient Tables { get; } = tables;
    public QueueServiceClient Queues { get; } = queues;

    public static StorageClients FromConfiguration(
        IConfiguration configuration,
        string settingName = SettingName,
        Action<TableClientOptions>? configureTables = null,
        Action<QueueClientOptions>? configureQueues = null)
    {
        var tableOptions = new TableClientOptions();
        var queueOptions = new QueueClientOptions { MessageEncoding = MessageEncoding };
        // Storage answers 503/500 when it throttles: back off and try again rather than fail a page.
        foreach (var retry in new[] { tableOptions.Retry, queueOptions.Retry })
        {
            retry.Mode = Azure.Core.RetryMode.Exponential;
            retry.MaxRetries = 6;
            retry.Delay = TimeSpan.FromMilliseconds(200);
            retry.MaxDelay = TimeSpan.FromSeconds(10);
        }
        configureTables?.Invoke(tableOptions);
        configureQueues?.Invoke(queueOptions);

        var connectionString = configuration[settingName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            if (connectionString.Trim() == "UseDevelopmentStorage=true")
            {
                // The SDKs' own shorthand lacks the table endpoint in some versions; spell Azurite's defaults out.
                connectionString = DevelopmentStorage;
            }
            return new(new TableServiceClient(connectionString, tableOptions), new QueueServiceClient(connectionString, queueOptions));
        }

        var section = configuration.GetSection(settingName);
        var account = section["accountName"];
        var tableUri = section["tableServiceUri"] ?? (account is null ? null : $"https://{account}.table.core.windows.net");
        var queueUri = section["queueServiceUri"] ?? (account is null ? null : $"https://{account}.queue.core.windows.net");
        if (tableUri is null || queueUri is null)
        {
            throw new InvalidOperationException(
                $"Setting {settingName} is missing: give a connection string (UseDevelopmentStorage=true for Azurite), or "
                + $"{settingName}__tableServiceUri and {settingName}__queueServiceUri (or {settingName}__accountName) for an identity-based connection.");
        }

        var credential = CreateCredential(section["credential"], section["clientId"]);
        return new(new TableServiceClient(new Uri(tableUri), credential, tableOptions), new QueueServiceClient(new Uri(queueUri), credential, queueOptions));
    }

    private static TokenCredential CreateCredential(string? kind, string? clientId) =>
        string.Equals(kind, "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });

    /// <summary>Azurite's well-known development account on its default ports.</summary>
    public const string DevelopmentStorage =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        + "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
        + "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";
}
