// A fixed outbound IP address for WeCom's trusted-IP rule (企业可信IP): a virtual network whose subnet is
// delegated to Microsoft.App/environments (what Flex Consumption's VNet integration requires), and a NAT gateway
// with a Standard static public IP on that subnet. With the Function App integrated into the subnet, its
// outbound calls leave through the NAT gateway, so WeCom sees this one address.
// With privateNetworking, the network also gets a second subnet for the private endpoints of storage and Key Vault
// (private-endpoints.bicep): a subnet delegated to Microsoft.App/environments cannot hold private endpoints.
// main.bicep deploys this module only when staticEgressIp is true.

import { tagSet } from '../types.bicep'

@description('Name of the virtual network.')
param virtualNetworkName string

@description('Name of the NAT gateway.')
param natGatewayName string

@description('Name of the public IP address.')
param publicIpName string

@description('Azure region.')
param location string

@description('Tags for the network resources.')
param tags tagSet

@description('Address space of the virtual network.')
param addressPrefix string = '10.0.0.0/16'

@description('Address range of the Function App\'s integration subnet.')
param subnetPrefix string = '10.0.0.0/24'

@description('Address range of the private endpoints\' subnet (only with privateEndpoints).')
param privateEndpointSubnetPrefix string = '10.0.1.0/24'

@description('true: add the subnet for the private endpoints of storage and Key Vault.')
param privateEndpoints bool = false

@description('Name of the Function App\'s integration subnet.')
var subnetName = 'function-app'

@description('Name of the private endpoints\' subnet.')
var privateEndpointSubnetName = 'private-endpoints'

@description('The private endpoints\' subnet, when there is one: not delegated, network policies off for private endpoints.')
var privateEndpointSubnets = privateEndpoints
  ? [
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  : []

resource publicIp 'Microsoft.Network/publicIPAddresses@2026-03-01' = {
  name: publicIpName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Regional'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
  }
}

resource natGateway 'Microsoft.Network/natGateways@2026-03-01' = {
  name: natGatewayName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [
      {
        id: publicIp.id
      }
    ]
  }
}

resource virtualNetwork 'Microsoft.Network/virtualNetworks@2026-03-01' = {
  name: virtualNetworkName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: concat([
      {
        name: subnetName
        properties: {
          addressPrefix: subnetPrefix
          natGateway: {
            id: natGateway.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ], privateEndpointSubnets)
  }

  resource subnet 'subnets' existing = {
    name: subnetName
  }

  resource privateEndpointSubnet 'subnets' existing = {
    name: privateEndpointSubnetName
  }
}

@description('Resource id of the subnet the Function App integrates with.')
output subnetId string = virtualNetwork::subnet.id

@description('Resource id of the private endpoints\' subnet; empty without privateEndpoints.')
output privateEndpointSubnetId string = privateEndpoints ? virtualNetwork::privateEndpointSubnet.id : ''

@description('Resource id of the virtual network (for the private DNS zones\' links).')
output virtualNetworkId string = virtualNetwork.id

@description('The static public IP address WeCom sees; add it to the WeCom app\'s trusted IPs (企业可信IP).')
output ipAddress string = publicIp.properties.ipAddress
