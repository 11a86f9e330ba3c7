// The Function App on a Flex Consumption plan (.NET 10 isolated worker), wired to everything by the one
// user-assigned identity: host storage, the deployment package, Key Vault and Application Insights. No key,
// connection string with a key, or secret value appears in its settings.

import { tagSet, wecomApp, wecomCallbackUrlSet } from '../types.bicep'

@description('Name of the Function App (also its host name: <name>.azurewebsites.net).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags for the plan and the app; the app also gets azd-service-name.')
param tags tagSet

@description('Name of the user-assigned identity the app runs as (created by identity.bicep).')
param identityName string

@description('Name of the storage account (created by storage.bicep).')
param storageAccountName string

@description('Name of the blob container that holds the deployment package.')
param deploymentContainerName string

@description('Name of the Key Vault with the WeCom secrets (created by key-vault.bicep).')
param keyVaultName string

@description('Name of the Application Insights resource (created by monitoring.bicep).')
param applicationInsightsName string

@description('Resource id of the subnet for VNet integration (the static egress IP); empty for none.')
param subnetId string = ''

@description('Scale-out limit of each function scale group; see main.bicep for why the default is 4.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Always-ready instances of the HTTP trigger group; 0 for none. See main.bicep for the trade-off (no cold start for the WeCom callback against always-ready baseline billing).')
@minValue(0)
@maxValue(10)
param alwaysReadyHttpInstances int

@description('The WeCom apps the deployment harvests for, as main.bicep checked them (kind, suite, corp and secret names).')
@minLength(1)
param wecomApps wecomApp[]

@description('Harvest:NightlySchedule, NCRONTAB with seconds, in UTC.')
param harvestNightlySchedule string

@description('Harvest:SweepSchedule, NCRONTAB with seconds, in UTC.')
param harvestSweepSchedule string

@description('Harvest:LookbackDays.')
param harvestLookbackDays int

@description('Harvest:StallSeconds.')
param harvestStallSeconds int

@description('WeCom:MaxCallsPerMinute, per instance.')
param wecomMaxCallsPerMinute int

@description('WeCom:BudgetPercent: the share of WeCom\'s per-corp limits the deployment spends.')
param wecomBudgetPercent int

@description('Harvest:RetentionDays; 0: off (no setting).')
param harvestRetentionDays int

@description('true: App Service authentication requires a Microsoft Entra sign-in everywhere except the WeCom callback routes.')
param entraSignIn bool = false

@description('Application (client) id of the Entra app registration for entraSignIn; empty without it.')
param entraClientId string = ''

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' existing = {
  name: storageAccountName
}

resource keyVault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

@description('Host storage through the identity: no connection string, no account key (the account has shared keys off).')
var storageSettings = [
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
]

@description('The identity for DefaultAzureCredential (Key Vault) and Entra-authenticated Application Insights. The connection string carries no secret: with local auth off, telemetry needs an Entra token.')
var identitySettings = [
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  { name: 'KeyVault__Uri', value: keyVault.properties.vaultUri }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
]

// An app installed through a suite (suiteId) has no corp or secret of its own: it gets __SuiteId and __SuiteSecretName
// instead of __CorpId and __SecretName. main.bicep has already refused apps whose properties do not fit their kind.
@description('The settings of each WeCom app: WeCom__Apps__<name>__Kind (only when kind is given); __CorpId and __SecretName, or for an app with suiteId __SuiteId and __SuiteSecretName; __AnchorUserIds.')
var wecomAppSettings = flatten(map(wecomApps, app => concat(
  app.?kind == null ? [] : [{ name: 'WeCom__Apps__${app.name}__Kind', value: app.?kind! }],
  empty(app.?suiteId ?? '')
    ? [
        { name: 'WeCom__Apps__${app.name}__CorpId', value: app.?corpId ?? '' }
        { name: 'WeCom__Apps__${app.name}__SecretName', value: app.?secretName ?? '' }
      ]
    : [
        { name: 'WeCom__Apps__${app.name}__SuiteId', value: app.?suiteId! }
        { name: 'WeCom__Apps__${app.name}__SuiteSecretName', value: app.?suiteSecretName ?? '' }
      ],
  [{ name: 'WeCom__Apps__${app.name}__AnchorUserIds', value: app.anchorUserIds }]
)))

// A WeCom app has a callback (route wecom/callback/<name>) when it names the Key Vault secrets of its callback Token
// and EncodingAESKey: both, or neither (left out or empty). One without the other would make the app refuse to
// start, so fail() stops this deployment before the site gets its settings, naming the app.
@description('The WeCom apps with a callback: those that name a callback Token or EncodingAESKey secret.')
var wecomCallbackApps = filter(wecomApps, app => !empty(app.?callbackTokenSecretName ?? '') || !empty(app.?encodingAesKeySecretName ?? ''))

@description('Two more settings per WeCom app with a callback: the NAMES of the Key Vault secrets with its Token and EncodingAESKey, never the values. Apps without a callback get neither.')
var wecomCallbackSettings = flatten(map(wecomCallbackApps, app => [
  {
    name: 'WeCom__Apps__${app.name}__CallbackTokenSecretName'
    value: empty(app.?callbackTokenSecretName ?? '')
      ? fail('WeCom app \'${app.name}\' has encodingAesKeySecretName but no callbackTokenSecretName: give both (a callback) or neither')
      : app.callbackTokenSecretName!
  }
  {
    name: 'WeCom__Apps__${app.name}__EncodingAesKeySecretName'
    value: empty(app.?encodingAesKeySecretName ?? '')
      ? fail('WeCom app \'${app.name}\' has callbackTokenSecretName but no encodingAesKeySecretName: give both (a callback) or neither')
      : app.encodingAesKeySecretName!
  }
]))

@description('Harvest schedules and limits, and the WeCom call budget.')
var harvestSettings = [
  { name: 'Harvest__NightlySchedule', value: harvestNightlySchedule }
  { name: 'Harvest__SweepSchedule', value: harvestSweepSchedule }
  { name: 'Harvest__LookbackDays', value: string(harvestLookbackDays) }
  { name: 'Harvest__StallSeconds', value: string(harvestStallSeconds) }
  { name: 'WeCom__MaxCallsPerMinute', value: string(wecomMaxCallsPerMinute) }
  { name: 'WeCom__BudgetPercent', value: string(wecomBudgetPercent) }
]

// Retention is off unless asked for, and then must outlast the nightly harvest's lookback: a live retention deleted
// would otherwise be harvested again the next night. fail() stops the deployment before the site changes.
@description('Harvest:RetentionDays as an app setting when retention is on; none when it is off.')
var retentionSettings = harvestRetentionDays == 0
  ? []
  : harvestRetentionDays <= harvestLookbackDays
      ? fail('harvestRetentionDays (${harvestRetentionDays}) must be more than harvestLookbackDays (${harvestLookbackDays}): the nightly harvest would bring back what retention deleted')
      : [{ name: 'Harvest__RetentionDays', value: string(harvestRetentionDays) }]

// Flex Consumption keeps alwaysReady[].instanceCount instances of a per-function scale group running; 'http' names
// the group of every HTTP trigger. No entry when the count is 0: an empty list, which also clears always-ready
// instances set by hand (portal or CLI) on a redeployment, so the template stays the one place that decides them.
// A group never grows beyond maximumInstanceCount, so more always-ready instances than that is a mistake: fail()
// (in a variable, which ARM evaluates first) stops this module's deployment before the plan or site changes,
// naming both values.
@description('The site\'s always-ready configuration: [{ name: \'http\', instanceCount: n }] for n > 0, [] for 0.')
var alwaysReady = alwaysReadyHttpInstances > maximumInstanceCount
  ? fail('alwaysReadyHttpInstances (${alwaysReadyHttpInstances}) is more than maximumInstanceCount (${maximumInstanceCount}): the http scale group cannot keep more instances ready than it may have')
  : alwaysReadyHttpInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttpInstances }] : []

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    // On Flex Consumption, an app integrated with a subnet sends all its outbound traffic through it, so the
    // subnet's NAT gateway decides the source address WeCom sees.
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: concat(storageSettings, identitySettings, wecomAppSettings, wecomCallbackSettings, harvestSettings, retentionSettings)
    }
  }
}

// No publishing with user name and password: azd deploys with an Entra token.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// Microsoft Entra sign-in in front of the app (App Service authentication, "Easy Auth"), when entraSignIn is on.
// Every route needs a signed-in user or a bearer token for the app registration, except the WeCom callback routes:
// WeCom cannot sign in, and the callback authenticates each request itself (msg_signature with the Token, the body
// encrypted with the EncodingAESKey). The excluded paths are exactly the callback routes of the apps that have one
// (the function's route wecom/callback/{app} under the host's /api prefix).
// Unauthenticated requests are redirected to the sign-in page rather than answered 401: the report and overview
// pages (/api/lives, /api/lives/<livingid>/report) are opened by people in a browser, who then sign in and come back;
// scripts send a bearer token (Authorization: Bearer ...) and never see the redirect. No client secret is
// configured (the template holds no secrets), so the sign-in uses the ID token (implicit) flow: the app registration
// must issue ID tokens and list https://<host>/.auth/login/aad/callback as a web redirect URI (README, "Access").
// The function keys are still required behind it (AuthorizationLevel.Function); sign-in is a second lock, not a
// replacement.
@description('The paths App Service authentication leaves open: each WeCom callback route, /api/wecom/callback/<app>.')
var callbackPaths = map(wecomCallbackApps, app => '/api/wecom/callback/${app.name}')

resource authentication 'Microsoft.Web/sites/config@2025-03-01' = if (entraSignIn) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: callbackPaths
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: entraClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            entraClientId
            'api://${entraClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

@description('The app\'s default host name (<name>.azurewebsites.net).')
output defaultHostName string = site.properties.defaultHostName

@description('The callback URL of each WeCom app with a callback, by app name: https://<host>/api/wecom/callback/<name>, to enter in the WeCom admin console (接收消息 / API接收). Empty when no app has one.')
output wecomCallbackUrls wecomCallbackUrlSet = toObject(wecomCallbackApps, app => app.name, app => 'https://${site.properties.defaultHostName}/api/wecom/callback/${app.name}')
