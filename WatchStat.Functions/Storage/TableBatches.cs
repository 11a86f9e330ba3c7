using Azure;
using Azure.Data.Tables;

namespace WatchStat.Storage;

/// <summary>
/// Deleting many rows of one partition: a query page of at most <see cref="HarvestStore.MaxBatchSize"/> keys at a
/// time, each page one entity-group transaction. Used by whatever removes rows in bulk (the arrivals index's pruning,
/// retention, forgetting a person), so there is one way to do it.
/// </summary>
public static class TableBatches
{
    /// <summary>
    /// Deletes every row <paramref name="filter"/> matches; the filter must keep to one partition (a transaction
    /// cannot span two). Idempotent: rows already gone are skipped, so an interrupted deletion is finished by running
    /// it again. Returns the rows deleted.
    /// </summary>
    public static async Task<int> DeleteAsync(TableClient table, string filter, CancellationToken cancellationToken)
    {
        var deleted = 0;
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: HarvestStore.MaxBatchSize, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).AsPages())
        {
            if (page.Values.Count == 0) continue;
            deleted += await DeleteAsync(table, page.Values, cancellationToken);
        }
        return deleted;
    }

    /// <summary>Deletes these rows of one partition (at most 100) in one transaction; one by one when another writer removed some meanwhile.</summary>
    public static async Task<int> DeleteAsync(TableClient table, IReadOnlyList<ITableEntity> rows, CancellationToken cancellationToken)
    {
        try
        {
            await table.SubmitTransactionAsync(rows.Select(e => new TableTransactionAction(TableTransactionActionType.Delete, e, ETag.All)), cancellationToken);
            return rows.Count;
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 404)
        {
            var deleted = 0;
            foreach (var row in rows)
            {
                if (await DeleteIfExistsAsync(table, row.PartitionKey, row.RowKey, cancellationToken)) deleted++;
            }
            return deleted;
        }
    }

    /// <summary>A point delete that finds the row gone is done: false then.</summary>
    public static async Task<bool> DeleteIfExistsAsync(TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        try
        {
            // The SDK answers a delete of a missing row with its 404 rather than an exception (older versions threw).
            var response = await table.DeleteEntityAsync(partitionKey, rowKey, ETag.All, cancellationToken);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }
}
