namespace WatchStat.Storage;

/// <summary>
/// Text from outside (WeCom's errmsg, an exception's message) cut to a bound before it is stored or repeated: a table
/// property holds at most 32K UTF-16 characters (64 KiB), and a longer one fails the whole write.
/// </summary>
public static class BoundedText
{
    /// <summary>
    /// The most of a name or title from WeCom (a viewer's name, a live's theme and description, a corp's name) that is
    /// stored: far more than WeCom lets anyone choose, so only a broken or hostile answer is ever cut, and its page
    /// is written rather than failing its batch.
    /// </summary>
    public const int MaxNameLength = 1024;

    /// <summary><see cref="Cut"/> to <see cref="MaxNameLength"/>; null stays null.</summary>
    public static string? Name(string? text) => text is null ? null : Cut(text, MaxNameLength);

    /// <summary>
    /// The text, or its first characters and a note of how many were cut, at most <paramref name="max"/> characters
    /// in all. A surrogate pair is never split.
    /// </summary>
    public static string Cut(string text, int max)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length <= max) return text;
        var note = $"… ({text.Length:N0} characters, cut)";
        var keep = Math.Max(0, max - note.Length);
        if (keep > 0 && char.IsHighSurrogate(text[keep - 1])) keep--;
        return string.Concat(text.AsSpan(0, keep), note);
    }
}
