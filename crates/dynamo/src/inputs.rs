//! What a job makes its images from beyond the prompt (`artforge_domain::edit::JobInputs`), as
//! attributes of the job item: `editSources` (a list of `{key, format, ref}`, the first the
//! one edited), `editMask` (`{key, format}`) and `remixOf`. Absent on plain generations.

use std::collections::HashMap;

use artforge_domain::{
    ImageFormat, StoreError,
    edit::{Edit, JobInputs, SourceFile, SourceRef},
};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::attrs::{self, Item};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("job item: {what}"))
}

fn file_value(file: &SourceFile, reference: Option<SourceRef>) -> AttributeValue {
    let mut map = HashMap::from([
        ("key".to_owned(), attrs::s(&file.key)),
        ("format".to_owned(), attrs::s(file.format.as_str())),
    ]);
    if let Some(reference) = reference {
        map.insert("ref".to_owned(), attrs::s(reference.to_text()));
    }
    AttributeValue::M(map)
}

fn file_from(
    value: &AttributeValue,
    what: &str,
) -> Result<(SourceFile, Option<SourceRef>), StoreError> {
    let map = value.as_m().map_err(|_| corrupt(what))?;
    let text = |name: &str| map.get(name).and_then(|v| v.as_s().ok());
    let key = text("key").ok_or_else(|| corrupt(what))?.to_owned();
    let format = text("format")
        .and_then(|f| ImageFormat::parse(f, "format").ok())
        .ok_or_else(|| corrupt(what))?;
    let reference = match text("ref") {
        None => None,
        Some(r) => Some(SourceRef::from_text(r).ok_or_else(|| corrupt(what))?),
    };
    Ok((SourceFile { key, format }, reference))
}

/// The attributes that store `inputs` on the job item.
pub(crate) fn write(inputs: &JobInputs, item: &mut Item) {
    if let Some(edit) = &inputs.edit {
        let sources = edit
            .sources
            .iter()
            .zip(edit.refs.iter())
            .map(|(file, reference)| file_value(file, Some(*reference)))
            .collect();
        item.insert("editSources".into(), AttributeValue::L(sources));
        if let Some(mask) = &edit.mask {
            item.insert("editMask".into(), file_value(mask, None));
        }
    }
    if let Some(remixed) = inputs.remix_of {
        item.insert("remixOf".into(), attrs::s(remixed.to_string()));
    }
}

/// The inputs a job item stores (none on jobs written before edits).
pub(crate) fn read(item: &Item) -> Result<JobInputs, StoreError> {
    let edit = match item.get("editSources") {
        None => None,
        Some(list) => {
            let list = list.as_l().map_err(|_| corrupt("editSources"))?;
            let mut sources = Vec::with_capacity(list.len());
            let mut refs = Vec::with_capacity(list.len());
            for value in list {
                let (file, reference) = file_from(value, "editSources")?;
                sources.push(file);
                refs.push(reference.ok_or_else(|| corrupt("editSources"))?);
            }
            let first = *refs.first().ok_or_else(|| corrupt("editSources"))?;
            let mask = match item.get("editMask") {
                None => None,
                Some(value) => Some(file_from(value, "editMask")?.0),
            };
            Some(Edit {
                sources,
                mask,
                first,
                refs,
            })
        }
    };
    let remix_of = match attrs::get_opt_s(item, "remixOf")? {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| corrupt("remixOf"))?),
    };
    Ok(JobInputs { edit, remix_of })
}
