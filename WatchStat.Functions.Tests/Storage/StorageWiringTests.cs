using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using WatchStat.Storage;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Storage;

/// <summary>The storage clients the app builds from AzureWebJobsStorage, against a real Azurite.</summary>
public sealed class StorageWiringTests
{
    [Fact]
    public async Task A_table_and_a_queue_round_trip_through_Azurite()
    {
        var azurite = await Azurite.SharedAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [StorageClients.SettingName] = azurite.ConnectionString })
            .Build();
        var clients = StorageClients.FromConfiguration(configuration);
        var suffix = Guid.NewGuid().ToString("N")[..12];

        var table = clients.Tables.GetTableClient($"wiring{suffix}");
        await table.CreateIfNotExistsAsync();
        await table.UpsertEntityAsync(new TableEntity("live-1", "m:u1") { ["WatchTimeSeconds"] = 42, ["Name"] = "王小明😀" });
        var row = (await table.GetEntityAsync<TableEntity>("live-1", "m:u1")).Value;
        Assert.Equal((42, "王小明😀"), (row.GetInt32("WatchTimeSeconds"), row.GetString("Name")));

        var queue = clients.Queues.GetQueueClient($"wiring-{suffix}");
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("""{"livingid":"live-1"}""");
        // On the wire the message is base64, which is what the queue trigger expects by default.
        var raw = (await new QueueClient(azurite.ConnectionString, queue.Name).PeekMessageAsync()).Value;
        Assert.Equal(Convert.ToBase64String("""{"livingid":"live-1"}"""u8), raw.Body.ToString());
        var message = (await queue.ReceiveMessageAsync()).Value;
        Assert.Equal("""{"livingid":"live-1"}""", message.Body.ToString());

        await table.DeleteAsync();
        await queue.DeleteAsync();
    }

    [Fact]
    public void A_missing_storage_setting_names_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageClients.FromConfiguration(new ConfigurationBuilder().Build()));

        Assert.Contains("AzureWebJobsStorage", error.Message);
    }
}
