using System.Globalization;
using System.Text;
using Spectre.Console;

namespace WatchStat.Benchmarks;

/// <summary>One figure of the benchmark: its repeated measurements, how it is shown, and its goal.</summary>
public sealed record Figure(string Id, string Name, IReadOnlyList<double> Values, string Unit, string Format, string Goal, bool? Met)
{
    public double Median => Stats.Median(Values);
    public string Show(double value) => value.ToString(Format, CultureInfo.InvariantCulture);
    public string Spread => Values.Count < 2 ? "" : $"{Show(Values.Min())} – {Show(Values.Max())}";
}

public static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var rank = p / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
}

/// <summary>The table, on the console and as Markdown in a file.</summary>
public static class Report
{
    public static string Machine => $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";

    public static void Print(IReadOnlyList<Figure> figures, string header)
    {
        var table = new Table().Title(Markup.Escape(header)).AddColumns("#", "measure", "median", "spread (min – max)", "goal", "met");
        foreach (var f in figures)
        {
            table.AddRow(f.Id, Markup.Escape(f.Name), Markup.Escape($"{f.Show(f.Median)} {f.Unit}"), Markup.Escape(f.Spread), Markup.Escape(f.Goal),
                f.Met switch { true => "[green]yes[/]", false => "[red]no[/]", null => "" });
        }
        AnsiConsole.Write(table);
    }

    public static string Markdown(IReadOnlyList<Figure> figures, string header, string command)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{header}").AppendLine();
        text.AppendLine("| # | measure | median | spread (min – max) | goal | met |").AppendLine("|---|---|---|---|---|---|");
        foreach (var f in figures)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {f.Id} | {f.Name} | {f.Show(f.Median)} {f.Unit} | {f.Spread} | {f.Goal} | {f.Met switch { true => "yes", false => "**no**", null => "" }} |");
        }
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Produced by `{command}`.");
        return text.ToString();
    }
}
