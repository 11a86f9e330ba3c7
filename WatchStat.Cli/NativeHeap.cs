using System.Runtime.InteropServices;

namespace WatchStat.Cli;

/// <summary>
/// Lets glibc hand large freed native blocks back to the system at once, so a command's working set follows what it
/// holds rather than what it once held.
/// </summary>
/// <remarks>
/// Native memory in a .NET process is mostly the JIT's: compiling a method borrows blocks of 64 KiB and more, and frees
/// them when the method is done. glibc serves blocks above its mmap threshold with a mapping of their own and unmaps them
/// on free, but by default that threshold is dynamic: each such block freed raises it to the block's size, after which
/// blocks that size come from the heap and stay resident once freed, one heap per thread that compiled. Fixing the
/// threshold (which turns the adjustment off) at 64 KiB keeps the JIT's large blocks out of those heaps. Measured on the
/// export of 100,000 viewers (benchmark figure 8): peak working set 104 – 108 MiB without, 98 – 99 MiB with. The cost is
/// one mmap and munmap per large block, microseconds against the milliseconds it takes to compile the method.
/// Elsewhere (not Linux, or a C library without <c>mallopt</c>) this does nothing.
/// </remarks>
public static class NativeHeap
{
    /// <summary>Blocks of this size and above are mapped on their own and unmapped when freed.</summary>
    public const int MmapThreshold = 64 * 1024;

    private const int M_MMAP_THRESHOLD = -3; // <malloc.h>

    /// <summary>Sets glibc's mmap threshold; true when the C library took it.</summary>
    public static bool ReturnLargeBlocksWhenFreed()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return mallopt(M_MMAP_THRESHOLD, MmapThreshold) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "mallopt", ExactSpelling = true)]
    private static extern int mallopt(int param, int value);
}
