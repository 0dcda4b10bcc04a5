// Azure resources of the drone-delivery choreography (docs/deploy.md).
//
// One source of truth: every Service Bus queue, topic, subscription and rule, every Cosmos DB container and
// the Event Grid topic and its subscriptions are derived with loops over the files the app ships —
// resources/Config.json, resources/cosmos.json and resources/eventgrid.json, read with loadJsonContent at
// compile time — so devstack, Microsoft's Service Bus emulator and Azure run the same declared topology.
// tests/tools/test_infra.py parses this file with pycep-parser and evaluates those loops over resources/*.json.
//
// Identity: one user-assigned managed identity holding least-privilege data roles (no *Owner* role); local
// (key/SAS) auth is off on Service Bus, Cosmos DB, Event Grid, Storage and Application Insights, so the app
// settings carry only identity-based connections.
//
//   azd up      (azure.yaml: provision, deploy, then a postdeploy hook adds the Event Grid subscriptions)
// or
//   az deployment group create -g <rg> -f infra/main.bicep
//   func azure functionapp publish <AZURE_FUNCTION_APP_NAME output>
//   az deployment group create -g <rg> -f infra/main.bicep -p deployEventSubscription=true
// (an Event Grid subscription with an AzureFunction destination needs the function to exist: a second pass).
//
// API versions, from the Azure resource reference (https://learn.microsoft.com/azure/templates/):
//   Microsoft.ServiceBus/namespaces[/queues|/topics[/subscriptions[/rules]]]@2024-01-01
//   Microsoft.DocumentDB/databaseAccounts[/sqlDatabases[/containers]|/sqlRoleAssignments]@2024-11-15
//   Microsoft.EventGrid/topics[/eventSubscriptions]@2022-06-15
//   Microsoft.Web/serverfarms|sites@2024-04-01 (functionAppConfig: Flex Consumption), as in the Flex
//   Consumption quickstart https://github.com/Azure/azure-quickstart-templates/tree/master/quickstarts/microsoft.web/function-app-flex-managed-identities

@description('Short unique prefix for resource names (lower-case letters and digits, 3-12).')
@minLength(3)
@maxLength(12)
param prefix string = 'dd${take(uniqueString(resourceGroup().id), 10)}'

param location string = resourceGroup().location

@description('Create the Event Grid subscriptions to the app\'s functions (only once the code is published).')
param deployEventSubscription bool = false

@description('Flex Consumption scale-out limit and instance memory (same bounds as the Flex Consumption quickstart).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40
@allowed([ 2048, 4096 ])
param instanceMemoryMB int = 2048

@description('The app\'s tuning settings (docs/app.md "Settings"): production values, the defaults of core/settings.py.')
param appTuning object = {
  FlightTimeScale: '1.0'
  DroneSpeedKmh: '60'
  ReadinessDeadlineSeconds: '300'
  FleetId: 'fleet-1'
  FleetSize: '20'
  FleetBaseLatitude: '47.6097'
  FleetBaseLongitude: '-122.3331'
  MaxPackageWeightKg: '25'
  TransientRetryFirstDelaySeconds: '0.5'
  TransientRetryMaxDelaySeconds: '8'
  TransientRetryBudgetSeconds: '30'
  OutboxRetryFirstDelaySeconds: '5'
  OutboxRetryMaxDelaySeconds: '300'
}

param tags object = {}

// ---- The declared topology (the files devstack provisions from) ---------------------------------------
var serviceBusConfig = loadJsonContent('../resources/Config.json')
var cosmosConfig = loadJsonContent('../resources/cosmos.json')
var eventGridConfig = loadJsonContent('../resources/eventgrid.json')

// One namespace, one database, one topic: the app addresses them by the names in contracts/names.py.
var namespaceConfig = serviceBusConfig.UserConfig.Namespaces[0]
var topicConfigs = namespaceConfig.Topics
var databaseConfig = cosmosConfig.databases[0]
var eventTopicConfig = eventGridConfig.topics[0]

// Subscriptions and rules flattened (Bicep has no nested resource loops); each keeps its parent's index.
var subscriptionConfigs = flatten(map(range(0, length(topicConfigs)), t => map(topicConfigs[t].Subscriptions, sub => {
  topicIndex: t
  name: sub.Name
  properties: sub.Properties
  rules: contains(sub, 'Rules') ? sub.Rules : []
})))
var ruleConfigs = flatten(map(range(0, length(subscriptionConfigs)), s => map(subscriptionConfigs[s].rules, rule => {
  subscriptionIndex: s
  name: rule.Name
  properties: rule.Properties
})))
// In the emulator (and devstack) a subscription that declares rules has only those. Azure always creates
// `$Default` (a TrueFilter) with a subscription
// (https://learn.microsoft.com/dotnet/api/azure.messaging.servicebus.administration.createruleoptions.defaultrulename),
// and a template cannot delete it, so there `$Default` is redefined to match nothing (SQL filter 1=0): the
// rules of a subscription are OR-ed, so only the declared ones let messages in.
var ruledSubscriptionIndexes = filter(range(0, length(subscriptionConfigs)), s => !empty(subscriptionConfigs[s].rules))

// The emulator's Config.json names versus ARM's (rules@2024-01-01: filterType, correlationFilter keys).
// An emulator key missing here fails the deployment at compile time instead of being dropped silently.
var filterTypes = {
  Correlation: 'CorrelationFilter'
  Sql: 'SqlFilter'
}
var correlationKeys = {
  ContentType: 'contentType'
  CorrelationId: 'correlationId'
  Label: 'label'
  MessageId: 'messageId'
  ReplyTo: 'replyTo'
  ReplyToSessionId: 'replyToSessionId'
  SessionId: 'sessionId'
  To: 'to'
  Properties: 'properties'
}

// defaultTtl null in cosmos.json = TTL off = no property (Cosmos DB: absent is off, -1 is on without expiry).
var containerConfigs = map(databaseConfig.containers, container => union({
  id: container.id
  partitionKey: { paths: [ container.partitionKey ], kind: 'Hash', version: 2 }
}, (container.defaultTtl == null) ? {} : { defaultTtl: container.defaultTtl }))

// devstack's Event Grid subscriptions are webhooks to the local host's Event Grid endpoint; in Azure the same
// subscription targets the function named by that URL's `functionName` (an AzureFunction destination).
var eventSubscriptionConfigs = map(eventTopicConfig.subscriptions, sub => {
  name: sub.name
  functionName: last(split(sub.endpointUrl, 'functionName='))
  includedEventTypes: sub.filter.includedEventTypes
  maxDeliveryAttempts: sub.retryPolicy.maxDeliveryAttempts
  eventTimeToLiveInMinutes: sub.retryPolicy.eventTimeToLiveInMinutes
})

// Built-in role definition ids ("Azure built-in roles",
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles; the Cosmos DB data-plane role:
// https://learn.microsoft.com/azure/cosmos-db/how-to-setup-rbac).
var roles = {
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
  cosmosDataContributor: '00000000-0000-0000-0000-000000000002'
  // What the Functions host itself needs (its storage and telemetry), not the app.
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var deploymentContainerName = 'app-package'
var functionAppName = '${prefix}-func'

// ---- Identity, storage, monitoring ---------------------------------------------------------------------
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}-id'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: '${prefix}store'
  location: location
  tags: tags
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // the host and the deployment container use the identity
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Flex Consumption deploys the app package from a blob container.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${prefix}-logs'
  location: location
  tags: tags
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${prefix}-insights'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true // telemetry is sent with the identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)
  }
}

// ---- Service Bus: the namespace and the entities of resources/Config.json -----------------------------
resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: '${prefix}-bus'
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard' } // topics and sessions need Standard
  properties: {
    disableLocalAuth: true // no SAS: the app uses ServiceBusConnection__fullyQualifiedNamespace
    minimumTlsVersion: '1.2'
  }
}

// Emulator PascalCase -> ARM camelCase; durations stay ISO 8601; an empty ForwardTo /
// ForwardDeadLetteredMessagesTo means "none" in the emulator, i.e. no property in ARM.
resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for queue in namespaceConfig.Queues: {
  parent: serviceBus
  name: queue.Name
  properties: {
    deadLetteringOnMessageExpiration: queue.Properties.DeadLetteringOnMessageExpiration
    defaultMessageTimeToLive: queue.Properties.DefaultMessageTimeToLive
    duplicateDetectionHistoryTimeWindow: queue.Properties.DuplicateDetectionHistoryTimeWindow
    forwardDeadLetteredMessagesTo: empty(queue.Properties.ForwardDeadLetteredMessagesTo) ? null : queue.Properties.ForwardDeadLetteredMessagesTo
    forwardTo: empty(queue.Properties.ForwardTo) ? null : queue.Properties.ForwardTo
    lockDuration: queue.Properties.LockDuration
    maxDeliveryCount: queue.Properties.MaxDeliveryCount
    requiresDuplicateDetection: queue.Properties.RequiresDuplicateDetection
    requiresSession: queue.Properties.RequiresSession
  }
}]

resource topics 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = [for topic in topicConfigs: {
  parent: serviceBus
  name: topic.Name
  properties: {
    defaultMessageTimeToLive: topic.Properties.DefaultMessageTimeToLive
    duplicateDetectionHistoryTimeWindow: topic.Properties.DuplicateDetectionHistoryTimeWindow
    requiresDuplicateDetection: topic.Properties.RequiresDuplicateDetection
  }
}]

resource subscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = [for sub in subscriptionConfigs: {
  parent: topics[sub.topicIndex]
  name: sub.name
  properties: {
    deadLetteringOnMessageExpiration: sub.properties.DeadLetteringOnMessageExpiration
    defaultMessageTimeToLive: sub.properties.DefaultMessageTimeToLive
    forwardDeadLetteredMessagesTo: empty(sub.properties.ForwardDeadLetteredMessagesTo) ? null : sub.properties.ForwardDeadLetteredMessagesTo
    forwardTo: empty(sub.properties.ForwardTo) ? null : sub.properties.ForwardTo
    lockDuration: sub.properties.LockDuration
    maxDeliveryCount: sub.properties.MaxDeliveryCount
    requiresSession: sub.properties.RequiresSession
  }
  dependsOn: [ queues ] // forwardTo names a queue, which must exist first
}]

resource rules 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2024-01-01' = [for rule in ruleConfigs: {
  parent: subscriptions[rule.subscriptionIndex]
  name: rule.name
  properties: {
    filterType: filterTypes[rule.properties.FilterType]
    correlationFilter: contains(rule.properties, 'CorrelationFilter') ? toObject(items(rule.properties.CorrelationFilter), entry => correlationKeys[entry.key], entry => entry.value) : null
    sqlFilter: contains(rule.properties, 'SqlFilter') ? { sqlExpression: rule.properties.SqlFilter.SqlExpression } : null
    action: contains(rule.properties, 'Action') ? { sqlExpression: rule.properties.Action.SqlExpression } : null
  }
}]

resource matchNothingDefaultRules 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2024-01-01' = [for s in ruledSubscriptionIndexes: {
  parent: subscriptions[s]
  name: '$Default'
  properties: {
    filterType: 'SqlFilter'
    sqlFilter: { sqlExpression: '1=0' }
  }
}]

// ---- Cosmos DB: the account and the containers of resources/cosmos.json -------------------------------
resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: '${prefix}-cosmos'
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [ { locationName: location, failoverPriority: 0 } ]
    capabilities: [ { name: 'EnableServerless' } ]
    disableLocalAuth: true // no keys: the app uses CosmosDBConnection__accountEndpoint
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: cosmos
  name: databaseConfig.id
  properties: { resource: { id: databaseConfig.id } }
}

resource containers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for container in containerConfigs: {
  parent: database
  name: container.id
  properties: { resource: container }
}]

// ---- Event Grid: the topic of resources/eventgrid.json ------------------------------------------------
resource eventTopic 'Microsoft.EventGrid/topics@2022-06-15' = {
  name: '${prefix}-${eventTopicConfig.name}'
  location: location
  tags: tags
  properties: {
    inputSchema: eventTopicConfig.inputSchema
    disableLocalAuth: true // no topic key: the app publishes with its identity (no EventGridTopicKey)
  }
}

// The loop filters its array rather than using `[for ...: if (...)]`, which pycep-parser 0.7 cannot parse.
resource eventSubscriptions 'Microsoft.EventGrid/topics/eventSubscriptions@2022-06-15' = [for sub in (deployEventSubscription ? eventSubscriptionConfigs : []): {
  parent: eventTopic
  name: sub.name
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: { resourceId: '${functionApp.id}/functions/${sub.functionName}' }
    }
    filter: { includedEventTypes: sub.includedEventTypes }
    retryPolicy: {
      maxDeliveryAttempts: sub.maxDeliveryAttempts
      eventTimeToLiveInMinutes: sub.eventTimeToLiveInMinutes
    }
  }
}]

// ---- The Function App (Flex Consumption, Linux, Python 3.11) -----------------------------------------
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${prefix}-plan'
  location: location
  tags: tags
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  kind: 'functionapp'
  properties: { reserved: true } // Linux
}

// Identity-based connections ("Configure an identity-based connection",
// https://learn.microsoft.com/azure/azure-functions/functions-reference#configure-an-identity-based-connection):
// with a user-assigned identity each binding connection needs <name>__credential = managedidentity and
// <name>__clientId. The app's own SDK clients use DefaultAzureCredential, whose managed-identity step takes
// the user-assigned identity from AZURE_CLIENT_ID. No plain ServiceBusConnection / CosmosDBConnection /
// EventGridTopicKey: adapters/*.py prefer a key form when one is set.
var identitySettings = {
  AZURE_CLIENT_ID: identity.properties.clientId
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  ServiceBusConnection__fullyQualifiedNamespace: '${serviceBus.name}.servicebus.windows.net'
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identity.properties.clientId
  CosmosDBConnection__accountEndpoint: cosmos.properties.documentEndpoint
  CosmosDBConnection__credential: 'managedidentity'
  CosmosDBConnection__clientId: identity.properties.clientId
  CosmosDatabaseName: databaseConfig.id
  EventGridTopicEndpoint: eventTopic.properties.endpoint
}
// The Python worker runs sync functions on a thread pool of min(32, cores + 4) threads unless told otherwise
// ("Improve throughput performance of Python apps", https://learn.microsoft.com/azure/azure-functions/python-scale-performance-reference).
// These functions wait on Cosmos DB and Service Bus, so 16 threads per worker keep the session slots busy
// (docs/app.md "host.json choices": measured 5.0 -> 9.0 deliveries/s with bench/e2e_bench.py).
var workerSettings = {
  PYTHON_THREADPOOL_THREAD_COUNT: '16'
}
var appSettings = union(appTuning, identitySettings, workerSettings)

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, { 'azd-service-name': 'api' }) // azd deploys service `api` (azure.yaml) to this resource
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Flex Consumption takes the runtime here; the FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION
    // app settings are not allowed on it.
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identity.id }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: maximumInstanceCount, instanceMemoryMB: instanceMemoryMB }
      runtime: { name: 'python', version: '3.11' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: map(items(appSettings), setting => {
        name: setting.key
        value: setting.value
      })
    }
  }
  dependsOn: [ storageBlobRole, storageTableRole, deploymentContainer ]
}

// ---- Least-privilege data roles for the identity (never an *Owner* role) ------------------------------
// Service Bus: send (every service reports or announces on the bus) and receive/settle (every trigger), at namespace
// scope because the triggers read the topic's subscriptions, the session queue and their dead-letter queues.
resource busSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: serviceBus
  name: guid(serviceBus.id, identity.id, roles.serviceBusDataSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource busReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: serviceBus
  name: guid(serviceBus.id, identity.id, roles.serviceBusDataReceiver)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Event Grid: publish only, on the one topic.
resource gridSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: eventTopic
  name: guid(eventTopic.id, identity.id, roles.eventGridDataSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventGridDataSender)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Cosmos DB data-plane RBAC is its own resource type, scoped to the one database the app uses.
resource cosmosContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmos.id, identity.id, roles.cosmosDataContributor)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${roles.cosmosDataContributor}'
    principalId: identity.properties.principalId
    scope: '${cosmos.id}/dbs/${databaseConfig.id}'
  }
}

// The host's own storage (AzureWebJobsStorage: host keys, timer schedule locks, diagnostic events) and the
// deployment container. Blob Data Contributor covers blob read/write/lease; Blob Data *Owner*, which the
// Flex quickstart grants, adds only POSIX ACL rights that matter on a hierarchical-namespace account (this
// one is not).
resource storageBlobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageTableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Application Insights with local auth off accepts telemetry only from identities holding this role.
resource insightsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: insights
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// azd stores these in the environment (.azure/<env>/.env); the postdeploy hook in azure.yaml reads them.
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.properties.defaultHostName}'
output SERVICE_BUS_NAMESPACE string = serviceBus.name
output COSMOS_ENDPOINT string = cosmos.properties.documentEndpoint
output EVENT_GRID_TOPIC_ENDPOINT string = eventTopic.properties.endpoint
