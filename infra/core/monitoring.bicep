// Logs and metrics: a Log Analytics workspace and a workspace-based Application Insights resource that accepts
// Entra-authenticated telemetry only (DisableLocalAuth). The app's identity publishes to it with the role
// Monitoring Metrics Publisher, scoped to the Application Insights resource. A shared Azure Monitor workbook on that
// resource (workbook.json) charts what the app writes there: harvest runs by how they ended, pages and viewers,
// WeCom calls by errcode, throttles, retries, callbacks, failed runs with their errors, exceptions.

import { tagSet } from '../types.bicep'

@description('Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Name of the Application Insights resource.')
param applicationInsightsName string

@description('Azure region.')
param location string

@description('Tags for both resources.')
param tags tagSet

@description('Name of the user-assigned identity that sends telemetry (created by identity.bicep).')
param identityName string

@description('Days Log Analytics keeps the data.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Monitoring Metrics Publisher: send telemetry to an Entra-authenticated Application Insights resource.')
var metricsPublisherRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Only Entra-authenticated telemetry is accepted: the instrumentation key alone cannot write.
    DisableLocalAuth: true
  }
}

resource appPublishesTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, metricsPublisherRoleDefinitionId)
  scope: applicationInsights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: metricsPublisherRoleDefinitionId
  }
}

// The workbook's name must be a GUID; derived from the Application Insights resource, a redeployment updates the same
// workbook. Its content is workbook.json as it is (the queries read the app's customMetrics, traces and exceptions;
// WorkbookTests checks their metric, dimension and log names against the app's code).
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'watchstat-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'WatchStat harvests and WeCom calls'
    category: 'workbook'
    sourceId: applicationInsights.id
    version: 'Notebook/1.0'
    serializedData: string(loadJsonContent('workbook.json'))
  }
}
