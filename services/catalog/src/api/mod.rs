//! The catalog's tonic adapter: authenticates (through the interceptor), unwraps the request,
//! calls the domain, and maps `ApiError` to `Status`. No rules live here.

use tonic::{Request, Response, Status};
use weft_proto::weft::catalog::v1::catalog_internal_service_server::CatalogInternalService;
use weft_proto::weft::catalog::v1::catalog_service_server::CatalogService;
use weft_proto::weft::catalog::v1::*;
use weft_proto::weft::common::v1::WatchEventsRequest;
use weft_runtime::interceptors::{CallingService, caller};
use weft_runtime::{Caller, ServiceKind};
use weft_storage::service::{EventStream, watch_events};

use crate::domain::Catalog;

/// `weft.catalog.v1.CatalogService`. RPCs not built yet (data sources) answer UNIMPLEMENTED
/// through the generated defaults.
pub struct CatalogApi {
    catalog: Catalog,
}

impl CatalogApi {
    pub fn new(catalog: Catalog) -> Self {
        Self { catalog }
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn create_domain(
        &self,
        request: Request<CreateDomainRequest>,
    ) -> Result<Response<Domain>, Status> {
        let caller = caller(&request)?;
        let domain = self
            .catalog
            .create_domain(&caller, request.into_inner())
            .await?;
        Ok(Response::new(domain))
    }

    async fn get_domain(
        &self,
        request: Request<GetDomainRequest>,
    ) -> Result<Response<Domain>, Status> {
        Ok(Response::new(
            self.catalog.get_domain(&request.into_inner().name).await?,
        ))
    }

    async fn list_domains(
        &self,
        request: Request<ListDomainsRequest>,
    ) -> Result<Response<ListDomainsResponse>, Status> {
        let caller = caller(&request)?;
        let response = self
            .catalog
            .list_domains(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn update_domain(
        &self,
        request: Request<UpdateDomainRequest>,
    ) -> Result<Response<Domain>, Status> {
        let caller = caller(&request)?;
        let domain = self
            .catalog
            .update_domain(&caller, request.into_inner())
            .await?;
        Ok(Response::new(domain))
    }

    async fn delete_domain(
        &self,
        request: Request<DeleteDomainRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request)?;
        self.catalog
            .delete_domain(&caller, request.into_inner())
            .await?;
        Ok(Response::new(()))
    }

    async fn create_data_product(
        &self,
        request: Request<CreateDataProductRequest>,
    ) -> Result<Response<DataProduct>, Status> {
        let caller = caller(&request)?;
        let product = self
            .catalog
            .create_data_product(&caller, request.into_inner())
            .await?;
        Ok(Response::new(product))
    }

    async fn get_data_product(
        &self,
        request: Request<GetDataProductRequest>,
    ) -> Result<Response<DataProduct>, Status> {
        Ok(Response::new(
            self.catalog
                .get_data_product(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_data_products(
        &self,
        request: Request<ListDataProductsRequest>,
    ) -> Result<Response<ListDataProductsResponse>, Status> {
        let caller = caller(&request)?;
        let response = self
            .catalog
            .list_data_products(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn update_data_product(
        &self,
        request: Request<UpdateDataProductRequest>,
    ) -> Result<Response<DataProduct>, Status> {
        let caller = caller(&request)?;
        let product = self
            .catalog
            .update_data_product(&caller, request.into_inner())
            .await?;
        Ok(Response::new(product))
    }

    async fn delete_data_product(
        &self,
        request: Request<DeleteDataProductRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request)?;
        self.catalog
            .delete_data_product(&caller, request.into_inner())
            .await?;
        Ok(Response::new(()))
    }

    async fn create_tag_key(
        &self,
        request: Request<CreateTagKeyRequest>,
    ) -> Result<Response<TagKey>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .create_tag_key(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_tag_key(
        &self,
        request: Request<GetTagKeyRequest>,
    ) -> Result<Response<TagKey>, Status> {
        Ok(Response::new(
            self.catalog.get_tag_key(&request.into_inner().name).await?,
        ))
    }

    async fn list_tag_keys(
        &self,
        request: Request<ListTagKeysRequest>,
    ) -> Result<Response<ListTagKeysResponse>, Status> {
        Ok(Response::new(
            self.catalog.list_tag_keys(request.into_inner()).await?,
        ))
    }

    async fn update_tag_key(
        &self,
        request: Request<UpdateTagKeyRequest>,
    ) -> Result<Response<TagKey>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .update_tag_key(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn delete_tag_key(
        &self,
        request: Request<DeleteTagKeyRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request)?;
        self.catalog
            .delete_tag_key(&caller, request.into_inner())
            .await?;
        Ok(Response::new(()))
    }

    async fn create_glossary(
        &self,
        request: Request<CreateGlossaryRequest>,
    ) -> Result<Response<Glossary>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .create_glossary(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_glossary(
        &self,
        request: Request<GetGlossaryRequest>,
    ) -> Result<Response<Glossary>, Status> {
        Ok(Response::new(
            self.catalog
                .get_glossary(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_glossaries(
        &self,
        request: Request<ListGlossariesRequest>,
    ) -> Result<Response<ListGlossariesResponse>, Status> {
        Ok(Response::new(
            self.catalog.list_glossaries(request.into_inner()).await?,
        ))
    }

    async fn update_glossary(
        &self,
        request: Request<UpdateGlossaryRequest>,
    ) -> Result<Response<Glossary>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .update_glossary(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn delete_glossary(
        &self,
        request: Request<DeleteGlossaryRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request)?;
        self.catalog
            .delete_glossary(&caller, request.into_inner())
            .await?;
        Ok(Response::new(()))
    }

    async fn create_glossary_term(
        &self,
        request: Request<CreateGlossaryTermRequest>,
    ) -> Result<Response<GlossaryTerm>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .create_glossary_term(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_glossary_term(
        &self,
        request: Request<GetGlossaryTermRequest>,
    ) -> Result<Response<GlossaryTerm>, Status> {
        Ok(Response::new(
            self.catalog
                .get_glossary_term(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_glossary_terms(
        &self,
        request: Request<ListGlossaryTermsRequest>,
    ) -> Result<Response<ListGlossaryTermsResponse>, Status> {
        Ok(Response::new(
            self.catalog
                .list_glossary_terms(request.into_inner())
                .await?,
        ))
    }

    async fn update_glossary_term(
        &self,
        request: Request<UpdateGlossaryTermRequest>,
    ) -> Result<Response<GlossaryTerm>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .update_glossary_term(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn delete_glossary_term(
        &self,
        request: Request<DeleteGlossaryTermRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request)?;
        self.catalog
            .delete_glossary_term(&caller, request.into_inner())
            .await?;
        Ok(Response::new(()))
    }

    async fn create_asset(
        &self,
        request: Request<CreateAssetRequest>,
    ) -> Result<Response<Asset>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .create_asset(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn batch_create_assets(
        &self,
        request: Request<BatchCreateAssetsRequest>,
    ) -> Result<Response<BatchCreateAssetsResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .batch_create_assets(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_asset(
        &self,
        request: Request<GetAssetRequest>,
    ) -> Result<Response<Asset>, Status> {
        Ok(Response::new(
            self.catalog.get_asset(&request.into_inner().name).await?,
        ))
    }

    async fn list_assets(
        &self,
        request: Request<ListAssetsRequest>,
    ) -> Result<Response<ListAssetsResponse>, Status> {
        Ok(Response::new(
            self.catalog.list_assets(request.into_inner()).await?,
        ))
    }

    async fn update_asset(
        &self,
        request: Request<UpdateAssetRequest>,
    ) -> Result<Response<Asset>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .update_asset(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn delete_asset(
        &self,
        request: Request<DeleteAssetRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request)?;
        self.catalog
            .delete_asset(&caller, request.into_inner())
            .await?;
        Ok(Response::new(()))
    }

    async fn list_schema_versions(
        &self,
        request: Request<ListSchemaVersionsRequest>,
    ) -> Result<Response<ListSchemaVersionsResponse>, Status> {
        Ok(Response::new(
            self.catalog
                .list_schema_versions(request.into_inner())
                .await?,
        ))
    }

    async fn get_schema_version(
        &self,
        request: Request<GetSchemaVersionRequest>,
    ) -> Result<Response<SchemaVersion>, Status> {
        Ok(Response::new(
            self.catalog
                .get_schema_version(&request.into_inner().name)
                .await?,
        ))
    }

    async fn diff_schema_versions(
        &self,
        request: Request<DiffSchemaVersionsRequest>,
    ) -> Result<Response<DiffSchemaVersionsResponse>, Status> {
        Ok(Response::new(
            self.catalog
                .diff_schema_versions(request.into_inner())
                .await?,
        ))
    }

    async fn create_metadata_form_type(
        &self,
        request: Request<CreateMetadataFormTypeRequest>,
    ) -> Result<Response<MetadataFormType>, Status> {
        let caller = caller(&request)?;
        let created = self
            .catalog
            .create_metadata_form_type(&caller, request.into_inner())
            .await?;
        Ok(Response::new(created))
    }

    async fn get_metadata_form_type(
        &self,
        request: Request<GetMetadataFormTypeRequest>,
    ) -> Result<Response<MetadataFormType>, Status> {
        Ok(Response::new(
            self.catalog
                .get_metadata_form_type(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_metadata_form_types(
        &self,
        request: Request<ListMetadataFormTypesRequest>,
    ) -> Result<Response<ListMetadataFormTypesResponse>, Status> {
        Ok(Response::new(
            self.catalog
                .list_metadata_form_types(request.into_inner())
                .await?,
        ))
    }

    async fn delete_metadata_form_type(
        &self,
        request: Request<DeleteMetadataFormTypeRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request)?;
        self.catalog
            .delete_metadata_form_type(&caller, request.into_inner())
            .await?;
        Ok(Response::new(()))
    }

    async fn import_data_contract(
        &self,
        request: Request<ImportDataContractRequest>,
    ) -> Result<Response<ImportDataContractResponse>, Status> {
        let caller = caller(&request)?;
        let imported = self
            .catalog
            .import_data_contract(&caller, request.into_inner())
            .await?;
        Ok(Response::new(imported))
    }

    async fn export_data_contract(
        &self,
        request: Request<ExportDataContractRequest>,
    ) -> Result<Response<ExportDataContractResponse>, Status> {
        Ok(Response::new(
            self.catalog
                .export_data_contract(request.into_inner())
                .await?,
        ))
    }

    async fn search(
        &self,
        request: Request<SearchRequest>,
    ) -> Result<Response<SearchResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog.search(&caller, request.into_inner()).await?,
        ))
    }

    async fn publish_data_product(
        &self,
        request: Request<PublishDataProductRequest>,
    ) -> Result<Response<DataProduct>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .publish_data_product(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn deprecate_data_product(
        &self,
        request: Request<DeprecateDataProductRequest>,
    ) -> Result<Response<DataProduct>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .deprecate_data_product(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn retire_data_product(
        &self,
        request: Request<RetireDataProductRequest>,
    ) -> Result<Response<DataProduct>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.catalog
                .retire_data_product(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn list_data_product_revisions(
        &self,
        request: Request<ListDataProductRevisionsRequest>,
    ) -> Result<Response<ListDataProductRevisionsResponse>, Status> {
        Ok(Response::new(
            self.catalog
                .list_data_product_revisions(request.into_inner())
                .await?,
        ))
    }

    async fn get_data_product_revision(
        &self,
        request: Request<GetDataProductRevisionRequest>,
    ) -> Result<Response<DataProductRevision>, Status> {
        Ok(Response::new(
            self.catalog
                .get_data_product_revision(request.into_inner())
                .await?,
        ))
    }
}

/// `weft.catalog.v1.CatalogInternalService`: the outbox stream, and the inherited tags lineage
/// propagates.
pub struct CatalogInternalApi {
    catalog: Catalog,
}

impl CatalogInternalApi {
    pub fn new(catalog: Catalog) -> Self {
        Self { catalog }
    }
}

#[tonic::async_trait]
impl CatalogInternalService for CatalogInternalApi {
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        Ok(Response::new(watch_events(
            self.catalog.store(),
            request.into_inner(),
        )?))
    }

    async fn resolve_locations(
        &self,
        request: Request<ResolveLocationsRequest>,
    ) -> Result<Response<ResolveLocationsResponse>, Status> {
        // Any Weft service may ask (the internal port requires a service certificate).
        if request.extensions().get::<CallingService>().is_none() {
            return Err(Status::unauthenticated("no calling service"));
        }
        let resolved = self
            .catalog
            .resolve_locations(&request.into_inner().locations)
            .await?;
        Ok(Response::new(ResolveLocationsResponse { resolved }))
    }

    async fn set_inherited_tags(
        &self,
        request: Request<SetInheritedTagsRequest>,
    ) -> Result<Response<SetInheritedTagsResponse>, Status> {
        // Inherited tags are lineage's to set; other services have no business with them.
        let caller = match request.extensions().get::<CallingService>() {
            Some(CallingService(ServiceKind::Lineage)) => Caller::service(ServiceKind::Lineage),
            Some(CallingService(other)) => {
                return Err(Status::permission_denied(format!(
                    "only lineage sets inherited tags, not {other}"
                )));
            }
            None => return Err(Status::unauthenticated("no calling service")),
        };
        let updated = self
            .catalog
            .set_inherited_tags(&caller, request.into_inner())
            .await?;
        Ok(Response::new(SetInheritedTagsResponse { updated }))
    }
}
