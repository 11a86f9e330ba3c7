// The storage account: the Functions host's storage (AzureWebJobsStorage), the app's queues and tables, and the
// blob container Flex Consumption deploys the app package to. Shared keys are off, so every client (the host,
// the app, azd's deployment) authenticates with Entra ID. The identity's queue role is scoped to each queue the app
// uses; its blob and table roles stay on the account (see the comments at the role assignments for why).

import { tagSet } from '../types.bicep'

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the storage account.')
param tags tagSet

@description('Name of the blob container that holds the Function App\'s deployment package.')
param deploymentContainerName string

@description('Queues the app uses (the page and discovery queues and their poison queues); the identity\'s queue role is scoped to each of them and to nothing else.')
param queueNames string[]

@description('Tables the app writes (see the data contract in README.md).')
param tableNames string[]

@description('Name of the user-assigned identity that gets the data roles (created by identity.bicep).')
param identityName string

@description('true: no access from public networks (publicNetworkAccess Disabled); the account is reached through the private endpoints of private-endpoints.bicep only.')
param privateNetworking bool = false

@description('Storage Blob Data Owner: the host\'s blob leases and the deployment package.')
var blobDataOwnerRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')

@description('Storage Queue Data Contributor: the queue triggers and output binding, and the app\'s own QueueClient (delayed retries, creating each queue and its poison queue if missing).')
var queueDataContributorRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')

@description('Storage Table Data Contributor: WatchStats, Harvests, Livings.')
var tableDataContributorRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // With privateNetworking, only the private endpoints reach the account (the app through its VNet integration);
    // ARM still creates the containers, queues and tables (control plane), and trusted Azure services may pass.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-06-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2026-06-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2026-06-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2026-06-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2026-06-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// The identity's data roles. Each name is derived from the resource it is scoped to, identity and role, so a
// redeployment finds the same assignment instead of failing on a duplicate.
//
// Blobs: the account. The Functions host creates and uses containers of its own at run time (azure-webjobs-hosts:
// listener and singleton leases, timer schedule status; azure-webjobs-secrets: the function and host keys) besides
// the deployment container, so a container-scoped role would break the host.
resource appOwnsBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, blobDataOwnerRoleDefinitionId)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: blobDataOwnerRoleDefinitionId
  }
}

// Queues: each queue the app uses, not the account. Every queue operation of the host and the app names its queue:
// the triggers poll harvest-pages, harvest-pages-poison and discover-anchors, the listener moves a message to
// <queue>-poison after maxDequeueCount (harvest-pages-poison-poison for a message the poison trigger itself failed
// on five times), the output binding and QueueSender write and create-if-missing (PUT on the queue itself) the
// page and discovery queues and their poison queues, and Flex Consumption's scaler reads the queues' lengths. All of
// them exist from this template (main.bicep lists them), so nothing needs a queue role on the account.
resource appUsesQueues 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, length(queueNames)): {
    name: guid(queues[i].id, identity.id, queueDataContributorRoleDefinitionId)
    scope: queues[i]
    properties: {
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: queueDataContributorRoleDefinitionId
    }
  }
]

// Tables: the account. Every table the app uses exists from this template, but the app creates each one if missing
// before its first use in a process (CreateIfNotExists in HarvestStore, LivingStore, InstallationStore, WeComBudget)
// and stops on a failure there. Create Table is a POST to the account's /Tables collection with the table name in
// the body, not a request on the table's own path, so a role scoped to a table is not documented to authorize it;
// a 403 there would stop every harvest. Scoping the table role to the tables needs the app to skip that creation
// in Azure first.
resource appUsesTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, tableDataContributorRoleDefinitionId)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: tableDataContributorRoleDefinitionId
  }
}
