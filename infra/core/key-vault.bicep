// The Key Vault that holds the WeCom app secrets. The template creates no secret: the operator sets each one
// with `az keyvault secret set` (README, "Deploy"), so no secret value ever passes through a deployment.
// Access is by Azure RBAC only: the app's identity reads (Key Vault Secrets User), or, when a WeCom app is installed
// through a suite, also writes (Key Vault Secrets Officer); the deploying user, when known, may write (Key Vault
// Secrets Officer).

import { tagSet } from '../types.bicep'

@description('Name of the vault (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the vault.')
param tags tagSet

@description('Name of the user-assigned identity that reads the secrets (created by identity.bicep).')
param identityName string

@description('Object id of the user (or CI principal) who deploys and sets the secrets; empty for none.')
param operatorPrincipalId string = ''

@description('Kind of principal operatorPrincipalId is.')
@allowed([
  'User'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

@description('true: no access from public networks (publicNetworkAccess Disabled); the vault is reached through its private endpoint (private-endpoints.bicep) only, so the operator sets secrets from inside the virtual network or opens the vault for the moment (README, "Private networking").')
param privateNetworking bool = false

@description('true when a WeCom app has a suiteId: the app then writes secrets at run time (the latest suite_ticket, each authorizing corp\'s permanent code, deleted on cancel_auth and recovered from soft delete on a new authorization), so its identity gets Key Vault Secrets Officer instead of Secrets User.')
param appWritesSecrets bool = false

@description('Key Vault Secrets User: read secret values.')
var secretsUserRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')

@description('Key Vault Secrets Officer: create, update and delete secrets.')
var secretsOfficerRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')

// One role for the app's identity, never both: Secrets Officer includes everything Secrets User allows. The
// assignment's name derives from the role (an assignment's role cannot be changed in place), so switching adds the
// new assignment; ARM's incremental mode does not remove the old one. Going back to read only after an app with a
// suiteId is gone therefore takes `az role assignment delete` of the Officer assignment by hand.
@description('The role of the app\'s identity on the vault: Secrets Officer when it writes secrets, else Secrets User.')
var appRoleDefinitionId = appWritesSecrets ? secretsOfficerRoleDefinitionId : secretsUserRoleDefinitionId

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Purge protection cannot be turned off again: a deleted vault (and its name) is kept for 90 days.
    enablePurgeProtection: true
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource appSecretsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, appRoleDefinitionId)
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: appRoleDefinitionId
  }
}

resource operatorWritesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, secretsOfficerRoleDefinitionId)
  scope: vault
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: secretsOfficerRoleDefinitionId
  }
}

@description('The vault\'s URI (https://<name>.vault.azure.net/), the app setting KeyVault__Uri.')
output uri string = vault.properties.vaultUri

@description('The name of the role the app\'s identity has on the vault: Key Vault Secrets Officer or Key Vault Secrets User.')
output appRoleName string = appWritesSecrets ? 'Key Vault Secrets Officer' : 'Key Vault Secrets User'
