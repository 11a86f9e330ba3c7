using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using WatchStat.Functions;
using WatchStat.Tests.Infrastructure;

namespace WatchStat.Tests.Infra;

/// <summary>
/// The deployment locked down further (issue 20), checked on <c>bicep snapshot</c> (the resources a deployment with
/// given parameters really gets; see <see cref="MainSnapshot"/>): the identity's queue role on exactly the queues the
/// app and the Functions host use, private endpoints for storage and Key Vault with <c>privateNetworking</c>, and
/// Microsoft Entra sign-in in front of every route but the WeCom callbacks with <c>entraSignIn</c>. The queue and table
/// names and the callback route are read from the app's code, so a queue or route added there is checked here too.
/// </summary>
public sealed class InfraLockdownTests
{
    private const string QueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string TableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string BlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string ClientId = "11111111-2222-3333-4444-555555555555";

    private static readonly Assembly App = typeof(WeComCallbackFunction).Assembly;

    private static readonly Dictionary<string, string> PrivateNetworking = new()
    {
        ["privateNetworking"] = "true",
        ["staticEgressIp"] = "true",
    };

    private static readonly string[] PrivateServices = ["blob", "queue", "table", "vault"];

    /// <summary>The apps with a callback in the Entra sign-in test's wecomApps (of three; 'none' has none).</summary>
    private static readonly string[] CallbackApps = ["both", "also"];

    /// <summary>
    /// Every queue the app or the host touches: each queue the code names (a QueueName or PoisonQueueName constant,
    /// used by the triggers, the output binding and the QueueSenders, which also create the poison queue), and the
    /// poison queue of every queue trigger (the host moves a message there after maxDequeueCount).
    /// </summary>
    private static SortedSet<string> AppQueues()
    {
        var named = App.GetTypes()
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.Name.EndsWith("QueueName", StringComparison.Ordinal))
            .Select(f => (string)f.GetRawConstantValue()!);
        var triggered = App.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            .SelectMany(m => m.GetParameters())
            .Select(p => p.GetCustomAttribute<QueueTriggerAttribute>()?.QueueName)
            .OfType<string>()
            .ToList();
        Assert.True(triggered.Count >= 2, $"only {triggered.Count} queue triggers found in the app");
        return new SortedSet<string>([.. named, .. triggered, .. triggered.Select(q => q + "-poison")], StringComparer.Ordinal);
    }

    /// <summary>Every table the code names (a TableName constant).</summary>
    private static SortedSet<string> AppTables() => new(
        App.GetTypes()
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.Name == "TableName")
            .Select(f => (string)f.GetRawConstantValue()!),
        StringComparer.Ordinal);

    /// <summary>The app identity's role assignments of a role, by the resource id each is scoped to.</summary>
    private static List<string> ScopesOf(MainSnapshot snapshot, string roleId) =>
    [
        .. snapshot.Resources("Microsoft.Authorization/roleAssignments")
            .Where(a => a["properties"]!["roleDefinitionId"]!.GetValue<string>().EndsWith(roleId, StringComparison.OrdinalIgnoreCase))
            .Select(a => a["id"]!.GetValue<string>())
            .Select(id => id[..id.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.Ordinal)]),
    ];

    [Fact]
    public async Task The_queue_role_is_on_each_queue_the_app_and_the_host_use_and_not_on_the_account()
    {
        var queues = AppQueues();
        Assert.Contains("harvest-pages-poison-poison", queues); // the poison trigger's own poison queue
        var snapshot = await MainSnapshot.OfAsync(wecomApps: null);
        var account = Assert.Single(snapshot.Resources("Microsoft.Storage/storageAccounts"))["id"]!.GetValue<string>();

        var scopes = ScopesOf(snapshot, QueueDataContributor);
        var queuePrefix = $"{account}/queueServices/default/queues/";
        Assert.All(scopes, scope => Assert.StartsWith(queuePrefix, scope, StringComparison.Ordinal));
        Assert.Equal(queues, scopes.Select(scope => scope[queuePrefix.Length..]).Order(StringComparer.Ordinal));

        // Each queue exists from the template (a role cannot be scoped to a queue the host would create later).
        var created = snapshot.Resources("Microsoft.Storage/storageAccounts/queueServices/queues").Select(q => q["id"]!.GetValue<string>()).ToHashSet();
        foreach (var scope in scopes)
            Assert.True(created.Contains(scope), $"the queue role is scoped to {scope}, which the template does not create");
    }

    [Fact]
    public async Task Blob_and_table_roles_stay_on_the_account_and_every_table_the_app_names_exists()
    {
        var snapshot = await MainSnapshot.OfAsync(wecomApps: null);
        var account = Assert.Single(snapshot.Resources("Microsoft.Storage/storageAccounts"))["id"]!.GetValue<string>();

        Assert.Equal([account], ScopesOf(snapshot, BlobDataOwner));
        Assert.Equal([account], ScopesOf(snapshot, TableDataContributor));

        var tables = AppTables();
        Assert.True(tables.Count >= 5, $"only {tables.Count} TableName constants found in the app");
        var created = snapshot.Resources("Microsoft.Storage/storageAccounts/tableServices/tables").Select(t => t["id"]!.GetValue<string>()).ToHashSet();
        foreach (var table in tables)
            Assert.True(created.Contains($"{account}/tableServices/default/tables/{table}"), $"table {table} (named in the app) is not created by the template");
    }

    [Fact]
    public async Task Without_privateNetworking_there_is_no_private_endpoint_and_storage_and_the_vault_stay_public()
    {
        foreach (var others in new Dictionary<string, string>?[] { null, new() { ["staticEgressIp"] = "true" } })
        {
            var snapshot = await MainSnapshot.OfAsync(wecomApps: null, others);
            Assert.Empty(snapshot.Resources("Microsoft.Network/privateEndpoints"));
            Assert.Empty(snapshot.Resources("Microsoft.Network/privateDnsZones"));
            foreach (var type in new[] { "Microsoft.Storage/storageAccounts", "Microsoft.KeyVault/vaults" })
                Assert.Equal("Enabled", Assert.Single(snapshot.Resources(type))["properties"]!["publicNetworkAccess"]!.GetValue<string>());
        }

        var parameter = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "main.parameters.json")))!["parameters"]!["privateNetworking"];
        Assert.Equal("${WATCHSTAT_PRIVATE_NETWORKING=false}", parameter?["value"]?.GetValue<string>());
    }

    [Fact]
    public async Task With_privateNetworking_storage_and_the_vault_are_reached_only_through_private_endpoints_with_linked_DNS_zones()
    {
        var snapshot = await MainSnapshot.OfAsync(wecomApps: null, PrivateNetworking);
        var storage = Assert.Single(snapshot.Resources("Microsoft.Storage/storageAccounts"));
        var vault = Assert.Single(snapshot.Resources("Microsoft.KeyVault/vaults"));
        foreach (var resource in new[] { storage, vault })
        {
            Assert.Equal("Disabled", resource["properties"]!["publicNetworkAccess"]!.GetValue<string>());
            Assert.Equal("Deny", resource["properties"]!["networkAcls"]!["defaultAction"]!.GetValue<string>());
        }

        // The endpoints' subnet: in the app's network, not the delegated integration subnet.
        var network = Assert.Single(snapshot.Resources("Microsoft.Network/virtualNetworks"));
        var networkId = network["id"]!.GetValue<string>();
        var subnets = network["properties"]!["subnets"]!.AsArray();
        var endpointSubnet = Assert.Single(subnets, s => s!["name"]!.GetValue<string>() == "private-endpoints")!;
        Assert.Null(endpointSubnet["properties"]!["delegations"]);

        // One endpoint per service (blob, queue, table, vault), each on its resource, in that subnet.
        var endpoints = snapshot.Resources("Microsoft.Network/privateEndpoints").ToList();
        var byService = endpoints.ToDictionary(
            e => Assert.Single(e["properties"]!["privateLinkServiceConnections"]![0]!["properties"]!["groupIds"]!.AsArray())!.GetValue<string>());
        Assert.Equal(PrivateServices, byService.Keys.Order(StringComparer.Ordinal));
        foreach (var (service, endpoint) in byService)
        {
            var target = endpoint["properties"]!["privateLinkServiceConnections"]![0]!["properties"]!["privateLinkServiceId"]!.GetValue<string>();
            Assert.Equal((service == "vault" ? vault : storage)["id"]!.GetValue<string>(), target);
            Assert.Equal($"{networkId}/subnets/private-endpoints", endpoint["properties"]!["subnet"]!["id"]!.GetValue<string>());
        }

        // One private DNS zone per service, linked to the network, and each endpoint registers in its zone.
        var zones = snapshot.Resources("Microsoft.Network/privateDnsZones").Select(z => z["name"]!.GetValue<string>()).ToList();
        foreach (var service in new[] { "blob", "queue", "table" })
            Assert.Single(zones, z => z.Contains($"privatelink.{service}.", StringComparison.Ordinal) && z.Contains("suffixes.storage", StringComparison.Ordinal));
        Assert.Contains("privatelink.vaultcore.azure.net", zones);
        Assert.Equal(4, zones.Count);

        var links = snapshot.Resources("Microsoft.Network/privateDnsZones/virtualNetworkLinks").ToList();
        Assert.Equal(4, links.Count);
        Assert.All(links, l => Assert.Equal(networkId, l["properties"]!["virtualNetwork"]!["id"]!.GetValue<string>()));
        Assert.All(links, l => Assert.False(l["properties"]!["registrationEnabled"]!.GetValue<bool>()));

        var groups = snapshot.Resources("Microsoft.Network/privateEndpoints/privateDnsZoneGroups").ToList();
        Assert.Equal(4, groups.Count);
        foreach (var (service, endpoint) in byService)
        {
            var group = Assert.Single(groups, g => g["id"]!.GetValue<string>().StartsWith(endpoint["id"]!.GetValue<string>() + "/", StringComparison.Ordinal));
            var zone = group["properties"]!["privateDnsZoneConfigs"]![0]!["properties"]!["privateDnsZoneId"]!.GetValue<string>();
            Assert.Contains(service == "vault" ? "privatelink.vaultcore.azure.net" : $"privatelink.{service}.", zone, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PrivateNetworking_without_the_VNet_of_staticEgressIp_stops_the_deployment_saying_why()
    {
        var snapshot = await MainSnapshot.OfAsync(wecomApps: null, new Dictionary<string, string> { ["privateNetworking"] = "true" });

        Assert.True(snapshot.Run.ExitCode != 0 && snapshot.Json is null, $"the deployment was not refused:\n{snapshot.Run.Output}");
        Assert.Contains("privateNetworking needs staticEgressIp", snapshot.Run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Error BCP", snapshot.Run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_entraSignIn_the_app_has_no_App_Service_authentication()
    {
        var snapshot = await MainSnapshot.OfAsync(wecomApps: null);
        Assert.DoesNotContain(snapshot.Resources("Microsoft.Web/sites/config"), c => c["name"]!.GetValue<string>().EndsWith("/authsettingsV2", StringComparison.Ordinal));

        var parameters = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "main.parameters.json")))!["parameters"]!;
        Assert.Equal("${WATCHSTAT_ENTRA_SIGN_IN=false}", parameters["entraSignIn"]?["value"]?.GetValue<string>());
        Assert.Equal("${WATCHSTAT_ENTRA_CLIENT_ID=}", parameters["entraClientId"]?["value"]?.GetValue<string>());
    }

    [Fact]
    public async Task With_entraSignIn_every_route_needs_a_sign_in_except_the_WeCom_callback_route_of_each_app_with_a_callback()
    {
        const string apps = """
            [
              { name: 'both', corpId: 'ww0', secretName: 'wecom-both', anchorUserIds: '', callbackTokenSecretName: 't', encodingAesKeySecretName: 'a' }
              { name: 'none', corpId: 'ww0', secretName: 'wecom-none', anchorUserIds: '' }
              { name: 'also', corpId: 'ww1', secretName: 'wecom-also', anchorUserIds: '', callbackTokenSecretName: 't2', encodingAesKeySecretName: 'a2' }
            ]
            """;
        var snapshot = await MainSnapshot.OfAsync(apps, new Dictionary<string, string> { ["entraSignIn"] = "true", ["entraClientId"] = $"'{ClientId}'" });
        var auth = Assert.Single(snapshot.Resources("Microsoft.Web/sites/config"), c => c["name"]!.GetValue<string>().EndsWith("/authsettingsV2", StringComparison.Ordinal));
        Assert.StartsWith(snapshot.Site["id"]!.GetValue<string>() + "/config/", auth["id"]!.GetValue<string>(), StringComparison.Ordinal);
        var properties = auth["properties"]!;

        Assert.True(properties["platform"]!["enabled"]!.GetValue<bool>(), "App Service authentication is not enabled");
        var validation = properties["globalValidation"]!;
        Assert.True(validation["requireAuthentication"]!.GetValue<bool>(), "authentication is not required");
        Assert.Equal("RedirectToLoginPage", validation["unauthenticatedClientAction"]!.GetValue<string>());
        Assert.Equal("azureactivedirectory", validation["redirectToProvider"]!.GetValue<string>());

        // The callback route as the function defines it (wecom/callback/{app} under the host's route prefix), for
        // exactly the apps with a callback.
        var prefix = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("host.json")))!["extensions"]?["http"]?["routePrefix"]?.GetValue<string>() ?? "api";
        string[] expected = [.. CallbackApps.Select(app => $"/{prefix}/{WeComCallbackFunction.Route.Replace("{app}", app, StringComparison.Ordinal)}")];
        Assert.Equal(expected, validation["excludedPaths"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal(expected, CallbackApps.Select(WeComCallbackFunction.PathOf));

        var entra = properties["identityProviders"]!["azureActiveDirectory"]!;
        Assert.True(entra["enabled"]!.GetValue<bool>(), "the Entra provider is not enabled");
        Assert.Equal(ClientId, entra["registration"]!["clientId"]!.GetValue<string>());
        // https://login.microsoftonline.com/<tenant>/v2.0, the cloud's login endpoint (left as environment() by the
        // snapshot) and the deployment's tenant.
        var issuer = entra["registration"]!["openIdIssuer"]!.GetValue<string>();
        foreach (var part in new[] { "environment().authentication.loginEndpoint", "'00000000-0000-0000-0000-0000000000bb'", "/v2.0" })
            Assert.True(issuer.Contains(part, StringComparison.Ordinal), $"the issuer lacks {part}: {issuer}");
        Assert.Contains($"api://{ClientId}", entra["validation"]!["allowedAudiences"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Null(entra["registration"]!["clientSecretSettingName"]);
    }

    [Fact]
    public async Task EntraSignIn_without_a_client_id_stops_the_deployment_saying_why()
    {
        var snapshot = await MainSnapshot.OfAsync(wecomApps: null, new Dictionary<string, string> { ["entraSignIn"] = "true" });

        Assert.True(snapshot.Run.ExitCode != 0 && snapshot.Json is null, $"the deployment was not refused:\n{snapshot.Run.Output}");
        Assert.Contains("entraSignIn needs entraClientId", snapshot.Run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Error BCP", snapshot.Run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_is_an_app_setting_only_when_asked_for_and_must_outlast_the_lookback()
    {
        var off = await MainSnapshot.OfAsync(wecomApps: null);
        Assert.DoesNotContain(off.AppSettings, s => s.Name == "Harvest__RetentionDays");

        var on = await MainSnapshot.OfAsync(wecomApps: null, new Dictionary<string, string> { ["harvestRetentionDays"] = "400" });
        Assert.Equal("400", Assert.Single(on.AppSettings, s => s.Name == "Harvest__RetentionDays").Value);

        var tooShort = await MainSnapshot.OfAsync(wecomApps: null, new Dictionary<string, string> { ["harvestRetentionDays"] = "7" });
        Assert.True(tooShort.Run.ExitCode != 0 && tooShort.Json is null, $"the deployment was not refused:\n{tooShort.Run.Output}");
        Assert.Contains("harvestRetentionDays (7) must be more than harvestLookbackDays (7)", tooShort.Run.Output, StringComparison.Ordinal);

        var parameters = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("infra", "main.parameters.json")))!["parameters"]!;
        Assert.Equal("${WATCHSTAT_RETENTION_DAYS=0}", parameters["harvestRetentionDays"]?["value"]?.GetValue<string>());
    }
}
