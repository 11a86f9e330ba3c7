using Spectre.Console.Cli;

namespace WatchStat.Cli;

/// <summary>
/// Runs before every command: arguments it does not know are a usage error. Spectre passes them on as "remaining"
/// arguments instead of failing (an unknown option, an option given without its value such as a trailing
/// <c>--out</c>), and a typo such as <c>--josn</c> must not quietly give a table to a script that wanted JSON.
/// </summary>
public sealed class UnknownArguments : ICommandInterceptor
{
    public void Intercept(CommandContext context, CommandSettings settings)
    {
        ArgumentNullException.ThrowIfNull(context);
        var unknown = context.Remaining.Parsed.Select(p => p.Key).Concat(context.Remaining.Raw).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"unknown or incomplete arguments for {context.Name}: {string.Join(" ", unknown)}", context.Name);
    }

    public void InterceptResult(CommandContext context, CommandSettings settings, ref int result)
    {
    }
}

/// <summary>The command line is wrong; nothing was done.</summary>
public sealed class UsageException(string message, string command) : Exception(message)
{
    public string Command { get; } = command;
}
