"""Sends a three-job pipeline to Weft's gateway with the real openlineage-python client (HTTP
transport, bearer token, one event gzip-compressed), then drives the transport's edge cases with
plain HTTP: a batch with an invalid event, a malformed body, no token, the token of a user who
is not a lineage producer. Prints one JSON object with what the server answered; the Rust test
checks it and the stored graph over gRPC.

usage: openlineage_pipeline.py <gateway url> <producer's token> <another user's token>
"""

import gzip
import json
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import error_message_run, schema_dataset
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

URL, TOKEN, NOT_PRODUCER_TOKEN = sys.argv[1], sys.argv[2], sys.argv[3]
PRODUCER = "https://weft.test/python-client"
SHOP = "postgres://db.example:5432"
WAREHOUSE = "postgres://dw.example:5432"
RUN_IDS = {
    "py_extract": "0194a0b0-0000-7000-8000-0000000000a1",
    "py_mask": "0194a0b0-0000-7000-8000-0000000000a2",
    "py_revenue": "0194a0b0-0000-7000-8000-0000000000a3",
}
START = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def schema(*names):
    return {
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="string") for n in names]
        )
    }


def column_lineage(mapping):
    """mapping: output field -> (namespace, name, field, subtype, masking)"""
    return cl.ColumnLineageDatasetFacet(
        fields={
            out: cl.Fields(
                inputFields=[
                    cl.InputField(
                        namespace=ns,
                        name=name,
                        field=field,
                        transformations=[cl.Transformation(type="DIRECT", subtype=subtype, masking=masking)],
                    )
                ]
            )
            for out, (ns, name, field, subtype, masking) in mapping.items()
        }
    )


STEPS = [
    ("py_extract", (SHOP, "shop.public.customers"), ("id", "email"), "py.raw_customers", ("id", "email"),
     {"id": (SHOP, "shop.public.customers", "id", "IDENTITY", False),
      "email": (SHOP, "shop.public.customers", "email", "IDENTITY", False)}),
    ("py_mask", (WAREHOUSE, "py.raw_customers"), ("id", "email"), "py.clean_customers", ("id", "email_hash"),
     {"id": (WAREHOUSE, "py.raw_customers", "id", "IDENTITY", False),
      "email_hash": (WAREHOUSE, "py.raw_customers", "email", "TRANSFORMATION", True)}),
    ("py_revenue", (WAREHOUSE, "py.raw_customers"), ("id", "email"), "py.customer_count", ("n", "contact"),
     {"n": (WAREHOUSE, "py.raw_customers", "id", "AGGREGATION", False),
      "contact": (WAREHOUSE, "py.raw_customers", "email", "IDENTITY", False)}),
]


def events():
    out = []
    for index, (job, (in_ns, in_name), in_fields, output, out_fields, mapping) in enumerate(STEPS):
        run_id = RUN_IDS[job]
        inputs = [InputDataset(namespace=in_ns, name=in_name, facets=schema(*in_fields))]
        facets = schema(*out_fields)
        facets["columnLineage"] = column_lineage(mapping)
        outputs = [OutputDataset(namespace=WAREHOUSE, name=output, facets=facets)]
        started = START + timedelta(hours=index)
        out.append(RunEvent(eventType=RunState.START, eventTime=started.isoformat(), run=Run(runId=run_id),
                            job=Job(namespace="py", name=job), producer=PRODUCER, inputs=inputs, outputs=outputs))
        if job == "py_revenue":
            failed = Run(runId=run_id, facets={"errorMessage": error_message_run.ErrorMessageRunFacet(
                message="relation py.raw_customers is locked", programmingLanguage="SQL")})
            out.append(RunEvent(eventType=RunState.FAIL, eventTime=(started + timedelta(seconds=42)).isoformat(),
                                run=failed, job=Job(namespace="py", name=job), producer=PRODUCER,
                                inputs=inputs, outputs=outputs))
        else:
            out.append(RunEvent(eventType=RunState.COMPLETE, eventTime=(started + timedelta(minutes=3)).isoformat(),
                                run=Run(runId=run_id), job=Job(namespace="py", name=job), producer=PRODUCER,
                                inputs=inputs, outputs=outputs))
    return out


def client(compression=None):
    config = HttpConfig(url=URL, auth=ApiKeyTokenProvider({"apiKey": TOKEN}), compression=compression)
    return OpenLineageClient(transport=HttpTransport(config))


def post(path, body, token=TOKEN, headers=None):
    request = urllib.request.Request(URL + path, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def main():
    from openlineage.client.serde import Serde

    all_events = events()
    plain, compressed = client(), client(HttpCompression.GZIP)
    for index, event in enumerate(all_events):
        (compressed if index == 0 else plain).emit(event)

    valid = json.loads(Serde.to_json(all_events[0]))
    invalid = dict(valid, run={"runId": "not-a-uuid"})
    batch_status, batch_body = post("/api/v1/lineage/batch", json.dumps([valid, invalid, valid]).encode())
    gz_status, _ = post("/api/v1/lineage/batch", gzip.compress(json.dumps([valid]).encode()),
                        headers={"Content-Encoding": "gzip"})
    bad_status, bad_body = post("/api/v1/lineage", json.dumps(invalid).encode())
    not_json_status, _ = post("/api/v1/lineage", b"{oops")
    not_array_status, _ = post("/api/v1/lineage/batch", json.dumps(valid).encode())
    anonymous_status, _ = post("/api/v1/lineage", json.dumps(valid).encode(), token=None)
    forged_status, _ = post("/api/v1/lineage", json.dumps(valid).encode(), token="forged")
    not_producer_status, _ = post("/api/v1/lineage", json.dumps(valid).encode(),
                                  token=NOT_PRODUCER_TOKEN)
    not_producer_batch_status, _ = post("/api/v1/lineage/batch", json.dumps([valid]).encode(),
                                        token=NOT_PRODUCER_TOKEN)
    print(json.dumps({
        "emitted": len(all_events),
        "batch": [batch_status, json.loads(batch_body)],
        "gzip_batch": gz_status,
        "invalid_single": [bad_status, json.loads(bad_body)],
        "not_json": not_json_status,
        "not_array": not_array_status,
        "anonymous": anonymous_status,
        "forged": forged_status,
        "not_producer": [not_producer_status, not_producer_batch_status],
    }))


if __name__ == "__main__":
    main()
