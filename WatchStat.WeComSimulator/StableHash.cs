namespace WatchStat.WeComSimulator;

/// <summary>Process-independent hashing (never string.GetHashCode): FNV-1a 64 and the SplitMix64 finalizer.</summary>
internal static class StableHash
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>FNV-1a 64 over the UTF-16LE bytes of <paramref name="value"/>.</summary>
    public static ulong Fnv1a64(string value)
    {
        ulong h = FnvOffset;
        foreach (char c in value)
        {
            h ^= (byte)c;
            h *= FnvPrime;
            h ^= (byte)(c >> 8);
            h *= FnvPrime;
        }

        return h;
    }

    /// <summary>SplitMix64 finalizer: a bijective, well-mixing function of 64 bits.</summary>
    public static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>Hash of (seed, index, salt); index must be below 2^40, salt below 2^24.</summary>
    public static ulong Of(ulong seed, long index, ulong salt) => Mix(seed ^ Mix((ulong)index | (salt << 40)));

    /// <summary>A double in [0, 1) from the high 53 bits of <paramref name="h"/>.</summary>
    public static double Unit(ulong h) => (h >> 11) * (1.0 / (1UL << 53));
}
