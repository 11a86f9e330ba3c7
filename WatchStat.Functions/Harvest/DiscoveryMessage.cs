using System.Text.Json;
using System.Text.Json.Serialization;

namespace WatchStat.Harvest;

/// <summary>
/// The <c>discover-anchors</c> queue message: one anchor of one app in one corp to discover for the night that
/// started at <see cref="Night"/> (or, with no anchor, the night's arrivals of that app). The timer enqueues one per
/// anchor, so discovery spreads across instances and one anchor's failure does not stop the others; the night's
/// start makes a second delivery harmless (a run started since then is that night's).
/// </summary>
public sealed record DiscoveryMessage(
    [property: JsonPropertyName("app")] string App,
    [property: JsonPropertyName("corpid")] string CorpId,
    [property: JsonPropertyName("anchor")] string? AnchorUserId,
    [property: JsonPropertyName("night")] DateTimeOffset Night)
{
    public const string QueueName = "discover-anchors";

    public const string PoisonQueueName = QueueName + "-poison";

    public string ToJson() => JsonSerializer.Serialize(this, HarvestJsonContext.Default.DiscoveryMessage);

    /// <summary>Reads a message body; a body that is not one of ours is a <see cref="FormatException"/>.</summary>
    public static DiscoveryMessage Parse(string json)
    {
        DiscoveryMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(json, HarvestJsonContext.Default.DiscoveryMessage);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"A {QueueName} message is not valid JSON: {ex.Message}", ex);
        }
        if (message is null || string.IsNullOrEmpty(message.App) || message.CorpId is null || message.Night == default)
            throw new FormatException($"A {QueueName} message lacks app, corpid or night.");
        return message;
    }
}
