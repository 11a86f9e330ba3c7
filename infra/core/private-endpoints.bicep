// Storage (blob, queue, table) and Key Vault behind private endpoints, for privateNetworking: one private endpoint
// per service in the virtual network's private-endpoints subnet, and one private DNS zone per service
// (privatelink.<service>...), linked to the virtual network, in which each endpoint's DNS zone group registers the
// private address. The Function App, integrated into the same network, then resolves the account's and the vault's
// usual names (<account>.blob.core.windows.net, <vault>.vault.azure.net) to those private addresses, while
// storage.bicep and key-vault.bicep turn public network access off. No Azure Files share: Flex Consumption does not
// use one. main.bicep deploys this module only when privateNetworking (and with it staticEgressIp) is true.

import { tagSet } from '../types.bicep'

@description('Name of the storage account (created by storage.bicep).')
param storageAccountName string

@description('Name of the Key Vault (created by key-vault.bicep).')
param keyVaultName string

@description('Resource id of the virtual network the DNS zones are linked to.')
param virtualNetworkId string

@description('Resource id of the subnet the private endpoints are placed in.')
param subnetId string

@description('Azure region of the private endpoints.')
param location string

@description('Tags for the endpoints and zones.')
param tags tagSet

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

// The private-link sub-resource (groupId) of each service and the name of its private DNS zone. Storage's zones
// follow the cloud's storage suffix (core.windows.net in Azure's public cloud); Key Vault's is vaultcore.
@description('One private endpoint and DNS zone per service: blob, queue and table of the storage account, and the vault.')
var services = [
  { groupId: 'blob', zone: 'privatelink.blob.${environment().suffixes.storage}', resourceName: storageAccountName }
  { groupId: 'queue', zone: 'privatelink.queue.${environment().suffixes.storage}', resourceName: storageAccountName }
  { groupId: 'table', zone: 'privatelink.table.${environment().suffixes.storage}', resourceName: storageAccountName }
  { groupId: 'vault', zone: 'privatelink.vaultcore.azure.net', resourceName: keyVaultName }
]

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for service in services: {
    name: service.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (service, i) in services: {
    parent: zones[i]
    name: 'vnet-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: virtualNetworkId
      }
    }
  }
]

resource endpoints 'Microsoft.Network/privateEndpoints@2026-03-01' = [
  for service in services: {
    name: 'pe-${service.resourceName}-${service.groupId}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: subnetId
      }
      privateLinkServiceConnections: [
        {
          name: service.groupId
          properties: {
            privateLinkServiceId: service.groupId == 'vault' ? vault.id : storage.id
            groupIds: [
              service.groupId
            ]
          }
        }
      ]
    }
  }
]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2026-03-01' = [
  for (service, i) in services: {
    parent: endpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: replace(service.zone, '.', '-')
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]
