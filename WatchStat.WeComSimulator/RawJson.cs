using System.Buffers;
using System.Text;
using System.Text.Json;

namespace WatchStat.WeComSimulator;

/// <summary>
/// Writes JSON strings the way WeCom does: UTF-8 as is (Chinese, emoji as 4-byte sequences, '/' unescaped); only '"', '\\'
/// and control characters below U+0020 are escaped. (Utf8JsonWriter's encoders would escape non-ASCII as \uXXXX.)
/// </summary>
internal static class RawJson
{
    private const int StackLimit = 512;

    public static void WriteString(Utf8JsonWriter writer, JsonEncodedText propertyName, string value)
    {
        writer.WritePropertyName(propertyName);
        int max = (value.Length * 6) + 2;
        byte[]? rented = null;
        Span<byte> buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int length = Encode(value, buffer);
            writer.WriteRawValue(buffer[..length], skipInputValidation: true);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int Encode(ReadOnlySpan<char> value, Span<byte> destination)
    {
        int pos = 0;
        destination[pos++] = (byte)'"';
        int runStart = 0;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c >= 0x20 && c != '"' && c != '\\')
            {
                continue;
            }

            pos += Encoding.UTF8.GetBytes(value[runStart..i], destination[pos..]);
            pos += Escape(c, destination[pos..]);
            runStart = i + 1;
        }

        pos += Encoding.UTF8.GetBytes(value[runStart..], destination[pos..]);
        destination[pos++] = (byte)'"';
        return pos;
    }

    private static int Escape(char c, Span<byte> destination)
    {
        destination[0] = (byte)'\\';
        byte simple = c switch
        {
            '"' => (byte)'"',
            '\\' => (byte)'\\',
            '\n' => (byte)'n',
            '\r' => (byte)'r',
            '\t' => (byte)'t',
            '\b' => (byte)'b',
            '\f' => (byte)'f',
            _ => 0,
        };
        if (simple != 0)
        {
            destination[1] = simple;
            return 2;
        }

        const string Hex = "0123456789abcdef";
        destination[1] = (byte)'u';
        destination[2] = (byte)'0';
        destination[3] = (byte)'0';
        destination[4] = (byte)Hex[(c >> 4) & 0xF];
        destination[5] = (byte)Hex[c & 0xF];
        return 6;
    }
}
