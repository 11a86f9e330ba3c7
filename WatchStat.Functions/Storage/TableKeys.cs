using System.Globalization;
using System.Text;

namespace WatchStat.Storage;

/// <summary>
/// Reversible escaping of ids into PartitionKey / RowKey values. Azure forbids <c>/ \ # ?</c> and the control
/// characters U+0000-U+001F and U+007F-U+009F in keys; each of those, and the escape character <c>%</c> itself,
/// becomes <c>%XX</c> (two upper-case hex digits). Every other character stays as it is, so ordinary ids read as
/// themselves, and two different ids can never share a key.
/// </summary>
public static class TableKeys
{
    /// <summary>Azure's limit for a PartitionKey or RowKey, in characters (1 KiB).</summary>
    public const int MaxLength = 1024;

    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var index = value.AsSpan().IndexOfAny(SearchValues);
        if (index < 0) return value;

        var builder = new StringBuilder(value.Length + 8);
        builder.Append(value, 0, index);
        for (var i = index; i < value.Length; i++)
        {
            var c = value[i];
            if (MustEscape(c)) builder.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            else builder.Append(c);
        }
        return builder.ToString();
    }

    public static string Unescape(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var index = key.IndexOf('%', StringComparison.Ordinal);
        if (index < 0) return key;

        var builder = new StringBuilder(key.Length);
        builder.Append(key, 0, index);
        for (var i = index; i < key.Length; i++)
        {
            if (key[i] != '%')
            {
                builder.Append(key[i]);
                continue;
            }
            if (i + 2 >= key.Length
                || !int.TryParse(key.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                throw new FormatException($"'{key}' is not an escaped table key: '%' at {i} is not followed by two hex digits.");
            builder.Append((char)code);
            i += 2;
        }
        return builder.ToString();
    }

    /// <summary>
    /// A key of two ids, <c>{scope}|{id}</c> (a corp and a livingid): both escaped, and a <c>|</c> in the scope
    /// escaped as well (<c>%7C</c>), so the first <c>|</c> always ends the scope and two different pairs never share a key.
    /// </summary>
    public static string Scoped(string scope, string id)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return Escape(scope).Replace("|", "%7C", StringComparison.Ordinal) + ScopeSeparator + Escape(id);
    }

    /// <summary>The two ids of a <see cref="Scoped"/> key; false for a key without a scope or with a malformed escape.</summary>
    public static bool TryParseScoped(string key, out string scope, out string id)
    {
        (scope, id) = ("", "");
        var separator = key.IndexOf(ScopeSeparator, StringComparison.Ordinal);
        if (separator <= 0) return false;
        try
        {
            (scope, id) = (Unescape(key[..separator]), Unescape(key[(separator + 1)..]));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private const char ScopeSeparator = '|';

    private static bool MustEscape(char c) => c is '%' or '/' or '\\' or '#' or '?' || c <= '\u001F' || c is >= '\u007F' and <= '\u009F';

    private static readonly System.Buffers.SearchValues<char> SearchValues = System.Buffers.SearchValues.Create(
        "%/\\#?" + new string([.. Enumerable.Range(0, 0x20).Select(i => (char)i)]) + new string([.. Enumerable.Range(0x7F, 0x21).Select(i => (char)i)]));
}
