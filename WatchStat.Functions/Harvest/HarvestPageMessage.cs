using System.Text.Json;
using System.Text.Json.Serialization;

namespace WatchStat.Harvest;

/// <summary>
/// The <c>harvest-pages</c> queue message: fetch page <see cref="Page"/> (1-based) of run <see cref="RunId"/>
/// of a live of corp <see cref="CorpId"/> as WeCom app <see cref="App"/>, with <see cref="NextKey"/> as cursor. A
/// message from before corps were keyed has no corpid: its app's corp is meant. One JSON encoding, base64 on
/// the queue (see StorageClients).
/// </summary>
public sealed record HarvestPageMessage(
    [property: JsonPropertyName("livingid")] string LivingId,
    [property: JsonPropertyName("run")] string RunId,
    [property: JsonPropertyName("page")] int Page,
    [property: JsonPropertyName("next_key")] string NextKey,
    [property: JsonPropertyName("app")] string? App = null,
    [property: JsonPropertyName("corpid")] string? CorpId = null)
{
    public const string QueueName = "harvest-pages";

    /// <summary>Where the host moves a message that failed <c>maxDeliveries</c> times.</summary>
    public const string PoisonQueueName = QueueName + "-poison";

    public string ToJson() => JsonSerializer.Serialize(this, HarvestJsonContext.Default.HarvestPageMessage);

    /// <summary>Reads a message body; a body that is not one of ours is a <see cref="FormatException"/>.</summary>
    public static HarvestPageMessage Parse(string json)
    {
        HarvestPageMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(json, HarvestJsonContext.Default.HarvestPageMessage);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"A {QueueName} message is not valid JSON: {ex.Message}", ex);
        }
        if (message is null || string.IsNullOrEmpty(message.LivingId) || string.IsNullOrEmpty(message.RunId) || message.Page < 1 || message.NextKey is null)
            throw new FormatException($"A {QueueName} message lacks livingid, run, page (from 1) or next_key.");
        return message;
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HarvestPageMessage))]
[JsonSerializable(typeof(DiscoveryMessage))]
public sealed partial class HarvestJsonContext : JsonSerializerContext;
