namespace WatchStat.Harvest;

/// <summary>What a livingid must look like before anything is enqueued or written for it.</summary>
public static class LivingIdRules
{
    public const int MaxLength = 128;

    /// <summary>
    /// Null when the id is acceptable, else what is wrong with it, in a sentence. Besides its length, whitespace and
    /// control characters: it must be valid UTF-16 (a lone surrogate cannot be stored, sent to WeCom or put in a URL),
    /// and it must not contain <c>/</c>, which no status, retry, report or export URL could carry (a <c>%2F</c> in a
    /// path is not a path segment's character to the hosts), so a live that could not be read back is never started.
    /// </summary>
    public static string? Check(string? livingId)
    {
        if (string.IsNullOrEmpty(livingId)) return "livingid is required and must not be empty.";
        if (livingId.Length > MaxLength) return $"livingid must be at most {MaxLength} characters; this one has {livingId.Length}.";
        for (var i = 0; i < livingId.Length; i++)
        {
            var c = livingId[i];
            if (char.IsWhiteSpace(c)) return "livingid must not contain whitespace.";
            if (char.IsControl(c)) return "livingid must not contain control characters.";
            if (c == '/') return "livingid must not contain '/': no status, retry, report or export URL could name the live.";
            if (char.IsHighSurrogate(c) && i + 1 < livingId.Length && char.IsLowSurrogate(livingId[i + 1])) i++;
            else if (char.IsSurrogate(c)) return $"livingid is not valid UTF-16 text: a lone surrogate (U+{(int)c:X4}) at character {i + 1}.";
        }
        return null;
    }
}
