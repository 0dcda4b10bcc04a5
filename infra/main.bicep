// Azure resources of the drone-delivery choreography: the same topology resources/Config.json,
// resources/cosmos.json and resources/eventgrid.json declare for devstack, plus the Function App.
// Identity-based connections for the app's services (only AzureWebJobsStorage uses a key): the app reads
// ServiceBusConnection__fullyQualifiedNamespace, CosmosDBConnection__accountEndpoint and, with no
// EventGridTopicKey, authenticates to Event Grid with its managed identity.
//
//   az deployment group create -g <rg> -f infra/main.bicep -p prefix=<unique>
//   func azure functionapp publish <prefix>-func
//   az deployment group create -g <rg> -f infra/main.bicep -p prefix=<unique> deployEventSubscription=true
// (the Event Grid subscription needs the notify_owner function to exist, hence the second pass).

@description('Short unique prefix for resource names (lower-case letters and digits).')
@minLength(3)
@maxLength(12)
param prefix string

param location string = resourceGroup().location

@description('Create the Event Grid subscription to the notify_owner function (after the code is published).')
param deployEventSubscription bool = false

var databaseName = 'drone-delivery'
var containers = [
  { name: 'requests', partitionKey: '/id' }
  { name: 'packages', partitionKey: '/id' }
  { name: 'drones', partitionKey: '/fleetId' }
  { name: 'deliveries', partitionKey: '/id' }
  { name: 'deadletters', partitionKey: '/id' }
  { name: 'notifications', partitionKey: '/id' }
]
var stepSubscriptionProperties = {
  lockDuration: 'PT1M'
  maxDeliveryCount: 10
  deadLetteringOnMessageExpiration: true
  defaultMessageTimeToLive: 'PT1H'
}
// Built-in role definition ids (Azure RBAC docs, "Azure built-in roles").
var serviceBusDataOwner = '090c5cfd-751d-490a-894a-3ce6f1109419'
var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002' // Cosmos DB Built-in Data Contributor

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: '${prefix}store'
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: { minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${prefix}-insights'
  location: location
  kind: 'web'
  properties: { Application_Type: 'web' }
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: '${prefix}-bus'
  location: location
  sku: { name: 'Standard', tier: 'Standard' } // topics need Standard
}

resource inbox 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: 'delivery-inbox'
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    deadLetteringOnMessageExpiration: true
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'PT1H'
  }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: serviceBus
  name: 'deliveries'
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    defaultMessageTimeToLive: 'PT1H'
  }
}

resource packageSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: topic
  name: 'package'
  properties: stepSubscriptionProperties
}

resource droneSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: topic
  name: 'drone-scheduler'
  properties: stepSubscriptionProperties
}

resource deliverySubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: topic
  name: 'delivery'
  properties: union(stepSubscriptionProperties, { forwardTo: inbox.name })
}

// Naming the rule $Default replaces the TrueFilter a new subscription gets, so only requests are forwarded.
resource deliveryRule 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2022-10-01-preview' = {
  parent: deliverySubscription
  name: '$Default'
  properties: {
    filterType: 'CorrelationFilter'
    correlationFilter: { label: 'DeliveryRequested' }
  }
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: '${prefix}-cosmos'
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [ { locationName: location, failoverPriority: 0 } ]
    capabilities: [ { name: 'EnableServerless' } ]
    disableLocalAuth: true
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: cosmos
  name: databaseName
  properties: { resource: { id: databaseName } }
}

resource cosmosContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = [for c in containers: {
  parent: database
  name: c.name
  properties: {
    resource: {
      id: c.name
      partitionKey: { paths: [ c.partitionKey ], kind: 'Hash', version: 2 }
    }
  }
}]

resource eventTopic 'Microsoft.EventGrid/topics@2022-06-15' = {
  name: '${prefix}-delivery-events'
  location: location
  properties: { inputSchema: 'EventGridSchema', disableLocalAuth: true }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${prefix}-plan'
  location: location
  sku: { name: 'Y1', tier: 'Dynamic' }
  kind: 'functionapp'
  properties: { reserved: true } // Linux
}

resource functionApp 'Microsoft.Web/sites@2023-12-01' = {
  name: '${prefix}-func'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'Python|3.11'
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'python' }
        // A connection string: `func azure functionapp publish` uploads the package with the storage key.
        { name: 'AzureWebJobsStorage', value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: '${serviceBus.name}.servicebus.windows.net' }
        { name: 'CosmosDBConnection__accountEndpoint', value: cosmos.properties.documentEndpoint }
        { name: 'CosmosDatabaseName', value: databaseName }
        { name: 'EventGridTopicEndpoint', value: eventTopic.properties.endpoint }
        { name: 'FlightTimeScale', value: '1.0' }
        { name: 'ReadinessDeadlineSeconds', value: '300' }
      ]
    }
  }
}

var principalId = functionApp.identity.principalId

resource busRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: serviceBus
  name: guid(serviceBus.id, functionApp.id, serviceBusDataOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource gridRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: eventTopic
  name: guid(eventTopic.id, functionApp.id, eventGridDataSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Cosmos DB data-plane RBAC is its own resource type, not Microsoft.Authorization.
resource cosmosRole 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: cosmos
  name: guid(cosmos.id, functionApp.id, cosmosDataContributor)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    principalId: principalId
    scope: cosmos.id
  }
}

resource notifications 'Microsoft.EventGrid/topics/eventSubscriptions@2022-06-15' = if (deployEventSubscription) {
  parent: eventTopic
  name: 'notifications'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: { resourceId: '${functionApp.id}/functions/notify_owner' }
    }
    filter: {
      includedEventTypes: [
        'Fabrikam.DroneDelivery.DeliveryShipped'
        'Fabrikam.DroneDelivery.DeliveryFailed'
        'Fabrikam.DroneDelivery.DeliveryCancelled'
      ]
    }
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
  }
}

output functionAppName string = functionApp.name
output serviceBusNamespace string = serviceBus.name
output eventGridTopicEndpoint string = eventTopic.properties.endpoint
