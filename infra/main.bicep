// WatchStat in Azure: a Function App on Flex Consumption with its storage, Key Vault and monitoring, in the
// resource group rg-<environment>. `azd up` deploys this template (subscription scope) and then the app.
// Every resource is declared here or in ./core and ./app, with no registry modules, so the build works offline.
// infra/README.md describes the structure and every parameter.

targetScope = 'subscription'

import { tagSet, wecomApp, wecomCallbackUrlSet } from 'types.bicep'

@description('Name of the azd environment; names the resource group (rg-<name>) and seeds the unique resource names.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of every resource (one that offers Flex Consumption).')
@minLength(1)
param location string

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID): granted Key Vault Secrets Officer so they can set the WeCom secrets. Empty: no such grant.')
param principalId string = ''

@description('Kind of principal principalId is: User for a person, ServicePrincipal for a CI identity.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

// Why 4: WeCom allows 10,000 calls a minute and 150,000 an hour per enterprise and API. Those are kept by the app's
// shared budget (wecomBudgetPercent of both, claimed in blocks from the WeComBudget table by every instance, the CLI
// and discovery alike), whatever the instance count. WeCom:MaxCallsPerMinute (default 2,000) only paces each
// instance evenly over the minute; 4 x 2,000 = 8,000 a minute is the budget's own default (80% of 10,000), so the
// default instances can use the whole budget and no more. More instances add no WeCom throughput beyond the budget.
// Range: Flex Consumption accepts a maximum instance count from 1 to 1,000
// (https://learn.microsoft.com/azure/azure-functions/event-driven-scaling#limit-scale-out).
@description('Scale-out limit of the Function App (per function scale group). Flex Consumption accepts 1 to 1,000; WeCom\'s limits are kept by the shared budget (wecomBudgetPercent) at any count, and 4 x wecomMaxCallsPerMinute (2,000) is that budget\'s default 8,000 a minute.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 4

@description('Memory of each Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Why: the anonymous WeCom callback route (wecom/callback/{app}) must answer WeCom's URL check within about a second
// and its events within 5 seconds, which a cold start on Flex Consumption (scaled to zero) can miss. An
// always-ready instance of the http scale group (every HTTP trigger: the callback and the harvest routes) is never
// cold, but is billed all the time: the always-ready baseline for its instanceMemoryMB around the clock, whether or
// not it runs anything, and its executions at the always-ready rate without the on-demand free grant. 0 keeps the
// app scale-to-zero (no baseline). At most 10 (a bound against a costly typo; one is enough for the callback) and at
// most maximumInstanceCount (a scale group cannot keep more instances ready than it may have: app/function-app.bicep
// fails the deployment, naming both values).
// https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#always-ready-instances
@description('Always-ready instances of the HTTP trigger group (Flex Consumption alwaysReady, name \'http\'). 0 (default): none, the app scales to zero and a request after an idle spell meets a cold start, which can miss WeCom\'s callback deadlines (URL check within about 1 s, events within 5 s). n > 0: n instances are kept running so the WeCom callback route answers without a cold start, at the price of always-ready baseline billing for n x instanceMemoryMB around the clock, even when idle. 0 to 10, and not above maximumInstanceCount.')
@minValue(0)
@maxValue(10)
param alwaysReadyHttpInstances int = 0

@description('The WeCom apps the deployment harvests for; each becomes WeCom__Apps__<name>__CorpId and __SecretName (custom, or agent without suiteId) or __SuiteId and __SuiteSecretName (agent or thirdparty installed through a suite), __AnchorUserIds, __Kind when kind is given, and an app with callbackTokenSecretName and encodingAesKeySecretName (both or neither; both for an app with suiteId) also __CallbackTokenSecretName and __EncodingAesKeySecretName. An app with suiteId makes the app\'s identity Key Vault Secrets Officer instead of Secrets User (it writes the suite_ticket and the corps\' permanent codes). Secrets are not here: set each named secret in the vault after deploying.')
@minLength(1)
param wecomApps wecomApp[] = [
  {
    name: 'default'
    corpId: ''
    secretName: 'wecom-default'
    anchorUserIds: ''
    callbackTokenSecretName: 'wecom-default-callback-token'
    encodingAesKeySecretName: 'wecom-default-encoding-aes-key'
  }
]

@description('Harvest:NightlySchedule: when the nightly harvest looks for the anchors\' lives. NCRONTAB with seconds, in UTC: 18:00 UTC is 02:00 China time (UTC+8).')
param harvestNightlySchedule string = '0 0 18 * * *'

@description('Harvest:SweepSchedule: when the sweeper looks for stalled harvests. NCRONTAB with seconds, in UTC.')
param harvestSweepSchedule string = '0 * * * * *'

@description('Harvest:LookbackDays: how many days back the nightly harvest refreshes lives (watch time grows with replays).')
@minValue(0)
@maxValue(365)
param harvestLookbackDays int = 7

@description('Harvest:StallSeconds: a queued or running harvest that has shown no sign of life this long (an instance died holding its page) is re-driven by the sweeper.')
@minValue(5)
@maxValue(86400)
param harvestStallSeconds int = 60

@description('WeCom:MaxCallsPerMinute: how evenly one instance paces its WeCom calls, per corp and API (see maximumInstanceCount); WeCom\'s limits are kept by wecomBudgetPercent. 60 is the least the app accepts; 10,000 is all WeCom allows.')
@minValue(60)
@maxValue(10000)
param wecomMaxCallsPerMinute int = 2000

@description('WeCom:BudgetPercent: the percent of WeCom\'s per-corp limits (10,000 calls a minute, 150,000 an hour, per API) this deployment spends, shared by all instances, the CLI and discovery; the rest is left to the corp\'s other systems.')
@minValue(1)
@maxValue(100)
param wecomBudgetPercent int = 80

@description('Harvest:RetentionDays: lives that ended longer ago than this many days are deleted (viewer rows, page records, status and Livings rows) by the daily retention at 03:30 UTC. 0 (default): kept forever. Otherwise 1 to 36,500 and more than harvestLookbackDays (the nightly harvest would bring back what retention deleted).')
@minValue(0)
@maxValue(36500)
param harvestRetentionDays int = 0

@description('true: route the app\'s outbound traffic through a NAT gateway with a static public IP (output WECOM_EGRESS_IP) for WeCom\'s trusted-IP list. Adds a VNet, a NAT gateway and a public IP, which cost money while they exist.')
param staticEgressIp bool = false

// Private endpoints live in a virtual network, and the app reaches them only through its VNet integration, which
// the static egress option (staticEgressIp) is: its network gets a second subnet for the endpoints. Without it the
// app would have no route to a storage account or vault whose public access is off, so the combination is refused.
@description('true: storage (blob, queue, table) and Key Vault get private endpoints in the virtual network, private DNS zones linked to it, and public network access Disabled. Needs staticEgressIp (the VNet the app is integrated with). The operator then reaches the vault and the tables only from inside that network (README, "Private networking").')
param privateNetworking bool = false

@description('true: App Service authentication requires a Microsoft Entra sign-in for every route except the WeCom callbacks (/api/wecom/callback/<app>), which WeCom calls without one. Needs entraClientId.')
param entraSignIn bool = false

@description('Application (client) id of the Microsoft Entra app registration that signs users in (entraSignIn); empty when entraSignIn is false. Not a secret.')
param entraClientId string = ''

@description('privateNetworking once checked against staticEgressIp: fail() when private endpoints are asked for without the VNet.')
var checkedPrivateNetworking = privateNetworking && !staticEgressIp
  ? fail('privateNetworking needs staticEgressIp: the private endpoints are placed in the virtual network that staticEgressIp creates, and only the app\'s integration with that network reaches storage and Key Vault once their public access is off; set staticEgressIp (WECOM_STATIC_EGRESS_IP) to true as well')
  : privateNetworking

@description('entraSignIn once checked: fail() when it is on without the app registration\'s client id.')
var checkedEntraSignIn = entraSignIn && empty(entraClientId)
  ? fail('entraSignIn needs entraClientId: the application (client) id of the Microsoft Entra app registration that signs users in (WATCHSTAT_ENTRA_CLIENT_ID)')
  : entraSignIn

@description('Tags on every resource; azd finds its environment by azd-env-name.')
var tags tagSet = {
  'azd-env-name': environmentName
}

@description('Name prefixes by resource type (the Cloud Adoption Framework abbreviations azd templates use).')
var abbrs = {
  resourceGroup: 'rg-'
  managedIdentity: 'id-'
  storageAccount: 'st'
  keyVault: 'kv-'
  logAnalytics: 'log-'
  applicationInsights: 'appi-'
  functionPlan: 'plan-'
  functionApp: 'func-'
  virtualNetwork: 'vnet-'
  natGateway: 'ng-'
  publicIp: 'pip-'
}

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourceGroup}${environmentName}'
  location: location
  tags: tags
}

// The kinds of WeCom app and what each takes (types.bicep, wecomApp). What the type cannot say is checked here, in
// a variable of this template, which ARM evaluates before it deploys anything: a wrong combination stops the whole
// deployment (before the vault grants a role or the site gets a setting) with one message per problem, each naming
// the app and the property. The app's own start-up checks (WeComOptionsValidator) say the same; the template says it
// before anything is deployed. Empty strings count as left out, as for the callback secret names.
@description('Every problem of every WeCom app\'s kind, suite, corp and secret names: one message each, none for sound apps.')
var wecomAppProblems = flatten(map(wecomApps, app => filter([
  app.?kind == 'thirdparty' && empty(app.?suiteId ?? '')
    ? 'WeCom app \'${app.name}\' is kind thirdparty but has no suiteId: corps install a third-party app through its suite; give suiteId and suiteSecretName'
    : ''
  (app.?kind ?? 'custom') == 'custom' && !empty(app.?suiteId ?? '')
    ? 'WeCom app \'${app.name}\' has suiteId but is kind custom${app.?kind == null ? ' (the default)' : ''}: suiteId is for agent-developed and third-party apps; set kind to agent or thirdparty, or remove suiteId'
    : ''
  (!empty(app.?suiteId ?? '') || app.?kind == 'thirdparty') && empty(app.?suiteSecretName ?? '')
    ? 'WeCom app \'${app.name}\' has no suiteSecretName: an app installed through a suite needs the name of the Key Vault secret that holds its SuiteSecret'
    : ''
  empty(app.?suiteId ?? '') && app.?kind != 'thirdparty' && !empty(app.?suiteSecretName ?? '')
    ? 'WeCom app \'${app.name}\' has suiteSecretName but no suiteId: a suite secret belongs to an agent or thirdparty app installed through a suite; give suiteId too, or remove suiteSecretName'
    : ''
  !empty(app.?suiteId ?? '') && !empty(app.?corpId ?? '')
    ? 'WeCom app \'${app.name}\' has suiteId and corpId: an app installed through a suite has no corp of its own (its corps are those that authorize it); remove corpId'
    : ''
  !empty(app.?suiteId ?? '') && !empty(app.?secretName ?? '')
    ? 'WeCom app \'${app.name}\' has suiteId and secretName: an app installed through a suite has no secret of its own (each authorizing corp\'s permanent code, which the app keeps in Key Vault, is its credential); remove secretName'
    : ''
  !empty(app.?suiteId ?? '') && (empty(app.?callbackTokenSecretName ?? '') || empty(app.?encodingAesKeySecretName ?? ''))
    ? 'WeCom app \'${app.name}\' has suiteId but not both callbackTokenSecretName and encodingAesKeySecretName: WeCom pushes the suite_ticket and the authorizations (create_auth, cancel_auth) to its callback; give both'
    : ''
  empty(app.?suiteId ?? '') && app.?kind != 'thirdparty' && app.?corpId == null
    ? 'WeCom app \'${app.name}\' has no corpId: an app of kind ${app.?kind ?? 'custom'} without suiteId needs its corp\'s corpid (企业ID)'
    : ''
  empty(app.?suiteId ?? '') && app.?kind != 'thirdparty' && empty(app.?secretName ?? '')
    ? 'WeCom app \'${app.name}\' has no secretName: an app of kind ${app.?kind ?? 'custom'} without suiteId needs the name of the Key Vault secret that holds its ${app.?kind == 'agent' ? 'permanent code' : 'secret (corpsecret)'}'
    : ''
], problem => !empty(problem))))

@description('wecomApps once they pass the checks above; fail() with every problem otherwise.')
var checkedWecomApps = empty(wecomAppProblems) ? wecomApps : fail(join(wecomAppProblems, '. '))

// An app installed through a suite WRITES to the vault at run time: the latest suite_ticket, each authorizing corp's
// permanent code (deleted again on cancel_auth, recovered from soft delete when the corp authorizes again). That takes
// Key Vault Secrets Officer; without such an app the identity only reads (Secrets User), least privilege.
@description('true when a WeCom app has a suiteId: the app\'s identity then gets Key Vault Secrets Officer instead of Secrets User.')
var appWritesSecrets = !empty(filter(checkedWecomApps, app => !empty(app.?suiteId ?? '')))

@description('13 characters, stable for this subscription, resource group and environment: keeps global names unique.')
var resourceToken = toLower(uniqueString(subscription().id, rg.id, environmentName))

@description('Every resource name, derived from the token.')
var names = {
  identity: '${abbrs.managedIdentity}${resourceToken}'
  storage: '${abbrs.storageAccount}${resourceToken}'
  keyVault: '${abbrs.keyVault}${resourceToken}'
  logAnalytics: '${abbrs.logAnalytics}${resourceToken}'
  applicationInsights: '${abbrs.applicationInsights}${resourceToken}'
  functionPlan: '${abbrs.functionPlan}${resourceToken}'
  functionApp: '${abbrs.functionApp}${resourceToken}'
  virtualNetwork: '${abbrs.virtualNetwork}${resourceToken}'
  natGateway: '${abbrs.natGateway}${resourceToken}'
  publicIp: '${abbrs.publicIp}${resourceToken}'
}

@description('The blob container Flex Consumption deploys the app package to.')
var deploymentContainerName = 'app-package'

module identity 'core/identity.bicep' = {
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'core/monitoring.bicep' = {
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
    identityName: names.identity
  }
  dependsOn: [
    identity
  ]
}

module storage 'core/storage.bicep' = {
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    // The page queue, the nightly discovery's queue (one message per anchor), and the poison queues their
    // messages move to after host.json's maxDequeueCount; harvest-pages-poison has a trigger of its own
    // (HarvestPoisonFunction), whose failed messages the host moves to harvest-pages-poison-poison. The identity's
    // queue role is scoped to exactly these queues, so every queue the host or the app touches must be here.
    queueNames: [
      'harvest-pages'
      'harvest-pages-poison'
      'harvest-pages-poison-poison'
      'discover-anchors'
      'discover-anchors-poison'
    ]
    tableNames: [
      'WatchStats'
      'Harvests'
      'Livings'
      'Installations'
      'WeComBudget'
    ]
    identityName: names.identity
    privateNetworking: checkedPrivateNetworking
  }
  dependsOn: [
    identity
  ]
}

module keyVault 'core/key-vault.bicep' = {
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    identityName: names.identity
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    appWritesSecrets: appWritesSecrets
    privateNetworking: checkedPrivateNetworking
  }
  dependsOn: [
    identity
  ]
}

module egress 'core/egress.bicep' = if (staticEgressIp) {
  scope: rg
  params: {
    virtualNetworkName: names.virtualNetwork
    natGatewayName: names.natGateway
    publicIpName: names.publicIp
    location: location
    tags: tags
    privateEndpoints: checkedPrivateNetworking
  }
}

module privateEndpoints 'core/private-endpoints.bicep' = if (checkedPrivateNetworking) {
  scope: rg
  params: {
    storageAccountName: names.storage
    keyVaultName: names.keyVault
    virtualNetworkId: egress.?outputs.virtualNetworkId ?? ''
    subnetId: egress.?outputs.privateEndpointSubnetId ?? ''
    location: location
    tags: tags
  }
  dependsOn: [
    storage
    keyVault
  ]
}

module functionApp 'app/function-app.bicep' = {
  scope: rg
  params: {
    name: names.functionApp
    planName: names.functionPlan
    location: location
    tags: tags
    identityName: names.identity
    storageAccountName: names.storage
    deploymentContainerName: deploymentContainerName
    keyVaultName: names.keyVault
    applicationInsightsName: names.applicationInsights
    subnetId: egress.?outputs.subnetId ?? ''
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    wecomApps: checkedWecomApps
    harvestNightlySchedule: harvestNightlySchedule
    harvestSweepSchedule: harvestSweepSchedule
    harvestLookbackDays: harvestLookbackDays
    harvestStallSeconds: harvestStallSeconds
    harvestRetentionDays: harvestRetentionDays
    wecomMaxCallsPerMinute: wecomMaxCallsPerMinute
    wecomBudgetPercent: wecomBudgetPercent
    entraSignIn: checkedEntraSignIn
    entraClientId: entraClientId
  }
  // The app starts with its role assignments, vault and telemetry in place, and with privateNetworking with the
  // private endpoints and their DNS records already there.
  dependsOn: [
    monitoring
    storage
    keyVault
    privateEndpoints
  ]
}

@description('Region of the deployment.')
output AZURE_LOCATION string = location

@description('Tenant of the subscription.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('The resource group everything is in.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Name of the Function App.')
output AZURE_FUNCTION_APP_NAME string = names.functionApp

@description('Name of the Function App, as azd names a service\'s resource.')
output SERVICE_API_NAME string = names.functionApp

@description('The Function App\'s host name (https://<host>/api/harvests).')
output AZURE_FUNCTION_APP_HOST_NAME string = functionApp.outputs.defaultHostName

@description('Name of the Key Vault: az keyvault secret set --vault-name <this>.')
output AZURE_KEY_VAULT_NAME string = names.keyVault

@description('URI of the Key Vault (the app setting KeyVault__Uri).')
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri

@description('The role the app\'s identity has on the Key Vault: Key Vault Secrets Officer when a WeCom app has a suiteId (the app writes the suite_ticket and permanent codes), else Key Vault Secrets User (read only).')
output AZURE_KEY_VAULT_APP_ROLE string = keyVault.outputs.appRoleName

@description('Name of the storage account with the WatchStats, Harvests and Livings tables.')
output AZURE_STORAGE_ACCOUNT_NAME string = names.storage

@description('Name of the Application Insights resource with the app\'s logs and metrics.')
output AZURE_APPLICATION_INSIGHTS_NAME string = names.applicationInsights

@description('The static outbound IP to add to the WeCom app\'s trusted IPs (企业可信IP); empty when staticEgressIp is false.')
output WECOM_EGRESS_IP string = egress.?outputs.ipAddress ?? ''

// An object, not a string: azd stores an object output in the environment as JSON
// ({"default":"https://func-<token>.azurewebsites.net/api/wecom/callback/default"}), which keeps one URL per app
// without a separator to invent, reads with `azd env get-value WECOM_CALLBACK_URLS | jq -r .default`, and is {}
// when no app has a callback.
@description('The callback URL of each WeCom app with a callback, by app name: https://<host>/api/wecom/callback/<name>, to enter in the WeCom admin console (接收消息 / API接收). {} when no app has one.')
output WECOM_CALLBACK_URLS wecomCallbackUrlSet = functionApp.outputs.wecomCallbackUrls
