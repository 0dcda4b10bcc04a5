"""The Cosmos DB NoSQL REST wire protocol on aiohttp: routing, master-key auth, headers, error mapping."""
