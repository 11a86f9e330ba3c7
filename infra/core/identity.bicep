// The one user-assigned managed identity the Function App uses for everything: storage (host and data),
// the deployment package, Key Vault and Application Insights. Its role assignments live next to the
// resources they grant access to (storage.bicep, key-vault.bicep, monitoring.bicep).

import { tagSet } from '../types.bicep'

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for the identity.')
param tags tagSet

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('The identity\'s client id (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
output clientId string = identity.properties.clientId

@description('The identity\'s object (principal) id, the subject of its role assignments.')
output principalId string = identity.properties.principalId
