"""A Python grpcio client generated from proto/ that creates and lists data products through
the Weft gateway. Run by tests/tests/real_tools.rs:

    python3 products_client.py <generated-stubs-dir> <gateway host:port> <token>
"""

import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402

from weft.catalog.v1 import catalog_service_pb2 as catalog  # noqa: E402
from weft.catalog.v1 import catalog_service_pb2_grpc as catalog_grpc  # noqa: E402
from weft.catalog.v1 import data_product_pb2 as products  # noqa: E402
from weft.catalog.v1 import domain_pb2 as domains  # noqa: E402


def main() -> None:
    target, token = sys.argv[2], sys.argv[3]
    metadata = [("authorization", f"Bearer {token}")]
    with grpc.insecure_channel(target) as channel:
        stub = catalog_grpc.CatalogServiceStub(channel)
        stub.CreateDomain(
            catalog.CreateDomainRequest(
                domain_id="marketing", domain=domains.Domain(display_name="Marketing")
            ),
            metadata=metadata,
        )
        for product_id in ("campaigns", "leads"):
            created = stub.CreateDataProduct(
                catalog.CreateDataProductRequest(
                    parent="domains/marketing",
                    data_product_id=product_id,
                    data_product=products.DataProduct(
                        display_name=product_id.title(), owners=["users/python"]
                    ),
                ),
                metadata=metadata,
            )
            assert created.lifecycle_state == products.LIFECYCLE_STATE_DRAFT, created
        listed = stub.ListDataProducts(
            catalog.ListDataProductsRequest(parent="domains/marketing"), metadata=metadata
        )
        names = [p.name for p in listed.data_products]
        assert names == [
            "domains/marketing/dataProducts/campaigns",
            "domains/marketing/dataProducts/leads",
        ], names
        try:
            stub.ListDataProducts(catalog.ListDataProductsRequest(parent="domains/marketing"))
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error
        else:
            raise AssertionError("a call without a token was accepted")
        print("python client ok:", ", ".join(names))


if __name__ == "__main__":
    main()
