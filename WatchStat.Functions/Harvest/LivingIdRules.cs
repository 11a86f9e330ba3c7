namespace WatchStat.Harvest;

/// <summary>What a livingid must look like before anything is enqueued or written for it.</summary>
public static class LivingIdRules
{
    public const int MaxLength = 128;

    /// <summary>Null when the id is acceptable, else what is wrong with it, in a sentence.</summary>
    public static string? Check(string? livingId)
    {
        if (string.IsNullOrEmpty(livingId)) return "livingid is required and must not be empty.";
        if (livingId.Length > MaxLength) return $"livingid must be at most {MaxLength} characters; this one has {livingId.Length}.";
        foreach (var c in livingId)
        {
            if (char.IsWhiteSpace(c)) return "livingid must not contain whitespace.";
            if (char.IsControl(c)) return "livingid must not contain control characters.";
        }
        return null;
    }
}
