using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Infra;

/// <summary>
/// The Azure Monitor workbook (issue 19): deployed by the compiled template on the Application Insights resource, and
/// every KQL query in it reads only what the app writes. The names it may use are read from the app's source, not
/// copied here: metric names and their dimensions from Telemetry/WatchStatMetrics.cs, log property names and message
/// text from the [LoggerMessage] templates under WatchStat.Functions/. A query naming a metric, dimension, table or log
/// text the app does not write fails <see cref="Every_query_reads_only_tables_metrics_dimensions_and_log_text_the_app_writes"/>.
/// </summary>
public sealed partial class WorkbookTests(CompiledMainTemplate main) : IClassFixture<CompiledMainTemplate>
{
    /// <summary>The Application Insights tables the queries may read (customMetrics: the WatchStat meter; traces: ILogger logs).</summary>
    private static readonly HashSet<string> Tables = new(StringComparer.Ordinal) { "customMetrics", "traces", "exceptions", "requests" };

    /// <summary>What the app writes, read from its source once.</summary>
    private static readonly Lazy<AppTelemetry> Written = new(AppTelemetry.Read);

    private ArmResource Workbook => main.One("Microsoft.Insights/workbooks");

    /// <summary>The workbook's content as deployed: serializedData is string(loadJsonContent(...)), a variable of the module.</summary>
    private JsonObject Content()
    {
        var expression = Workbook.Properties["serializedData"]!.GetValue<string>();
        var variable = VariableCall().Match(expression);
        Assert.True(variable.Success, $"serializedData is not string(<a variable with the loaded JSON>): {expression}");
        return Workbook.Template["variables"]![variable.Groups["name"].Value]!.AsObject();
    }

    private List<(string Title, string Query)> Queries() =>
    [
        .. Items(Content())
            .Where(i => i["type"]?.GetValue<int>() == 3)
            .Select(i => (i["content"]!["title"]?.GetValue<string>() ?? "", i["content"]!["query"]!.GetValue<string>())),
    ];

    private static IEnumerable<JsonObject> Items(JsonObject group)
    {
        foreach (var item in group["items"]?.AsArray() ?? [])
        {
            yield return item!.AsObject();
            if (item["content"] is JsonObject content)
                foreach (var nested in Items(content)) yield return nested;
        }
    }

    [Fact]
    public void The_template_deploys_a_shared_workbook_on_the_Application_Insights_resource()
    {
        var workbook = Workbook;
        Assert.Equal("shared", workbook.Json["kind"]!.GetValue<string>());
        Assert.Equal("workbook", workbook.Properties["category"]!.GetValue<string>());
        Assert.Contains("'Microsoft.Insights/components'", workbook.Properties["sourceId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith("[guid(", workbook.Name, StringComparison.Ordinal);
        Assert.Empty(workbook.Conditions);

        // The file in infra is what is deployed.
        var file = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "core", "workbook.json")))!;
        Assert.True(JsonNode.DeepEquals(file, Content()), "the compiled workbook differs from infra/core/workbook.json");
        Assert.Equal("Notebook/1.0", Content()["version"]!.GetValue<string>());
    }

    [Fact]
    public void The_workbook_has_the_panels_issue_19_asks_for()
    {
        var queries = Queries();
        Assert.True(queries.Count >= 6, $"only {queries.Count} queries");

        // Harvests per day by state; pages and viewers per hour; WeCom calls by errcode; throttles; failed runs with errors.
        Assert.Contains(queries, q => q.Query.StartsWith("traces", StringComparison.Ordinal) && q.Query.Contains("bin(timestamp, 1d)", StringComparison.Ordinal) && q.Query.Contains("state", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Query.Contains("\"watchstat.pages.fetched\"", StringComparison.Ordinal) && q.Query.Contains("\"watchstat.viewers.written\"", StringComparison.Ordinal) && q.Query.Contains("bin(timestamp, 1h)", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Query.Contains("\"watchstat.wecom.call.duration\"", StringComparison.Ordinal) && q.Query.Contains("customDimensions[\"errcode\"]", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Query.Contains("\"watchstat.wecom.throttled\"", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Query.Contains("customDimensions[\"Error\"]", StringComparison.Ordinal) && q.Query.Contains("customDimensions[\"RunId\"]", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_query_reads_only_tables_metrics_dimensions_and_log_text_the_app_writes()
    {
        var written = Written.Value;
        Assert.True(written.Metrics.Count >= 6, $"only {written.Metrics.Count} metrics read from WatchStatMetrics.cs");
        Assert.True(written.LogTemplates.Count >= 20, $"only {written.LogTemplates.Count} [LoggerMessage] templates read from the app");

        var problems = Queries().SelectMany(q => Check(q.Query, written).Select(p => $"'{q.Title}': {p}")).ToList();
        Assert.True(problems.Count == 0, "workbook queries that read what the app does not write:\n" + string.Join('\n', problems));
    }

    [Theory]
    [InlineData("customMetrics\n| where name == \"watchstat.pages.fetchd\"\n| summarize sum(valueSum)", "metric watchstat.pages.fetchd")]
    [InlineData("customMetrics\n| where name == \"watchstat.wecom.throttled\"\n| summarize sum(valueSum) by tostring(customDimensions[\"errorcode\"])", "dimension errorcode")]
    [InlineData("customMetrics\n| summarize sum(valueSum) by name", "names no metric")]
    [InlineData("customEvents\n| take 10", "table customEvents")]
    [InlineData("traces\n| where message has \" finished after \"", "log text ' finished after '")]
    [InlineData("traces\n| project tostring(customDimensions.Livingid)", "log property Livingid")]
    [InlineData("traces\n| where message has \"x\"\n| union exceptions", "union")]
    public void The_check_rejects_a_query_reading_what_the_app_does_not_write(string query, string problem)
    {
        var problems = Check(query, Written.Value);
        Assert.True(problems.Any(p => p.Contains(problem, StringComparison.Ordinal)), $"the check did not report {problem}: [{string.Join("; ", problems)}]");
    }

    /// <summary>What a query reads that the app does not write; empty when it reads only what it writes.</summary>
    private static List<string> Check(string query, AppTelemetry written)
    {
        var problems = new List<string>();
        var table = TableName().Match(query).Value;
        if (!Tables.Contains(table)) problems.Add($"table {table} is not one the app writes ({string.Join(", ", Tables)})");
        if (JoinOrUnion().IsMatch(query)) problems.Add("union or join: a second table the check does not follow");

        var dimensions = DimensionReference().Matches(query).Select(m => m.Groups["name"].Value).ToList();
        if (table == "customMetrics")
        {
            var metrics = MetricLiteral().Matches(query).Select(m => m.Groups["name"].Value).ToList();
            if (metrics.Count == 0) problems.Add("names no metric: a customMetrics query must filter by the app's metric names");
            foreach (var metric in metrics.Where(m => !written.Metrics.ContainsKey(m)))
                problems.Add($"metric {metric} is not in WatchStatMetrics.cs");
            var allowed = metrics.Where(written.Metrics.ContainsKey).SelectMany(m => written.Metrics[m]).ToHashSet(StringComparer.Ordinal);
            foreach (var dimension in dimensions.Where(d => !allowed.Contains(d)))
                problems.Add($"dimension {dimension} is not a tag of {string.Join(", ", metrics)}");
        }
        else if (table == "traces")
        {
            foreach (var property in dimensions.Where(d => !written.LogProperties.Contains(d)))
                problems.Add($"log property {property} is in no [LoggerMessage] template");
            foreach (Match text in MessageFilter().Matches(query))
            {
                var literal = text.Groups["text"].Value;
                if (!written.LogTemplates.Any(t => t.Contains(literal, StringComparison.Ordinal)))
                    problems.Add($"log text '{literal}' is in no [LoggerMessage] template");
            }
        }
        else if (dimensions.Count > 0)
        {
            problems.Add($"customDimensions of {table} ({string.Join(", ", dimensions)}) are not checked");
        }
        return problems;
    }

    /// <summary>The metrics (name to tag names) and log templates the app's source declares.</summary>
    private sealed partial record AppTelemetry(
        IReadOnlyDictionary<string, IReadOnlySet<string>> Metrics, IReadOnlyList<string> LogTemplates, IReadOnlySet<string> LogProperties)
    {
        public static AppTelemetry Read()
        {
            var source = File.ReadAllText(RepoPaths.Combine("WatchStat.Functions", "Telemetry", "WatchStatMetrics.cs"));

            // Each instrument: its field and metric name; each recording method: the field it adds to and the tags.
            var fields = Instrument().Matches(source).ToDictionary(m => m.Groups["field"].Value, m => m.Groups["name"].Value);
            var metrics = fields.Values.ToDictionary(n => n, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
            foreach (Match method in RecordingMethod().Matches(source))
            {
                var body = method.Groups["body"].Value;
                var tags = Tag().Matches(body).Select(t => t.Groups["tag"].Value).ToList();
                foreach (Match use in FieldUse().Matches(body))
                    if (fields.TryGetValue(use.Groups["field"].Value, out var metric)) metrics[metric].UnionWith(tags);
            }

            var templates = Directory.GetFiles(RepoPaths.Combine("WatchStat.Functions"), "*.cs", SearchOption.AllDirectories)
                .SelectMany(f => LoggerMessage().Matches(File.ReadAllText(f)).Select(m => m.Groups["text"].Value))
                .ToList();
            var properties = templates.SelectMany(t => Placeholder().Matches(t).Select(p => p.Groups["name"].Value)).ToHashSet(StringComparer.Ordinal);

            return new(metrics.ToDictionary(p => p.Key, p => (IReadOnlySet<string>)p.Value, StringComparer.Ordinal), templates, properties);
        }

        [GeneratedRegex(@"(?<field>_\w+)\s*=\s*meter\.Create\w+<[^>]+>\(\s*""(?<name>[^""]+)""")]
        private static partial Regex Instrument();

        /// <summary>A public method of WatchStatMetrics: an expression body (=> ...;) or a block body ({ ... }, not nested).</summary>
        [GeneratedRegex(@"public void \w+\([^)]*\)\s*(=>(?<body>[^;]+);|\{(?<body>[^{}]*)\})")]
        private static partial Regex RecordingMethod();

        [GeneratedRegex(@"(?<field>_\w+)\.(Add|Record)\(")]
        private static partial Regex FieldUse();

        /// <summary>A tag: new("api", ...) or new KeyValuePair&lt;string, object?&gt;("app", ...).</summary>
        [GeneratedRegex(@"new(\s+KeyValuePair<string,\s*object\?>)?\(""(?<tag>[^""]+)""\s*,")]
        private static partial Regex Tag();

        [GeneratedRegex(@"\[LoggerMessage\([^\]]*Message\s*=\s*""(?<text>(?:[^""\\]|\\.)*)""")]
        private static partial Regex LoggerMessage();

        [GeneratedRegex(@"\{(?<name>\w+)(:[^}]*)?\}")]
        private static partial Regex Placeholder();
    }

    [GeneratedRegex(@"^\[string\(variables\('(?<name>[^']+)'\)\)\]$")]
    private static partial Regex VariableCall();

    [GeneratedRegex(@"^\s*\w+")]
    private static partial Regex TableName();

    [GeneratedRegex(@"\b(union|join)\b")]
    private static partial Regex JoinOrUnion();

    /// <summary>customDimensions["x"], customDimensions['x'] or customDimensions.x.</summary>
    [GeneratedRegex(@"customDimensions(\[\s*[""'](?<name>[^""']+)[""']\s*\]|\.(?<name>\w+))")]
    private static partial Regex DimensionReference();

    /// <summary>A string literal that names a metric of the app's meter (watchstat.*).</summary>
    [GeneratedRegex(@"""(?<name>watchstat\.[^""]*)""")]
    private static partial Regex MetricLiteral();

    /// <summary>A filter on a log line's text: message has / startswith / contains / endswith "...".</summary>
    [GeneratedRegex(@"message\s+(has|startswith|contains|endswith|==)\s+""(?<text>[^""]*)""")]
    private static partial Regex MessageFilter();
}
