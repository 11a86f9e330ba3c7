using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Infra;

/// <summary>
/// The Azure deployment (infra/*.bicep), checked offline: the real Bicep CLI (restored from NuGet by the test
/// project's PackageDownload) lints every file and compiles main.bicep, and the compiled ARM JSON is read for the
/// properties the deployment promises. Nothing is deployed.
/// </summary>
public sealed partial class InfraTemplateTests(CompiledMainTemplate main) : IClassFixture<CompiledMainTemplate>
{
    /// <summary>The five data roles of the app's identity and the resource type each must be scoped to.</summary>
    public static TheoryData<string, string, string> DataRoles => new()
    {
        { "Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Microsoft.Storage/storageAccounts" },
        { "Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Microsoft.Storage/storageAccounts" },
        { "Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Microsoft.Storage/storageAccounts" },
        { "Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6", "Microsoft.KeyVault/vaults" },
        { "Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb", "Microsoft.Insights/components" },
    };

    private const string KeyVaultSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";

    private static readonly string[] EgressTypes =
        ["Microsoft.Network/natGateways", "Microsoft.Network/publicIPAddresses", "Microsoft.Network/virtualNetworks"];

    [Fact]
    public void Main_bicep_builds_without_a_warning_or_an_error()
    {
        Assert.True(main.Build.ExitCode == 0, $"bicep build failed (exit {main.Build.ExitCode}):\n{main.Build.Output}");
        Assert.True(main.Build.Output.Length == 0, $"bicep build printed diagnostics:\n{main.Build.Output}");
        Assert.True(main.All.Count > 10, "the compiled template declares almost no resources");
    }

    [Fact]
    public async Task Every_bicep_file_under_infra_lints_without_a_diagnostic()
    {
        var infra = RepoPaths.Combine("infra");
        var files = Directory.GetFiles(infra, "*.bicep", SearchOption.AllDirectories);
        Assert.True(files.Length >= 5, $"only {files.Length} .bicep files under infra");

        var lint = await Bicep.RunInAsync(infra, "lint", "--pattern", "**/*.bicep");
        Assert.True(lint.ExitCode == 0 && lint.Output.Length == 0, $"bicep lint (exit {lint.ExitCode}):\n{lint.Output}");

        // The same lint as SARIF prints one log per file it linted: proof that the pattern covered every file.
        var sarif = await Bicep.RunInAsync(infra, "lint", "--pattern", "**/*.bicep", "--diagnostics-format", "sarif");
        var logs = ParseConcatenatedJson(sarif.Output);
        Assert.True(logs.Count == files.Length, $"bicep lint covered {logs.Count} of the {files.Length} .bicep files");
        Assert.All(logs, log => Assert.Empty(log["runs"]![0]!["results"]!.AsArray()));
    }

    [Fact]
    public void The_linter_runs_every_rule_at_error_level()
    {
        var config = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "bicepconfig.json")))!;
        var core = config["analyzers"]!["core"]!;
        Assert.True(core["enabled"]!.GetValue<bool>(), "analyzers.core.enabled is not true");

        var rules = core["rules"]!.AsObject();
        Assert.True(rules.Count >= 50, $"bicepconfig.json sets only {rules.Count} rules");
        foreach (var (rule, setting) in rules)
            Assert.True(setting!["level"]!.GetValue<string>() == "error", $"rule {rule} is not at level error");
    }

    [Fact]
    public void No_bicep_file_uses_a_registry_module_so_the_build_works_offline()
    {
        foreach (var file in Directory.GetFiles(RepoPaths.Combine("infra"), "*.bicep", SearchOption.AllDirectories))
        {
            var name = Path.GetRelativePath(RepoPaths.Root, file);
            var text = File.ReadAllText(file);
            Assert.False(text.Contains("br/public", StringComparison.OrdinalIgnoreCase), $"{name} references the public module registry");
            Assert.False(RegistryReference().IsMatch(text), $"{name} references a module registry or template spec");
            foreach (Match module in ModuleReference().Matches(text))
            {
                var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, module.Groups["path"].Value));
                Assert.True(File.Exists(target), $"{name}: module '{module.Groups["path"].Value}' is not a local file");
            }
        }
    }

    [Fact]
    public void The_storage_account_takes_no_shared_key_no_public_blob_and_only_HTTPS_with_TLS_1_2()
    {
        var storage = main.One("Microsoft.Storage/storageAccounts").Properties;

        Assert.False(storage["allowSharedKeyAccess"]!.GetValue<bool>(), "shared key access is allowed");
        Assert.False(storage["allowBlobPublicAccess"]!.GetValue<bool>(), "public blob access is allowed");
        Assert.True(storage["supportsHttpsTrafficOnly"]!.GetValue<bool>(), "plain HTTP is allowed");
        Assert.True(storage["defaultToOAuthAuthentication"]!.GetValue<bool>(), "Entra ID is not the default authentication");
        Assert.Equal("TLS1_2", storage["minimumTlsVersion"]!.GetValue<string>());
    }

    [Fact]
    public void The_storage_account_has_the_deployment_container_the_page_queues_and_the_tables()
    {
        Assert.Single(main.Deployed("Microsoft.Storage/storageAccounts/blobServices/containers"));
        var storage = main.Deployments.Single(d => d.Resources.Any(r => r.Type == "Microsoft.Storage/storageAccounts" && !r.IsExisting));
        var args = storage.Parameters.Text();

        foreach (var queue in new[] { "harvest-pages", "harvest-pages-poison" })
            Assert.True(args.Contains($"\"{queue}\"", StringComparison.Ordinal), $"queue {queue} is not created");
        foreach (var table in new[] { "WatchStats", "Harvests", "Livings" })
            Assert.True(args.Contains($"\"{table}\"", StringComparison.Ordinal), $"table {table} is not created");
        Assert.Single(main.Deployed("Microsoft.Storage/storageAccounts/queueServices/queues"));
        Assert.Single(main.Deployed("Microsoft.Storage/storageAccounts/tableServices/tables"));
    }

    [Fact]
    public void The_function_app_runs_dotnet_isolated_10_on_Flex_Consumption()
    {
        var plan = main.One("Microsoft.Web/serverfarms").Json;
        Assert.Equal(("FC1", "FlexConsumption"), (plan["sku"]!["name"]!.GetValue<string>(), plan["sku"]!["tier"]!.GetValue<string>()));

        var site = main.One("Microsoft.Web/sites");
        Assert.Equal("functionapp,linux", site.Json["kind"]!.GetValue<string>());
        var config = site.Properties["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", config["runtime"]!["name"]!.GetValue<string>());
        Assert.Equal("10.0", config["runtime"]!["version"]!.GetValue<string>());
        Assert.Equal("[parameters('maximumInstanceCount')]", config["scaleAndConcurrency"]!["maximumInstanceCount"]!.GetValue<string>());
        Assert.Equal("[parameters('instanceMemoryMB')]", config["scaleAndConcurrency"]!["instanceMemoryMB"]!.GetValue<string>());

        var deployment = config["deployment"]!["storage"]!;
        Assert.Equal("blobContainer", deployment["type"]!.GetValue<string>());
        Assert.Equal("UserAssignedIdentity", deployment["authentication"]!["type"]!.GetValue<string>());
        Assert.Contains("Microsoft.ManagedIdentity/userAssignedIdentities", deployment["authentication"]!["userAssignedIdentityResourceId"]!.GetValue<string>());
    }

    [Fact]
    public void The_function_app_is_HTTPS_only_with_TLS_1_2_and_no_FTP_or_basic_auth_publishing()
    {
        var site = main.One("Microsoft.Web/sites");

        Assert.True(site.Properties["httpsOnly"]!.GetValue<bool>(), "the site accepts plain HTTP");
        Assert.Equal("Enabled", site.Properties["publicNetworkAccess"]!.GetValue<string>());
        Assert.Equal("1.2", site.Properties["siteConfig"]!["minTlsVersion"]!.GetValue<string>());
        Assert.Equal("Disabled", site.Properties["siteConfig"]!["ftpsState"]!.GetValue<string>());
        Assert.Equal("UserAssigned", site.Json["identity"]!["type"]!.GetValue<string>());
        Assert.Contains("'azd-service-name', 'api'", site.Json["tags"]!.GetValue<string>(), StringComparison.Ordinal);

        var policies = main.Deployed("Microsoft.Web/sites/basicPublishingCredentialsPolicies").ToList();
        foreach (var kind in new[] { "ftp", "scm" })
        {
            var policy = policies.SingleOrDefault(p => p.Name.Contains($"'{kind}'", StringComparison.Ordinal));
            Assert.True(policy is not null, $"no basic publishing credentials policy for {kind}");
            Assert.False(policy.Properties["allow"]!.GetValue<bool>(), $"basic auth publishing over {kind} is allowed");
        }
    }

    [Fact]
    public void The_app_settings_connect_storage_Key_Vault_and_Application_Insights_through_the_identity()
    {
        var settings = main.AppSettingsText();

        string[] expected =
        [
            "'AzureWebJobsStorage__credential', 'value', 'managedidentity'", "'AzureWebJobsStorage__clientId'",
            "'AzureWebJobsStorage__blobServiceUri'", "'AzureWebJobsStorage__queueServiceUri'", "'AzureWebJobsStorage__tableServiceUri'",
            "'AZURE_CLIENT_ID'", "'KeyVault__Uri'", "'APPLICATIONINSIGHTS_CONNECTION_STRING'",
            "'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', 'value', format('ClientId={0};Authorization=AAD'",
            "WeCom__Apps__{0}__CorpId", "WeCom__Apps__{0}__SecretName", "WeCom__Apps__{0}__AnchorUserIds",
            "Harvest__NightlySchedule", "Harvest__SweepSchedule", "Harvest__LookbackDays", "Harvest__StallSeconds",
            "WeCom__MaxCallsPerMinute",
        ];
        foreach (var fragment in expected)
            Assert.True(settings.Contains(fragment, StringComparison.Ordinal), $"the app settings lack {fragment}");
        Assert.True(settings.Contains("flatten(map(parameters('wecomApps')", StringComparison.Ordinal), "the WeCom settings are not made for every app");
    }

    [Fact]
    public void No_output_or_app_setting_carries_a_key_a_connection_string_with_a_key_or_a_secret()
    {
        string[] forbidden = ["listKeys", "listSecrets", "listConnectionStrings", "AccountKey", "SharedAccessKey", "SharedAccessSignature", "@Microsoft.KeyVault("];

        var everything = main.Template.Text();
        foreach (var word in forbidden)
            Assert.False(everything.Contains(word, StringComparison.OrdinalIgnoreCase), $"the compiled template uses {word}");

        var settings = main.AppSettingsText();
        foreach (var word in forbidden)
            Assert.False(settings.Contains(word, StringComparison.OrdinalIgnoreCase), $"an app setting uses {word}");

        foreach (var (template, where) in main.Templates)
        {
            foreach (var (name, output) in template["outputs"]?.AsObject() ?? [])
            {
                var type = output!["type"]!.GetValue<string>();
                Assert.False(type.StartsWith("secure", StringComparison.OrdinalIgnoreCase), $"output {where}{name} is {type}");
                Assert.False(output["value"]!.Text().Contains("ConnectionString", StringComparison.OrdinalIgnoreCase), $"output {where}{name} carries a connection string");
            }
            foreach (var (name, parameter) in template["parameters"]?.AsObject() ?? [])
            {
                var type = parameter!["type"]?.GetValue<string>() ?? "";
                Assert.False(type.StartsWith("secure", StringComparison.OrdinalIgnoreCase), $"parameter {where}{name} is a secure value passed into the deployment");
            }
        }
        Assert.Empty(main.Deployed("Microsoft.KeyVault/vaults/secrets"));
    }

    [Fact]
    public void The_key_vault_uses_RBAC_soft_delete_and_purge_protection_and_holds_no_secret()
    {
        var vault = main.One("Microsoft.KeyVault/vaults").Properties;

        Assert.True(vault["enableRbacAuthorization"]!.GetValue<bool>(), "the vault uses access policies, not RBAC");
        Assert.True(vault["enableSoftDelete"]!.GetValue<bool>(), "soft delete is off");
        Assert.Equal(90, vault["softDeleteRetentionInDays"]!.GetValue<int>());
        Assert.True(vault["enablePurgeProtection"]!.GetValue<bool>(), "purge protection is off");
        Assert.Empty(main.Deployed("Microsoft.KeyVault/vaults/secrets"));
    }

    [Fact]
    public void Application_Insights_is_workspace_based_and_accepts_only_Entra_authenticated_telemetry()
    {
        var insights = main.One("Microsoft.Insights/components").Properties;

        Assert.True(insights["DisableLocalAuth"]!.GetValue<bool>(), "Application Insights accepts telemetry without Entra ID");
        Assert.Contains("Microsoft.OperationalInsights/workspaces", insights["WorkspaceResourceId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Single(main.Deployed("Microsoft.OperationalInsights/workspaces"));
    }

    [Theory]
    [MemberData(nameof(DataRoles))]
    public void Each_role_of_the_identity_is_assigned_on_its_own_resource_under_a_deterministic_name(string role, string roleId, string scopeType)
    {
        var assignments = main.Deployed("Microsoft.Authorization/roleAssignments")
            .Where(a => a.Expand(a.Properties["roleDefinitionId"]!.Text()).Contains(roleId, StringComparison.OrdinalIgnoreCase))
            .ToList();

        var assignment = Assert.Single(assignments);
        var scope = assignment.Json["scope"]?.GetValue<string>() ?? "";
        Assert.True(scope.Contains($"'{scopeType}'", StringComparison.Ordinal), $"{role} is not scoped to a {scopeType} (scope: {scope})");
        Assert.True(assignment.Name.StartsWith("[guid(", StringComparison.Ordinal), $"{role}'s name is not a guid() of its inputs");
        Assert.True(assignment.Name.Contains($"'{scopeType}'", StringComparison.Ordinal), $"{role}'s name does not derive from the resource");
        Assert.True(assignment.Name.Contains("Microsoft.ManagedIdentity/userAssignedIdentities", StringComparison.Ordinal), $"{role}'s name does not derive from the identity");
        Assert.Equal("ServicePrincipal", assignment.Properties["principalType"]!.GetValue<string>());
        Assert.Empty(assignment.Conditions);
    }

    [Fact]
    public void Every_role_assignment_is_scoped_to_a_resource_not_the_resource_group()
    {
        var assignments = main.Deployed("Microsoft.Authorization/roleAssignments").ToList();

        Assert.Equal(6, assignments.Count);
        foreach (var assignment in assignments)
            Assert.True(assignment.Json["scope"] is not null, $"role assignment {assignment.Name} has no resource scope");
    }

    [Fact]
    public void The_deploying_user_may_set_secrets_only_when_azd_names_them()
    {
        var officer = Assert.Single(main.Deployed("Microsoft.Authorization/roleAssignments"),
            a => a.Expand(a.Properties["roleDefinitionId"]!.Text()).Contains(KeyVaultSecretsOfficer, StringComparison.OrdinalIgnoreCase));

        Assert.Contains("'Microsoft.KeyVault/vaults'", officer.Json["scope"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("[not(empty(parameters('operatorPrincipalId')))]", officer.Conditions);
        Assert.StartsWith("[guid(", officer.Name, StringComparison.Ordinal);

        var keyVault = main.Deployments.Single(d => d.Resources.Any(r => r.Type == "Microsoft.KeyVault/vaults" && !r.IsExisting));
        Assert.Equal("[parameters('principalId')]", keyVault.Parameters["operatorPrincipalId"]!["value"]!.GetValue<string>());
        Assert.Equal("", main.Template["parameters"]!["principalId"]!["defaultValue"]!.GetValue<string>());
        Assert.Equal("User", main.Template["parameters"]!["principalType"]!["defaultValue"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_NAT_gateway_public_IP_and_virtual_network_exist_only_with_staticEgressIp(bool staticEgressIp)
    {
        var deployed = main.All.Where(r => !r.IsExisting && r.DeployedWhen(staticEgressIp))
            .Select(r => r.Type).ToHashSet(StringComparer.OrdinalIgnoreCase);

        foreach (var type in EgressTypes)
            Assert.True(deployed.Contains(type) == staticEgressIp, $"{type} is {(deployed.Contains(type) ? "" : "not ")}deployed with staticEgressIp={staticEgressIp}");
        foreach (var resource in main.All.Where(r => EgressTypes.Contains(r.Type, StringComparer.OrdinalIgnoreCase) && !r.IsExisting))
            Assert.True(resource.Conditions.Any(c => c.Contains("staticEgressIp", StringComparison.Ordinal)), $"{resource.Type} is not under the staticEgressIp condition");
    }

    [Fact]
    public void With_staticEgressIp_the_app_leaves_through_a_NAT_gateway_on_a_delegated_subnet()
    {
        var network = main.One("Microsoft.Network/virtualNetworks").Properties.Text();
        Assert.Contains("\"serviceName\":\"Microsoft.App/environments\"", network, StringComparison.Ordinal);
        Assert.Contains("Microsoft.Network/natGateways", network, StringComparison.Ordinal);

        var ip = main.One("Microsoft.Network/publicIPAddresses");
        Assert.Equal("Standard", ip.Json["sku"]!["name"]!.GetValue<string>());
        Assert.Equal("Static", ip.Properties["publicIPAllocationMethod"]!.GetValue<string>());
        Assert.Contains("Microsoft.Network/publicIPAddresses", main.One("Microsoft.Network/natGateways").Properties.Text(), StringComparison.Ordinal);

        Assert.Equal("[if(empty(parameters('subnetId')), null(), parameters('subnetId'))]",
            main.One("Microsoft.Web/sites").Properties["virtualNetworkSubnetId"]!.GetValue<string>());
        var egressIp = main.Template["outputs"]!["WECOM_EGRESS_IP"]!["value"]!.GetValue<string>();
        Assert.Contains("parameters('staticEgressIp')", egressIp, StringComparison.Ordinal);
        Assert.Contains("''", egressIp, StringComparison.Ordinal);
        Assert.False(main.Template["parameters"]!["staticEgressIp"]!["defaultValue"]!.GetValue<bool>(), "staticEgressIp is on by default");
    }

    [Fact]
    public void The_instance_limits_keep_WeCom_calls_under_its_rate_limit_within_Flex_Consumption_bounds()
    {
        var parameters = main.Template["parameters"]!;
        var instances = parameters["maximumInstanceCount"]!;
        var callsPerMinute = parameters["wecomMaxCallsPerMinute"]!["defaultValue"]!.GetValue<int>();

        Assert.Equal(4, instances["defaultValue"]!.GetValue<int>());
        Assert.Equal((1, 1000), (instances["minValue"]!.GetValue<int>(), instances["maxValue"]!.GetValue<int>()));
        Assert.Equal(2000, callsPerMinute);
        Assert.True(4 * callsPerMinute < 10_000, "the default instances x calls per minute reach WeCom's 10,000 calls a minute");

        var memory = parameters["instanceMemoryMB"]!;
        Assert.Equal(2048, memory["defaultValue"]!.GetValue<int>());
        Assert.Equal([512, 2048, 4096], memory["allowedValues"]!.AsArray().Select(v => v!.GetValue<int>()));
    }

    [Fact]
    public void The_parameters_default_to_one_WeCom_app_and_the_harvest_schedules_in_UTC()
    {
        var parameters = main.Template["parameters"]!;

        var apps = parameters["wecomApps"]!["defaultValue"]!.AsArray();
        var app = Assert.Single(apps)!;
        Assert.Equal(("default", "", "wecom-default", ""), (app["name"]!.GetValue<string>(), app["corpId"]!.GetValue<string>(),
            app["secretName"]!.GetValue<string>(), app["anchorUserIds"]!.GetValue<string>()));
        Assert.Equal("0 0 18 * * *", parameters["harvestNightlySchedule"]!["defaultValue"]!.GetValue<string>());
        Assert.Equal(WatchStat.Harvest.HarvestOptions.DefaultSweepSchedule, parameters["harvestSweepSchedule"]!["defaultValue"]!.GetValue<string>());
        Assert.Equal(7, parameters["harvestLookbackDays"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(60, parameters["harvestStallSeconds"]!["defaultValue"]!.GetValue<int>());
    }

    [Fact]
    public void Azd_gets_the_api_service_its_environment_variables_and_the_outputs_it_needs()
    {
        var azureYaml = File.ReadAllText(RepoPaths.Combine("azure.yaml"));
        foreach (var line in new[] { "api:", "project: ./WatchStat.Functions", "language: dotnet", "host: function" })
            Assert.True(azureYaml.Contains(line, StringComparison.Ordinal), $"azure.yaml lacks '{line}'");

        var parameters = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "main.parameters.json")))!["parameters"]!;
        Assert.Equal("${AZURE_ENV_NAME}", parameters["environmentName"]!["value"]!.GetValue<string>());
        Assert.Equal("${AZURE_LOCATION}", parameters["location"]!["value"]!.GetValue<string>());
        Assert.Equal("${AZURE_PRINCIPAL_ID}", parameters["principalId"]!["value"]!.GetValue<string>());
        foreach (var (name, _) in parameters.AsObject())
            Assert.True(main.Template["parameters"]![name] is not null, $"main.parameters.json sets {name}, which main.bicep does not declare");

        var outputs = main.Template["outputs"]!.AsObject();
        foreach (var output in new[] { "AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_FUNCTION_APP_NAME", "AZURE_KEY_VAULT_NAME", "AZURE_KEY_VAULT_URI", "AZURE_STORAGE_ACCOUNT_NAME", "WECOM_EGRESS_IP" })
            Assert.True(outputs.ContainsKey(output), $"main.bicep has no output {output}");
    }

    [Fact]
    public void Every_resource_is_tagged_with_the_azd_environment()
    {
        Assert.Contains("azd-env-name", main.Template["variables"]!["tags"]!.Text(), StringComparison.Ordinal);
        foreach (var resource in main.All.Where(r => !r.IsExisting && r.Json["location"] is not null))
            Assert.True(resource.Json["tags"] is not null, $"{resource.Type} has no tags");
    }

    private static List<JsonNode> ParseConcatenatedJson(string text)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text), new JsonReaderOptions { AllowMultipleValues = true });
        var documents = new List<JsonNode>();
        while (reader.Read()) documents.Add(JsonNode.Parse(ref reader)!);
        return documents;
    }

    [GeneratedRegex(@"['""](br|ts)(/[^:'""]*)?:", RegexOptions.IgnoreCase)]
    private static partial Regex RegistryReference();

    [GeneratedRegex(@"^\s*module\s+\w+\s+'(?<path>[^']+)'", RegexOptions.Multiline)]
    private static partial Regex ModuleReference();
}

/// <summary>What one run of the Bicep CLI printed (stdout and stderr together) and how it ended.</summary>
public sealed record BicepResult(int ExitCode, string Output);

/// <summary>
/// The Bicep CLI from the NuGet package Azure.Bicep.CommandLine.linux-x64, which the test project restores with a
/// PackageDownload (its version is read from the project file, so there is one place to change it).
/// </summary>
public static partial class Bicep
{
    private static readonly Lazy<string> Executable = new(Find);

    public static Task<BicepResult> RunAsync(params string[] args) => RunInAsync(RepoPaths.Root, args);

    /// <summary>Runs bicep in a folder (glob patterns are relative to it).</summary>
    public static async Task<BicepResult> RunInAsync(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(Executable.Value)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Executable.Value}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new BicepResult(process.ExitCode, ((await output) + (await error)).Trim());
    }

    private static string Find()
    {
        var project = File.ReadAllText(RepoPaths.Combine("WatchStat.Functions.Tests", "WatchStat.Functions.Tests.csproj"));
        var download = PackageDownload().Match(project);
        if (!download.Success)
            throw new InvalidOperationException("The test project has no PackageDownload of Azure.Bicep.CommandLine.linux-x64.");

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var bicep = Path.Combine(packages, "azure.bicep.commandline.linux-x64", download.Groups["version"].Value, "tools", "bicep");
        if (!File.Exists(bicep))
            throw new InvalidOperationException($"The Bicep CLI is not at {bicep}: run `dotnet restore` (the test project downloads it).");

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(bicep);
            const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if ((mode & UnixFileMode.UserExecute) == 0) File.SetUnixFileMode(bicep, mode | execute);
        }
        return bicep;
    }

    [GeneratedRegex(@"<PackageDownload\s+Include=""Azure\.Bicep\.CommandLine\.linux-x64""\s+Version=""\[(?<version>[^\]]+)\]""")]
    private static partial Regex PackageDownload();
}

/// <summary>
/// infra/main.bicep compiled once for the test class into a temporary folder, and every resource of it: modules
/// compile into nested deployments (Microsoft.Resources/deployments with properties.template), so the walk goes
/// into each nested template and carries the conditions of the deployments around a resource down to it.
/// </summary>
public sealed class CompiledMainTemplate : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("watchstat-infra-").FullName;

    private JsonObject? _template;
    private IReadOnlyList<ArmResource> _all = [];
    private IReadOnlyList<ArmDeployment> _deployments = [];
    private IReadOnlyList<(JsonObject Template, string Where)> _templates = [];

    public BicepResult Build { get; private set; } = new(-1, "");

    /// <summary>The compiled main.json.</summary>
    public JsonObject Template => Compiled(_template)!;

    /// <summary>Every resource of every template, existing references included (see <see cref="ArmResource.IsExisting"/>).</summary>
    public IReadOnlyList<ArmResource> All => Compiled(_all);

    /// <summary>The nested deployments (the modules) with the parameters main passes them.</summary>
    public IReadOnlyList<ArmDeployment> Deployments => Compiled(_deployments);

    /// <summary>Every template (main and nested) with a path prefix for messages.</summary>
    public IReadOnlyList<(JsonObject Template, string Where)> Templates => Compiled(_templates);

    private T Compiled<T>(T value) => _template is null ? throw new InvalidOperationException(
        $"infra/main.bicep did not compile (exit {Build.ExitCode}), so there is no template to check:\n{Build.Output}") : value;

    public async Task InitializeAsync()
    {
        Build = await Bicep.RunAsync("build", RepoPaths.Combine("infra", "main.bicep"), "--outdir", _folder);
        var json = Path.Combine(_folder, "main.json");
        if (Build.ExitCode != 0 || !File.Exists(json)) return;

        var template = JsonNode.Parse(await File.ReadAllTextAsync(json))!.AsObject();
        var all = new List<ArmResource>();
        var deployments = new List<ArmDeployment>();
        var templates = new List<(JsonObject, string)>();
        Walk(template, "", [], all, deployments, templates);
        (_template, _all, _deployments, _templates) = (template, all, deployments, templates);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>The resources of a type that the templates create (not existing references).</summary>
    public IEnumerable<ArmResource> Deployed(string type) =>
        All.Where(r => !r.IsExisting && string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase));

    public ArmResource One(string type)
    {
        var found = Deployed(type).ToList();
        Assert.True(found.Count == 1, $"expected one {type}, the template creates {found.Count}");
        return found[0];
    }

    /// <summary>The site's appSettings expression with the variables it uses written out.</summary>
    public string AppSettingsText()
    {
        var site = One("Microsoft.Web/sites");
        return site.Expand(site.Properties["siteConfig"]!["appSettings"]!.Text());
    }

    private static void Walk(JsonObject template, string where, IReadOnlyList<string> conditions,
        List<ArmResource> all, List<ArmDeployment> deployments, List<(JsonObject, string)> templates)
    {
        templates.Add((template, where));
        var resources = template["resources"] switch
        {
            JsonObject byName => byName.Select(pair => (pair.Key, Node: pair.Value!.AsObject())),
            JsonArray list => list.Select((node, i) => (Key: i.ToString(System.Globalization.CultureInfo.InvariantCulture), Node: node!.AsObject())),
            _ => [],
        };
        foreach (var (key, node) in resources)
        {
            IReadOnlyList<string> own = node["condition"] is JsonNode condition
                ? [.. conditions, condition is JsonValue value && value.TryGetValue<string>(out var expression) ? expression : condition.Text()]
                : conditions;
            var resource = new ArmResource(node, template, own);
            all.Add(resource);
            if (resource.Type == "Microsoft.Resources/deployments" && node["properties"]?["template"] is JsonObject nested)
            {
                var deploymentWhere = $"{where}{key}/";
                var resourcesBefore = all.Count;
                Walk(nested, deploymentWhere, own, all, deployments, templates);
                deployments.Add(new ArmDeployment(node["properties"]?["parameters"]?.AsObject() ?? [], [.. all.Skip(resourcesBefore).Where(r => r.Template == nested)]));
            }
        }
    }
}

/// <summary>A module's nested deployment: the parameters it is given and the resources of its template.</summary>
public sealed record ArmDeployment(JsonObject Parameters, IReadOnlyList<ArmResource> Resources);

/// <summary>One resource of a compiled template, with the conditions that decide whether it is deployed.</summary>
public sealed partial class ArmResource(JsonObject json, JsonObject template, IReadOnlyList<string> conditions)
{
    public JsonObject Json { get; } = json;

    public JsonObject Template { get; } = template;

    /// <summary>Its own condition and those of the deployments around it, as ARM expressions.</summary>
    public IReadOnlyList<string> Conditions { get; } = conditions;

    public string Type => Json["type"]!.GetValue<string>();

    public string Name => Json["name"]!.GetValue<string>();

    public JsonObject Properties => Json["properties"]!.AsObject();

    /// <summary>A reference to a resource declared elsewhere (Bicep's <c>existing</c>), not one the template creates.</summary>
    public bool IsExisting => Json["existing"]?.GetValue<bool>() ?? false;

    /// <summary>
    /// Whether the resource is deployed for a value of staticEgressIp. Only that parameter is evaluated; any other
    /// condition (e.g. the optional role of the deploying user) counts as met.
    /// </summary>
    public bool DeployedWhen(bool staticEgressIp) =>
        Conditions.All(c => c != "[parameters('staticEgressIp')]" || staticEgressIp);

    /// <summary>An expression with every <c>variables('name')</c> replaced by that variable's value in this template.</summary>
    public string Expand(string text)
    {
        var variables = Template["variables"]?.AsObject();
        if (variables is null) return text;
        for (var round = 0; round < 5; round++)
        {
            var expanded = VariableReference().Replace(text, m => variables[m.Groups["name"].Value]?.Text() ?? m.Value);
            if (expanded == text) break;
            text = expanded;
        }
        return text;
    }

    [GeneratedRegex(@"variables\('(?<name>[^']+)'\)")]
    private static partial Regex VariableReference();
}

/// <summary>JSON text of a node as the template has it: ARM expressions keep their quotes (no \u0027 escapes).</summary>
public static class JsonText
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Text(this JsonNode node) => node.ToJsonString(Relaxed);
}
