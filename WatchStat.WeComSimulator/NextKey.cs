using System.Buffers.Binary;
using System.Buffers.Text;

namespace WatchStat.WeComSimulator;

/// <summary>
/// get_watch_stat's next_key: "nk_" + base64url of 21 bytes: version (1), check value (8, derived from the live and the
/// cursor), then offset, page and previous offset (3 x 4 bytes, little endian) masked with a stream derived from the check.
/// Opaque, non-numeric, different for every page; only keys this simulator issued for the live decode.
/// </summary>
internal static class NextKey
{
    private const string Prefix = "nk_";
    private const byte Version = 1;
    private const int ByteLength = 21;

    /// <summary>True for the values that mean "start": absent, "" and "0".</summary>
    public static bool IsStart(string? key) => string.IsNullOrEmpty(key) || key == "0";

    public static string Encode(SimulatedLive live, PageCursor cursor)
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        ulong check = Check(live, cursor);
        bytes[0] = Version;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[1..], check);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[9..], cursor.Offset);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[13..], cursor.Page);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[17..], cursor.PrevOffset);
        Mask(bytes[9..], check);
        return Prefix + Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecode(SimulatedLive live, string key, out PageCursor cursor)
    {
        cursor = default;
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length != Prefix.Length + 28)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[ByteLength];
        if (!Base64Url.TryDecodeFromChars(key.AsSpan(Prefix.Length), bytes, out int written) || written != ByteLength || bytes[0] != Version)
        {
            return false;
        }

        ulong check = BinaryPrimitives.ReadUInt64LittleEndian(bytes[1..]);
        Mask(bytes[9..], check);
        var candidate = new PageCursor(
            BinaryPrimitives.ReadInt32LittleEndian(bytes[9..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[13..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[17..]));
        if (check != Check(live, candidate)
            || candidate.Page < 2
            || candidate.Offset < 0
            || candidate.Offset > live.Total
            || candidate.PrevOffset < -1
            || candidate.PrevOffset >= Math.Max(candidate.Offset, 1))
        {
            return false;
        }

        cursor = candidate;
        return true;
    }

    private static ulong Check(SimulatedLive live, PageCursor cursor) =>
        StableHash.Mix(live.Seed
            ^ StableHash.Mix((uint)cursor.Offset | ((ulong)(uint)cursor.Page << 32))
            ^ StableHash.Mix(0x6E6B5F7374617400UL ^ (uint)(cursor.PrevOffset + 1)));

    private static void Mask(Span<byte> payload, ulong check)
    {
        Span<byte> stream = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(stream, StableHash.Mix(check ^ 0x5555555555555555UL));
        BinaryPrimitives.WriteUInt64LittleEndian(stream[8..], StableHash.Mix(check ^ 0xAAAAAAAAAAAAAAAAUL));
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] ^= stream[i];
        }
    }
}
