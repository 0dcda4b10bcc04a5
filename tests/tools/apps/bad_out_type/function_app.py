"""Rejected: the Cosmos DB output is annotated Out[HttpResponse], a type the cosmosDB binding cannot write."""
from __future__ import annotations

import azure.functions as func

app = func.FunctionApp()


@app.route(route="deliveries", methods=["POST"])
@app.cosmos_db_output(arg_name="doc", connection="CosmosDbConnection",
                      database_name="drone-delivery", container_name="deliveries")
def accept_delivery(req: func.HttpRequest, doc: func.Out[func.HttpResponse]) -> func.HttpResponse:
    """Store the request body and answer 202."""
    doc.set(func.HttpResponse(req.get_body()))
    return func.HttpResponse(status_code=202)
