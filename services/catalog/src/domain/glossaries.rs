//! Business glossaries and their terms, related by isA and classifies.

use weft_proto::weft::catalog::v1::{
    CreateGlossaryRequest, CreateGlossaryTermRequest, DeleteGlossaryRequest,
    DeleteGlossaryTermRequest, Glossary, GlossaryTerm, ListGlossariesRequest,
    ListGlossariesResponse, ListGlossaryTermsRequest, ListGlossaryTermsResponse, TermState,
    UpdateGlossaryRequest, UpdateGlossaryTermRequest,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, Violation, fieldmask, validate};
use weft_storage::Conn;

use super::Catalog;
use super::references::check_terms;
use weft_storage::resources::{self, Edit, labels};

const GLOSSARIES: &[&str] = &["glossaries"];
const TERMS: &[&str] = &["glossaries", "terms"];
const GLOSSARY_FIELDS: &[&str] = &["display_name", "description", "owners"];
const TERM_FIELDS: &[&str] = &["display_name", "description", "is_a", "classifies", "state"];
/// Longest isA chain followed when looking for cycles.
const MAX_IS_A_DEPTH: usize = 64;
/// Most terms a glossary holds (display names are checked for uniqueness among them).
const MAX_TERMS: u64 = 100_000;

fn validate_glossary(errors: &mut FieldErrors, glossary: &Glossary) {
    validate::display_name(errors, "glossary.display_name", &glossary.display_name);
    validate::description(errors, "glossary.description", &glossary.description);
    validate::principals(errors, "glossary.owners", &glossary.owners);
}

fn validate_term(errors: &mut FieldErrors, term: &GlossaryTerm) {
    validate::display_name(errors, "term.display_name", &term.display_name);
    validate::description(errors, "term.description", &term.description);
    for (field, names) in [
        ("term.is_a", &term.is_a),
        ("term.classifies", &term.classifies),
    ] {
        for (index, name) in names.iter().enumerate() {
            validate::name(errors, &format!("{field}[{index}]"), name, TERMS);
            if *name == term.name {
                errors.add(
                    format!("{field}[{index}]"),
                    "a term cannot relate to itself",
                );
            }
        }
    }
}

/// References exist, the display name is unique in its glossary, and isA has no cycle.
async fn check_term<C: Conn>(
    conn: &C,
    term: &GlossaryTerm,
    previous: Option<&GlossaryTerm>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    let (old_is_a, old_classifies) =
        previous.map_or((&[][..], &[][..]), |p| (&p.is_a[..], &p.classifies[..]));
    check_terms(conn, &mut errors, "term.is_a", &term.is_a, old_is_a).await?;
    check_terms(
        conn,
        &mut errors,
        "term.classifies",
        &term.classifies,
        old_classifies,
    )
    .await?;
    errors.into_result()?;

    let glossary = term.name.split("/terms/").next().unwrap_or_default();
    let siblings = resources::list::<GlossaryTerm, _>(
        conn,
        vec![resources::parent_is(glossary)],
        None,
        MAX_TERMS,
    )
    .await?;
    if siblings.iter().any(|other| {
        other.name != term.name && other.display_name.eq_ignore_ascii_case(&term.display_name)
    }) {
        return Err(ApiError::AlreadyExists(format!(
            "a term named '{}' in {glossary}",
            term.display_name
        )));
    }

    // Walk isA upwards from the new targets: reaching the term itself would make a cycle.
    let mut frontier: Vec<String> = term.is_a.clone();
    for _ in 0..MAX_IS_A_DEPTH {
        if frontier.is_empty() {
            return Ok(());
        }
        if frontier.contains(&term.name) {
            return Err(ApiError::invalid("term.is_a", "would make an isA cycle"));
        }
        let mut next = Vec::new();
        for name in frontier {
            if let Some(parent) = resources::find::<GlossaryTerm, _>(conn, &name).await? {
                next.extend(parent.is_a);
            }
        }
        frontier = next;
    }
    Err(ApiError::invalid(
        "term.is_a",
        format!("isA chains are limited to {MAX_IS_A_DEPTH} levels"),
    ))
}

impl Catalog {
    pub async fn create_glossary(
        &self,
        caller: &Caller,
        request: CreateGlossaryRequest,
    ) -> Result<Glossary, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "glossary_id", &request.glossary_id);
        match &request.glossary {
            Some(glossary) => validate_glossary(&mut errors, glossary),
            None => errors.add("glossary", "is required"),
        }
        errors.into_result()?;
        let glossary = Glossary {
            name: format!("glossaries/{}", request.glossary_id),
            etag: String::new(),
            ..request.glossary.clone().unwrap_or_default()
        };
        resources::create(
            self.store(),
            actor,
            "CreateGlossary",
            &request.request_id,
            &request,
            move |_| Box::pin(async move { Ok(glossary) }),
        )
        .await
    }

    pub async fn get_glossary(&self, name: &str) -> Result<Glossary, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, GLOSSARIES);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_glossaries(
        &self,
        request: ListGlossariesRequest,
    ) -> Result<ListGlossariesResponse, ApiError> {
        let page = PageRequest::parse(request.page_size, &request.page_token, "glossaries")?;
        let mut glossaries = resources::list::<Glossary, _>(
            self.store().db(),
            vec![],
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut glossaries, |g| &g.name);
        Ok(ListGlossariesResponse {
            glossaries,
            next_page_token,
        })
    }

    pub async fn update_glossary(
        &self,
        caller: &Caller,
        request: UpdateGlossaryRequest,
    ) -> Result<Glossary, ApiError> {
        let actor = caller.subject();
        let Some(input) = request.glossary else {
            return Err(ApiError::invalid("glossary", "is required"));
        };
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "glossary.name", &input.name, GLOSSARIES);
        errors.into_result()?;
        let fields = fieldmask::resolve(request.update_mask.as_ref(), GLOSSARY_FIELDS)?;
        let (name, etag, apply_fields) = (input.name.clone(), input.etag.clone(), fields.clone());
        resources::update(
            self.store(),
            actor,
            Edit::new("UpdateGlossary", &name, &etag).mask(&fields),
            move |_, mut glossary: Glossary| {
                Box::pin(async move {
                    for field in &apply_fields {
                        match *field {
                            "display_name" => glossary.display_name = input.display_name.clone(),
                            "description" => glossary.description = input.description.clone(),
                            "owners" => glossary.owners = input.owners.clone(),
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    let mut errors = FieldErrors::new();
                    validate_glossary(&mut errors, &glossary);
                    errors.into_result()?;
                    Ok(glossary)
                })
            },
        )
        .await
    }

    /// Refused while the glossary has terms.
    pub async fn delete_glossary(
        &self,
        caller: &Caller,
        request: DeleteGlossaryRequest,
    ) -> Result<(), ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, GLOSSARIES);
        errors.into_result()?;
        resources::delete(
            self.store(),
            actor,
            Edit::new("DeleteGlossary", &request.name, &request.etag),
            |conn, glossary: &Glossary| {
                Box::pin(async move {
                    let terms =
                        resources::count_children::<GlossaryTerm, _>(conn, &glossary.name).await?;
                    if terms > 0 {
                        return Err(ApiError::precondition(
                            format!("{} is not empty", glossary.name),
                            vec![Violation {
                                kind: "HAS_TERMS".to_string(),
                                subject: glossary.name.clone(),
                                description: format!("{terms} term(s) must be deleted first"),
                            }],
                        ));
                    }
                    Ok(())
                })
            },
        )
        .await
        .map(drop)
    }

    pub async fn create_glossary_term(
        &self,
        caller: &Caller,
        request: CreateGlossaryTermRequest,
    ) -> Result<GlossaryTerm, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, GLOSSARIES);
        validate::resource_id(&mut errors, "term_id", &request.term_id);
        let term = GlossaryTerm {
            name: format!("{}/terms/{}", request.parent, request.term_id),
            etag: String::new(),
            ..request.term.clone().unwrap_or_default()
        };
        match &request.term {
            Some(_) => validate_term(&mut errors, &term),
            None => errors.add("term", "is required"),
        }
        errors.into_result()?;
        let parent = request.parent.clone();
        resources::create(
            self.store(),
            actor,
            "CreateGlossaryTerm",
            &request.request_id,
            &request,
            move |conn| {
                Box::pin(async move {
                    resources::get::<Glossary, _>(conn, &parent).await?;
                    check_term(conn, &term, None).await?;
                    Ok(term)
                })
            },
        )
        .await
    }

    pub async fn get_glossary_term(&self, name: &str) -> Result<GlossaryTerm, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, TERMS);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_glossary_terms(
        &self,
        request: ListGlossaryTermsRequest,
    ) -> Result<ListGlossaryTermsResponse, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, GLOSSARIES);
        errors.into_result()?;
        let page = PageRequest::parse(request.page_size, &request.page_token, &request.parent)?;
        let mut terms = resources::list::<GlossaryTerm, _>(
            self.store().db(),
            vec![resources::parent_is(&request.parent)],
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut terms, |t| &t.name);
        Ok(ListGlossaryTermsResponse {
            terms,
            next_page_token,
        })
    }

    pub async fn update_glossary_term(
        &self,
        caller: &Caller,
        request: UpdateGlossaryTermRequest,
    ) -> Result<GlossaryTerm, ApiError> {
        let actor = caller.subject();
        let Some(input) = request.term else {
            return Err(ApiError::invalid("term", "is required"));
        };
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "term.name", &input.name, TERMS);
        errors.into_result()?;
        let fields = fieldmask::resolve(request.update_mask.as_ref(), TERM_FIELDS)?;
        let (name, etag, apply_fields) = (input.name.clone(), input.etag.clone(), fields.clone());
        resources::update(
            self.store(),
            actor,
            Edit::new("UpdateGlossaryTerm", &name, &etag).mask(&fields),
            move |conn, mut term: GlossaryTerm| {
                Box::pin(async move {
                    let previous = term.clone();
                    for field in &apply_fields {
                        match *field {
                            "display_name" => term.display_name = input.display_name.clone(),
                            "description" => term.description = input.description.clone(),
                            "is_a" => term.is_a = input.is_a.clone(),
                            "classifies" => term.classifies = input.classifies.clone(),
                            "state" => term.state = input.state,
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    let mut errors = FieldErrors::new();
                    validate_term(&mut errors, &term);
                    errors.into_result()?;
                    check_term(conn, &term, Some(&previous)).await?;
                    Ok(term)
                })
            },
        )
        .await
    }

    /// Refused while a resource or another term refers to the term (disable it instead).
    pub async fn delete_glossary_term(
        &self,
        caller: &Caller,
        request: DeleteGlossaryTermRequest,
    ) -> Result<(), ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, TERMS);
        errors.into_result()?;
        let edit = Edit::new("DeleteGlossaryTerm", &request.name, &request.etag);
        resources::delete(self.store(), actor, edit, |conn, term: &GlossaryTerm| {
            Box::pin(async move {
                let uses = labels::count_references(conn, &term.name).await?;
                if uses > 0 {
                    let description = format!(
                        "{uses} resource(s) or term(s) refer to it; detach it or set its state \
                         to {:?}",
                        TermState::Disabled
                    );
                    return Err(ApiError::precondition(
                        format!("{} is in use", term.name),
                        vec![Violation {
                            kind: "TERM_IN_USE".to_string(),
                            subject: term.name.clone(),
                            description,
                        }],
                    ));
                }
                Ok(())
            })
        })
        .await
        .map(drop)
    }
}
