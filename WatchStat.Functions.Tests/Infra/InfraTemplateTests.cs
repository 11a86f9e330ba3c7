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
    /// <summary>
    /// The five data roles of the app's identity and the resource type each must be scoped to: the queue role to each
    /// queue (one assignment in a loop over them, see InfraLockdownTests for which queues), blobs and tables to the
    /// account (the host creates containers at run time; the app creates its tables if missing before every first use,
    /// a request on the account's /Tables, see infra/README.md).
    /// </summary>
    public static TheoryData<string, string, string> DataRoles => new()
    {
        { "Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Microsoft.Storage/storageAccounts" },
        { "Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Microsoft.Storage/storageAccounts/queueServices/queues" },
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

        foreach (var queue in new[] { "harvest-pages", "harvest-pages-poison", "discover-anchors", "discover-anchors-poison" })
            Assert.True(args.Contains($"\"{queue}\"", StringComparison.Ordinal), $"queue {queue} is not created");
        foreach (var table in new[] { "WatchStats", "Harvests", "Livings", "Installations", "WeComBudget" })
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
            "WeCom__MaxCallsPerMinute", "WeCom__BudgetPercent",
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
                var type = TypeOf(output!, template);
                Assert.False(type.StartsWith("secure", StringComparison.OrdinalIgnoreCase), $"output {where}{name} is {type}");
                Assert.False(output!["value"]!.Text().Contains("ConnectionString", StringComparison.OrdinalIgnoreCase), $"output {where}{name} carries a connection string");
            }
            foreach (var (name, parameter) in template["parameters"]?.AsObject() ?? [])
            {
                var type = TypeOf(parameter!, template);
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
        // The app's identity may hold Officer too (with a suite app, see below); this is the deploying user's assignment.
        var officer = Assert.Single(main.Deployed("Microsoft.Authorization/roleAssignments"),
            a => a.Expand(a.Properties["roleDefinitionId"]!.Text()).Contains(KeyVaultSecretsOfficer, StringComparison.OrdinalIgnoreCase)
                && a.Properties["principalId"]!.Text() == "\"[parameters('operatorPrincipalId')]\"");

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
        // The subnets are concat(integration subnet, private endpoints' subnet when privateNetworking): either form.
        Assert.Matches(@"[""']serviceName[""']\s*[:,]\s*[""']Microsoft\.App/environments[""']", network);
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
        // WeCom's limits are the shared budget's: 80% by default, and never more than all of them.
        var budget = parameters["wecomBudgetPercent"]!;
        Assert.Equal((80, 1, 100), (budget["defaultValue"]!.GetValue<int>(), budget["minValue"]!.GetValue<int>(), budget["maxValue"]!.GetValue<int>()));

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

    // The WeCom callback (route wecom/callback/{app}): its Token and EncodingAESKey are Key Vault secrets whose NAMES
    // are app settings. These tests evaluate main.bicep with `bicep snapshot` (see MainSnapshot), so they check the
    // settings and outputs a deployment really gets for given apps, not only the shape of the expressions.

    private const string AppWithCallback =
        "{ name: 'both', corpId: 'ww0', secretName: 'wecom-both', anchorUserIds: '', callbackTokenSecretName: 'both-token-name', encodingAesKeySecretName: 'both-aes-name' }";

    private const string AppWithoutCallback = "{ name: 'none', corpId: 'ww0', secretName: 'wecom-none', anchorUserIds: '' }";

    private const string AppWithEmptyCallbackNames =
        "{ name: 'blank', corpId: 'ww0', secretName: 'wecom-blank', anchorUserIds: '', callbackTokenSecretName: '', encodingAesKeySecretName: '' }";

    [Fact]
    public async Task An_app_with_both_callback_secret_names_gets_exactly_those_two_settings_and_an_app_without_gets_neither()
    {
        var snapshot = await MainSnapshot.OfAsync($"[\n  {AppWithCallback}\n  {AppWithoutCallback}\n  {AppWithEmptyCallbackNames}\n]");
        var settings = snapshot.AppSettings;

        Assert.Equal(settings.Count, settings.Select(s => s.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(
            [
                ("WeCom__Apps__both__CorpId", "ww0"), ("WeCom__Apps__both__SecretName", "wecom-both"), ("WeCom__Apps__both__AnchorUserIds", ""),
                ("WeCom__Apps__both__CallbackTokenSecretName", "both-token-name"), ("WeCom__Apps__both__EncodingAesKeySecretName", "both-aes-name"),
            ],
            settings.Where(s => s.Name.StartsWith("WeCom__Apps__both__", StringComparison.Ordinal)));
        foreach (var app in new[] { "none", "blank" })
        {
            Assert.Equal([$"WeCom__Apps__{app}__CorpId", $"WeCom__Apps__{app}__SecretName", $"WeCom__Apps__{app}__AnchorUserIds"],
                settings.Where(s => s.Name.StartsWith($"WeCom__Apps__{app}__", StringComparison.Ordinal)).Select(s => s.Name));
        }
        Assert.Equal(["WeCom__Apps__both__CallbackTokenSecretName", "WeCom__Apps__both__EncodingAesKeySecretName"],
            settings.Select(s => s.Name).Where(IsCallbackSetting));
    }

    [Fact]
    public async Task The_callback_URL_output_maps_each_app_with_a_callback_to_its_route_on_the_function_app_host()
    {
        var output = main.Template["outputs"]!["WECOM_CALLBACK_URLS"];
        Assert.True(output is not null, "main.bicep has no output WECOM_CALLBACK_URLS");
        var type = main.Template["definitions"]![output["$ref"]!.GetValue<string>().Split('/')[^1]]!;
        Assert.Equal(("object", "string"), (TypeOf(output, main.Template), type["additionalProperties"]!["type"]!.GetValue<string>()));

        var snapshot = await MainSnapshot.OfAsync($"[\n  {AppWithCallback}\n  {AppWithoutCallback}\n  {AppWithEmptyCallbackNames}\n]");
        var site = snapshot.Site["id"]!.GetValue<string>();
        Assert.EndsWith($"/providers/Microsoft.Web/sites/{snapshot.Outputs["AZURE_FUNCTION_APP_NAME"]!.GetValue<string>()}", site, StringComparison.Ordinal);

        // The host name is known only once the site exists, so the snapshot leaves reference(<site>).defaultHostName
        // in place: the URL is https://<that host>/api/wecom/callback/both, and the only key is 'both'.
        var urls = snapshot.Outputs["WECOM_CALLBACK_URLS"]!.GetValue<string>();
        var url = CallbackUrlsExpression().Match(urls);
        Assert.True(url.Success, $"WECOM_CALLBACK_URLS is not {{ both: https://<site host>/api/wecom/callback/both }}: {urls}");
        Assert.Equal(("both", "both"), (url.Groups["key"].Value, url.Groups["name"].Value));
        Assert.Equal(site, url.Groups["site"].Value);
        Assert.Equal($"[reference('{site}', '{url.Groups["api"].Value}').defaultHostName]", snapshot.Outputs["AZURE_FUNCTION_APP_HOST_NAME"]!.GetValue<string>());

        var withoutCallbacks = await MainSnapshot.OfAsync($"[\n  {AppWithoutCallback}\n  {AppWithEmptyCallbackNames}\n]");
        Assert.Empty(withoutCallbacks.Outputs["WECOM_CALLBACK_URLS"]!.AsObject());
        Assert.DoesNotContain(withoutCallbacks.AppSettings, s => IsCallbackSetting(s.Name));
    }

    [Fact]
    public async Task No_callback_Token_or_EncodingAESKey_value_is_in_the_template_only_the_names_of_their_secrets()
    {
        var everything = main.Template.Text();
        var valueSetting = CallbackValueSetting().Match(everything);
        Assert.False(valueSetting.Success, $"the template has a callback value setting or property: {valueSetting.Value}");
        foreach (var word in new[] { "getSecret", "Microsoft.KeyVault/vaults/secrets" })
            Assert.False(everything.Contains(word, StringComparison.OrdinalIgnoreCase), $"the compiled template uses {word}");

        // The wecomApp type carries secret NAMES only: no property for a Token or EncodingAESKey value.
        var properties = main.Template["definitions"]!["wecomApp"]!["properties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal);
        Assert.Equal(["anchorUserIds", "callbackTokenSecretName", "corpId", "encodingAesKeySecretName", "kind", "name", "secretName", "suiteId", "suiteSecretName"], properties);
        foreach (var (template, where) in main.Templates)
        {
            foreach (var (name, _) in template["parameters"]?.AsObject() ?? [])
                Assert.False(name.Contains("token", StringComparison.OrdinalIgnoreCase) || name.Contains("aes", StringComparison.OrdinalIgnoreCase), $"parameter {where}{name} looks like a callback secret");
        }

        // What a deployment gets: the two settings hold exactly the names given, and no setting holds a value.
        var snapshot = await MainSnapshot.OfAsync($"[\n  {AppWithCallback}\n]");
        Assert.All(snapshot.AppSettings.Where(s => IsCallbackSetting(s.Name)), s => Assert.EndsWith("SecretName", s.Name, StringComparison.Ordinal));
        Assert.Equal(["both-token-name", "both-aes-name"], snapshot.AppSettings.Where(s => IsCallbackSetting(s.Name)).Select(s => s.Value));

        var app = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "main.parameters.json")))!["parameters"]!["wecomApps"]!["value"]![0]!.AsObject();
        Assert.DoesNotContain(app, p => IsCallbackSetting(p.Key) && !p.Key.EndsWith("SecretName", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("callbackTokenSecretName: 'half-token'", "has callbackTokenSecretName but no encodingAesKeySecretName")]
    [InlineData("encodingAesKeySecretName: 'half-aes'", "has encodingAesKeySecretName but no callbackTokenSecretName")]
    [InlineData("callbackTokenSecretName: 'half-token', encodingAesKeySecretName: ''", "has callbackTokenSecretName but no encodingAesKeySecretName")]
    [InlineData("callbackTokenSecretName: '', encodingAesKeySecretName: 'half-aes'", "has encodingAesKeySecretName but no callbackTokenSecretName")]
    public async Task One_callback_secret_name_without_the_other_stops_the_deployment_naming_the_app(string callback, string message)
    {
        var snapshot = await MainSnapshot.OfAsync($"[\n  {AppWithCallback}\n  {{ name: 'half', corpId: 'ww0', secretName: 'wecom-half', anchorUserIds: '', {callback} }}\n]");

        Assert.True(snapshot.Run.ExitCode != 0 && snapshot.Json is null, $"the deployment was not refused:\n{snapshot.Run.Output}");
        Assert.Contains($"WeCom app 'half' {message}: give both (a callback) or neither", snapshot.Run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Error BCP", snapshot.Run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_default_app_has_a_callback_whose_secret_names_azd_variables_can_change()
    {
        var app = main.Template["parameters"]!["wecomApps"]!["defaultValue"]![0]!;
        Assert.Equal(("wecom-default-callback-token", "wecom-default-encoding-aes-key"),
            (app["callbackTokenSecretName"]!.GetValue<string>(), app["encodingAesKeySecretName"]!.GetValue<string>()));

        var parameters = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "main.parameters.json")))!["parameters"]!;
        var fromAzd = parameters["wecomApps"]!["value"]![0]!;
        Assert.Equal(("${WECOM_CALLBACK_TOKEN_SECRET_NAME=wecom-default-callback-token}", "${WECOM_ENCODING_AES_KEY_SECRET_NAME=wecom-default-encoding-aes-key}"),
            (fromAzd["callbackTokenSecretName"]!.GetValue<string>(), fromAzd["encodingAesKeySecretName"]!.GetValue<string>()));

        // main.parameters.json's apps as azd passes them with no variable set (each ${NAME=default} is its default).
        var substituted = AzdVariable().Replace(parameters["wecomApps"]!["value"]!.Text(), m => m.Groups["default"].Value);
        var snapshot = await MainSnapshot.OfAsync($"json('{substituted.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}')");
        Assert.True(snapshot.Json is not null, $"main.parameters.json's wecomApps do not deploy:\n{snapshot.Run.Output}");
        Assert.Equal([("WeCom__Apps__default__CallbackTokenSecretName", "wecom-default-callback-token"), ("WeCom__Apps__default__EncodingAesKeySecretName", "wecom-default-encoding-aes-key")],
            snapshot.AppSettings.Where(s => IsCallbackSetting(s.Name)));

        // main.bicep's own default: the same app, with its callback URL in the output.
        var byDefault = await MainSnapshot.OfAsync(wecomApps: null);
        var urls = byDefault.Outputs["WECOM_CALLBACK_URLS"]!.GetValue<string>();
        var url = CallbackUrlsExpression().Match(urls);
        Assert.True(url.Success && (url.Groups["key"].Value, url.Groups["name"].Value) == ("default", "default"),
            $"WECOM_CALLBACK_URLS is not {{ default: https://<site host>/api/wecom/callback/default }}: {urls}");
    }

    // The kinds of WeCom app (kind: custom, agent, thirdparty): an app installed through a suite (suiteId) gets
    // __SuiteId and __SuiteSecretName instead of __CorpId and __SecretName, and makes the app's identity Key Vault
    // Secrets Officer (it writes the suite_ticket and the corps' permanent codes); without one the identity only reads.
    // main.bicep refuses a combination that does not fit the kind before anything is deployed.

    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";

    private const string ThirdPartyApp =
        "{ name: 'tp', kind: 'thirdparty', suiteId: 'wwsuite1', suiteSecretName: 'tp-suite-secret', anchorUserIds: '', callbackTokenSecretName: 'tp-token', encodingAesKeySecretName: 'tp-aes' }";

    [Fact]
    public async Task A_third_party_app_gets_its_kind_and_suite_settings_no_corp_or_secret_and_makes_the_identity_Secrets_Officer()
    {
        var snapshot = await MainSnapshot.OfAsync($"[\n  {ThirdPartyApp}\n  {AppWithoutCallback}\n]");
        var settings = snapshot.AppSettings;

        Assert.Equal(settings.Count, settings.Select(s => s.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(
            [
                ("WeCom__Apps__tp__Kind", "thirdparty"), ("WeCom__Apps__tp__SuiteId", "wwsuite1"), ("WeCom__Apps__tp__SuiteSecretName", "tp-suite-secret"),
                ("WeCom__Apps__tp__AnchorUserIds", ""),
                ("WeCom__Apps__tp__CallbackTokenSecretName", "tp-token"), ("WeCom__Apps__tp__EncodingAesKeySecretName", "tp-aes"),
            ],
            settings.Where(s => s.Name.StartsWith("WeCom__Apps__tp__", StringComparison.Ordinal)));
        Assert.DoesNotContain(settings, s => s.Name is "WeCom__Apps__tp__CorpId" or "WeCom__Apps__tp__SecretName");

        // The custom app beside it is as before: no kind, no suite.
        Assert.Equal([("WeCom__Apps__none__CorpId", "ww0"), ("WeCom__Apps__none__SecretName", "wecom-none"), ("WeCom__Apps__none__AnchorUserIds", "")],
            settings.Where(s => s.Name.StartsWith("WeCom__Apps__none__", StringComparison.Ordinal)));

        Assert.Equal([KeyVaultSecretsOfficer], IdentityVaultRoles(snapshot));
        Assert.Equal("Key Vault Secrets Officer", snapshot.Outputs["AZURE_KEY_VAULT_APP_ROLE"]!.GetValue<string>());
        Assert.Contains("'tp'", snapshot.Outputs["WECOM_CALLBACK_URLS"]!.Text(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ name: 'ag', kind: 'agent', suiteId: 'wwtemplate1', suiteSecretName: 'ag-suite-secret', anchorUserIds: 'a', callbackTokenSecretName: 'ag-token', encodingAesKeySecretName: 'ag-aes' }",
        "Kind=agent SuiteId=wwtemplate1 SuiteSecretName=ag-suite-secret AnchorUserIds=a CallbackTokenSecretName=ag-token EncodingAesKeySecretName=ag-aes", KeyVaultSecretsOfficer)]
    [InlineData("{ name: 'ag', kind: 'agent', corpId: 'ww1', secretName: 'ag-permanent-code', anchorUserIds: 'a' }",
        "Kind=agent CorpId=ww1 SecretName=ag-permanent-code AnchorUserIds=a", KeyVaultSecretsUser)]
    [InlineData("{ name: 'ag', kind: 'custom', corpId: 'ww1', secretName: 'ag-secret', anchorUserIds: '', suiteId: '', suiteSecretName: '' }",
        "Kind=custom CorpId=ww1 SecretName=ag-secret AnchorUserIds=", KeyVaultSecretsUser)]
    public async Task An_agent_app_is_a_suite_app_with_a_suiteId_and_a_corp_app_without(string app, string expected, string role)
    {
        var snapshot = await MainSnapshot.OfAsync($"[\n  {app}\n]");

        Assert.Equal(expected, string.Join(' ', snapshot.AppSettings.Where(s => s.Name.StartsWith("WeCom__Apps__ag__", StringComparison.Ordinal))
            .Select(s => $"{s.Name["WeCom__Apps__ag__".Length..]}={s.Value}")));
        Assert.Equal([role], IdentityVaultRoles(snapshot));
    }

    [Fact]
    public async Task Without_a_suite_app_the_identity_only_reads_secrets()
    {
        foreach (var apps in new[] { null, $"[\n  {AppWithCallback}\n  {AppWithoutCallback}\n]" })
        {
            var snapshot = await MainSnapshot.OfAsync(apps, new Dictionary<string, string> { ["principalId"] = "'00000000-0000-0000-0000-0000000000cc'" });
            Assert.Equal([KeyVaultSecretsUser], IdentityVaultRoles(snapshot));
            Assert.Equal("Key Vault Secrets User", snapshot.Outputs["AZURE_KEY_VAULT_APP_ROLE"]!.GetValue<string>());
            Assert.DoesNotContain(snapshot.AppSettings, s => s.Name.EndsWith("__Kind", StringComparison.Ordinal) || s.Name.Contains("__Suite", StringComparison.Ordinal));

            // Officer on the vault goes to the deploying user only.
            var officers = snapshot.Resources("Microsoft.Authorization/roleAssignments")
                .Where(a => a["properties"]!["roleDefinitionId"]!.GetValue<string>().EndsWith(KeyVaultSecretsOfficer, StringComparison.OrdinalIgnoreCase));
            Assert.Equal(["00000000-0000-0000-0000-0000000000cc"], officers.Select(a => a["properties"]!["principalId"]!.GetValue<string>()));
        }
    }

    [Theory]
    [InlineData("kind: 'thirdparty', suiteSecretName: 's', callbackTokenSecretName: 't', encodingAesKeySecretName: 'a'",
        "is kind thirdparty but has no suiteId: corps install a third-party app through its suite; give suiteId and suiteSecretName")]
    [InlineData("kind: 'thirdparty', suiteId: 'su', callbackTokenSecretName: 't', encodingAesKeySecretName: 'a'",
        "has no suiteSecretName: an app installed through a suite needs the name of the Key Vault secret that holds its SuiteSecret")]
    [InlineData("kind: 'custom', suiteId: 'su', suiteSecretName: 's', callbackTokenSecretName: 't', encodingAesKeySecretName: 'a'",
        "has suiteId but is kind custom: suiteId is for agent-developed and third-party apps; set kind to agent or thirdparty, or remove suiteId")]
    [InlineData("suiteId: 'su', suiteSecretName: 's', callbackTokenSecretName: 't', encodingAesKeySecretName: 'a'",
        "has suiteId but is kind custom (the default): suiteId is for agent-developed and third-party apps")]
    [InlineData("kind: 'thirdparty', suiteId: 'su', suiteSecretName: 's', corpId: 'ww0', callbackTokenSecretName: 't', encodingAesKeySecretName: 'a'",
        "has suiteId and corpId: an app installed through a suite has no corp of its own (its corps are those that authorize it); remove corpId")]
    [InlineData("kind: 'agent', suiteId: 'su', suiteSecretName: 's', secretName: 'code', callbackTokenSecretName: 't', encodingAesKeySecretName: 'a'",
        "has suiteId and secretName: an app installed through a suite has no secret of its own")]
    [InlineData("kind: 'thirdparty', suiteId: 'su', suiteSecretName: 's'",
        "has suiteId but not both callbackTokenSecretName and encodingAesKeySecretName: WeCom pushes the suite_ticket and the authorizations (create_auth, cancel_auth) to its callback; give both")]
    [InlineData("kind: 'agent', suiteId: 'su', suiteSecretName: 's', callbackTokenSecretName: '', encodingAesKeySecretName: ''",
        "has suiteId but not both callbackTokenSecretName and encodingAesKeySecretName")]
    [InlineData("corpId: 'ww0', secretName: 'x', suiteSecretName: 's'",
        "has suiteSecretName but no suiteId: a suite secret belongs to an agent or thirdparty app installed through a suite; give suiteId too, or remove suiteSecretName")]
    [InlineData("kind: 'agent', secretName: 'code'",
        "has no corpId: an app of kind agent without suiteId needs its corp's corpid (企业ID)")]
    [InlineData("corpId: 'ww0'",
        "has no secretName: an app of kind custom without suiteId needs the name of the Key Vault secret that holds its secret (corpsecret)")]
    public async Task A_WeCom_app_whose_properties_do_not_fit_its_kind_stops_the_deployment_naming_the_app(string properties, string message)
    {
        var snapshot = await MainSnapshot.OfAsync($"[\n  {AppWithCallback}\n  {{ name: 'bad', anchorUserIds: '', {properties} }}\n]");

        Assert.True(snapshot.Run.ExitCode != 0 && snapshot.Json is null, $"the deployment was not refused:\n{snapshot.Run.Output}");
        Assert.Contains($"WeCom app 'bad' {message}", snapshot.Run.Output, StringComparison.Ordinal);
        Assert.True(Regex.Count(snapshot.Run.Output, "WeCom app '") == 1, $"more than the one problem was reported:\n{snapshot.Run.Output}");
        Assert.DoesNotContain("Error BCP", snapshot.Run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_problem_of_every_app_is_reported_at_once()
    {
        var snapshot = await MainSnapshot.OfAsync("[\n  { name: 'one', anchorUserIds: '' }\n  { name: 'two', kind: 'thirdparty', anchorUserIds: '' }\n]");

        Assert.True(snapshot.Run.ExitCode != 0 && snapshot.Json is null, $"the deployment was not refused:\n{snapshot.Run.Output}");
        foreach (var message in new[] { "WeCom app 'one' has no corpId", "WeCom app 'one' has no secretName", "WeCom app 'two' is kind thirdparty but has no suiteId", "WeCom app 'two' has no suiteSecretName" })
            Assert.Contains(message, snapshot.Run.Output, StringComparison.Ordinal);
    }

    /// <summary>The role definition ids (the GUID) of the app identity's role assignments on the Key Vault, as deployed.</summary>
    private static List<string> IdentityVaultRoles(MainSnapshot snapshot) =>
    [
        .. snapshot.Resources("Microsoft.Authorization/roleAssignments")
            .Where(a => a["id"]!.GetValue<string>().Contains("/providers/Microsoft.KeyVault/vaults/", StringComparison.Ordinal)
                && a["properties"]!["principalId"]!.GetValue<string>().Contains("Microsoft.ManagedIdentity/userAssignedIdentities", StringComparison.Ordinal))
            .Select(a => a["properties"]!["roleDefinitionId"]!.GetValue<string>().Split('/')[^1]),
    ];

    // Always-ready instances of the http scale group (alwaysReadyHttpInstances): no cold start for the WeCom callback
    // against always-ready baseline billing. Checked on `bicep snapshot`, i.e. the site a deployment really gets.

    [Fact]
    public async Task By_default_no_instance_is_always_ready_so_the_app_scales_to_zero()
    {
        var parameter = main.Template["parameters"]!["alwaysReadyHttpInstances"];
        Assert.True(parameter is not null, "main.bicep has no parameter alwaysReadyHttpInstances");
        Assert.Equal(("int", 0, 0, 10), (parameter["type"]!.GetValue<string>(), parameter["defaultValue"]!.GetValue<int>(),
            parameter["minValue"]!.GetValue<int>(), parameter["maxValue"]!.GetValue<int>()));
        var description = parameter["metadata"]!["description"]!.GetValue<string>();
        foreach (var word in new[] { "cold start", "WeCom", "baseline", "instanceMemoryMB", "maximumInstanceCount" })
            Assert.True(description.Contains(word, StringComparison.Ordinal), $"the description of alwaysReadyHttpInstances does not mention {word}: {description}");

        // No entry at all (an empty list, not an http entry of 0): nothing is billed as always ready.
        var byDefault = await MainSnapshot.OfAsync(wecomApps: null);
        Assert.Equal("[]", ScaleAndConcurrency(byDefault)["alwaysReady"]?.Text());
        var explicitZero = await MainSnapshot.OfAsync(wecomApps: null, new Dictionary<string, string> { ["alwaysReadyHttpInstances"] = "0" });
        Assert.Equal("[]", ScaleAndConcurrency(explicitZero)["alwaysReady"]?.Text());

        var parameters = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "main.parameters.json")))!["parameters"]!;
        Assert.Equal("${WATCHSTAT_ALWAYS_READY_HTTP_INSTANCES=0}", parameters["alwaysReadyHttpInstances"]?["value"]?.GetValue<string>());
    }

    [Fact]
    public async Task Always_ready_HTTP_instances_keep_exactly_that_many_instances_of_the_http_group_ready()
    {
        var snapshot = await MainSnapshot.OfAsync(wecomApps: null, new Dictionary<string, string> { ["alwaysReadyHttpInstances"] = "2" });
        var scale = ScaleAndConcurrency(snapshot);

        Assert.Equal("""[{"name":"http","instanceCount":2}]""", scale["alwaysReady"]?.Text());
        Assert.Equal((4, 2048), (scale["maximumInstanceCount"]!.GetValue<int>(), scale["instanceMemoryMB"]!.GetValue<int>()));
    }

    [Fact]
    public async Task More_always_ready_HTTP_instances_than_maximumInstanceCount_stops_the_deployment()
    {
        var atTheLimit = await MainSnapshot.OfAsync(wecomApps: null,
            new Dictionary<string, string> { ["alwaysReadyHttpInstances"] = "3", ["maximumInstanceCount"] = "3" });
        Assert.Equal("""[{"name":"http","instanceCount":3}]""", ScaleAndConcurrency(atTheLimit)["alwaysReady"]?.Text());

        var snapshot = await MainSnapshot.OfAsync(wecomApps: null,
            new Dictionary<string, string> { ["alwaysReadyHttpInstances"] = "4", ["maximumInstanceCount"] = "3" });
        Assert.True(snapshot.Run.ExitCode != 0 && snapshot.Json is null, $"the deployment was not refused:\n{snapshot.Run.Output}");
        Assert.Contains("alwaysReadyHttpInstances (4) is more than maximumInstanceCount (3)", snapshot.Run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Error BCP", snapshot.Run.Output, StringComparison.Ordinal);
    }

    private static JsonObject ScaleAndConcurrency(MainSnapshot snapshot) =>
        snapshot.Site["properties"]!["functionAppConfig"]!["scaleAndConcurrency"]!.AsObject();

    /// <summary>The ARM type of a parameter or output, through its user-defined type ($ref to the template's definitions) if it has one.</summary>
    private static string TypeOf(JsonNode declaration, JsonObject template)
    {
        for (var depth = 0; depth < 10; depth++)
        {
            if (declaration["type"] is JsonNode type) return type.GetValue<string>();
            if (declaration["$ref"]?.GetValue<string>() is not { } reference) return "";
            declaration = template["definitions"]?[reference.Split('/')[^1]] ?? throw new InvalidOperationException($"no definition {reference}");
        }
        throw new InvalidOperationException("a $ref chain longer than 10");
    }

    private static bool IsCallbackSetting(string name) =>
        name.Contains("CallbackToken", StringComparison.OrdinalIgnoreCase) || name.Contains("EncodingAesKey", StringComparison.OrdinalIgnoreCase);

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
        foreach (var output in new[] { "AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_FUNCTION_APP_NAME", "AZURE_KEY_VAULT_NAME", "AZURE_KEY_VAULT_URI", "AZURE_KEY_VAULT_APP_ROLE", "AZURE_STORAGE_ACCOUNT_NAME", "WECOM_EGRESS_IP", "WECOM_CALLBACK_URLS" })
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

    /// <summary>A setting or property for a callback secret VALUE: a CallbackToken or EncodingAesKey name part (not ...SecretName).</summary>
    [GeneratedRegex(@"(__|['""])(CallbackToken|EncodingAesKey)(__|['""])", RegexOptions.IgnoreCase)]
    private static partial Regex CallbackValueSetting();

    /// <summary>The snapshot's WECOM_CALLBACK_URLS for one app: { key: https://reference(site).defaultHostName/api/wecom/callback/name }.</summary>
    [GeneratedRegex(@"^\[createObject\('(?<key>[^']+)', format\('https://\{0\}/api/wecom/callback/\{1\}', reference\('(?<site>[^']+)', '(?<api>[^']+)'\)\.defaultHostName, '(?<name>[^']+)'\)\)\]$")]
    private static partial Regex CallbackUrlsExpression();

    /// <summary>azd's ${NAME=default} in main.parameters.json.</summary>
    [GeneratedRegex(@"\$\{[A-Z0-9_]+=(?<default>[^}]*)\}")]
    private static partial Regex AzdVariable();
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

/// <summary>
/// <c>bicep snapshot</c> of infra/main.bicep: the deployment evaluated offline as ARM evaluates it (parameters,
/// variables, loops, lambdas, fail()), giving the resources it would create with their properties and the outputs.
/// Only what needs a deployed resource (reference()) stays an expression. Each run gets its own .bicepparam in a
/// temporary folder (that file must name main.bicep by a relative path); runs are cached by their parameters.
/// </summary>
public sealed class MainSnapshot
{
    private const string SubscriptionId = "00000000-0000-0000-0000-0000000000aa";
    private const string TenantId = "00000000-0000-0000-0000-0000000000bb";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<MainSnapshot>>> Runs = new(StringComparer.Ordinal);

    private MainSnapshot(BicepResult run, JsonObject? json) => (Run, Json) = (run, json);

    /// <summary>What bicep printed and how it ended: a template that fail()s ends non-zero with the message.</summary>
    public BicepResult Run { get; }

    /// <summary>The snapshot (predictedResources, outputs), or null when bicep refused the deployment.</summary>
    public JsonObject? Json { get; }

    public JsonObject Outputs => Snapshot["outputs"]!.AsObject();

    /// <summary>The one Function App the deployment creates.</summary>
    public JsonObject Site => Assert.Single(Snapshot["predictedResources"]!.AsArray(),
        r => r!["type"]!.GetValue<string>() == "Microsoft.Web/sites")!.AsObject();

    /// <summary>The resources of a type the deployment would create.</summary>
    public IEnumerable<JsonObject> Resources(string type) =>
        Snapshot["predictedResources"]!.AsArray().Where(r => r!["type"]!.GetValue<string>() == type).Select(r => r!.AsObject());

    /// <summary>The site's app settings as the deployment sets them, in order.</summary>
    public IReadOnlyList<(string Name, string Value)> AppSettings =>
    [
        .. Site["properties"]!["siteConfig"]!["appSettings"]!.AsArray()
            .Select(s => (s!["name"]!.GetValue<string>(), s["value"]!.GetValue<string>())),
    ];

    private JsonObject Snapshot => Json ?? throw new InvalidOperationException($"bicep snapshot failed (exit {Run.ExitCode}):\n{Run.Output}");

    /// <summary>
    /// The snapshot for a wecomApps parameter (a Bicep expression), or for its default when null, and for other
    /// parameters of main.bicep by name (each value a Bicep expression); a parameter not given keeps its default.
    /// </summary>
    public static Task<MainSnapshot> OfAsync(string? wecomApps, IReadOnlyDictionary<string, string>? others = null)
    {
        var more = string.Concat((others ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => $"param {p.Key} = {p.Value}\n"));
        return Runs.GetOrAdd($"{wecomApps ?? "(default)"}\0{more}", _ => new Lazy<Task<MainSnapshot>>(() => RunAsync(wecomApps, more))).Value;
    }

    private static async Task<MainSnapshot> RunAsync(string? wecomApps, string more)
    {
        var folder = Directory.CreateTempSubdirectory("watchstat-snapshot-").FullName;
        try
        {
            var main = Path.GetRelativePath(folder, RepoPaths.Combine("infra", "main.bicep")).Replace('\\', '/');
            var parameters = new StringBuilder()
                .Append(System.Globalization.CultureInfo.InvariantCulture, $"using '{main}'\n\n")
                .Append("param environmentName = 'snapshot'\n")
                .Append("param location = 'eastasia'\n");
            if (wecomApps is not null) parameters.Append(System.Globalization.CultureInfo.InvariantCulture, $"param wecomApps = {wecomApps}\n");
            parameters.Append(more);
            await File.WriteAllTextAsync(Path.Combine(folder, "main.bicepparam"), parameters.ToString());

            var run = await Bicep.RunInAsync(folder, "snapshot", "main.bicepparam", "--mode", "overwrite",
                "--subscription-id", SubscriptionId, "--tenant-id", TenantId, "--location", "eastasia", "--deployment-name", "watchstat");
            var file = Path.Combine(folder, "main.snapshot.json");
            var json = run.ExitCode == 0 && File.Exists(file) ? JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsObject() : null;
            return new MainSnapshot(run, json);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
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
