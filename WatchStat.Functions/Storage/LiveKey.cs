namespace WatchStat.Storage;

/// <summary>
/// A live as the tables know it: the corp it belongs to and its livingid. WeCom makes a livingid unique within a
/// corp only, and one deployment serves many corps (a service provider's suite), so every row of a live is keyed by
/// both: PartitionKey <c>{corpid}|{livingid}</c> (<see cref="TableKeys.Scoped"/>) in <c>Harvests</c>,
/// <c>WatchStats</c> and <c>Livings</c>. Two corps' lives with the same livingid never share a row.
/// </summary>
public readonly record struct LiveKey(string CorpId, string LivingId)
{
    /// <summary>The PartitionKey of the live's rows in every table.</summary>
    public string PartitionKey => TableKeys.Scoped(CorpId, LivingId);

    /// <summary>The live of a PartitionKey; false for a key of another shape (an index partition, a pre-corp key).</summary>
    public static bool TryParse(string partitionKey, out LiveKey live)
    {
        if (TableKeys.TryParseScoped(partitionKey, out var corpId, out var livingId))
        {
            live = new LiveKey(corpId, livingId);
            return true;
        }
        live = default;
        return false;
    }

    /// <summary><c>corpid/livingid</c>, for log lines and messages.</summary>
    public override string ToString() => $"{CorpId}/{LivingId}";
}
