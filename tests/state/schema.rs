//! `schema/state.schema.json`: the committed file equals what the types generate, the states
//! imsform writes validate against it, and it rejects what the parser rejects.

use imsform::manifest::model::Address;
use imsform::state::{LockOptions, PendingEntry, PendingOperation, State, Store, Taint, schema};
use serde_json::Value;

use crate::support::{Dir, fill, fixture};

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/state.schema.json");

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(SCHEMA_PATH).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn errors(bytes: &[u8]) -> Vec<String> {
    let instance: Value = serde_json::from_slice(bytes).unwrap();
    let validator = validator();
    validator
        .iter_errors(&instance)
        .map(|error| error.to_string())
        .collect()
}

#[test]
fn the_committed_schema_matches_the_types() {
    let generated = schema::generate();
    if std::env::var_os("IMSFORM_WRITE_SCHEMA").is_some() {
        std::fs::write(SCHEMA_PATH, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(SCHEMA_PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/state.schema.json is stale: run IMSFORM_WRITE_SCHEMA=1 cargo test --test state schema"
    );
}

#[test]
fn states_imsform_writes_validate() {
    assert_eq!(errors(&fixture("valid.json")), Vec::<String>::new());
    let dir = Dir::new();
    let options = LockOptions {
        operation: "test",
        timeout: None,
    };
    let mut store = Store::open(&dir.state(), options).unwrap();
    let mut state: State = store.state_or_new();
    fill(&mut state, 3, "marker");
    let first = state.images.values_mut().next().unwrap();
    first.tainted = Some(Taint {
        code: None,
        reason: "killed".to_owned(),
    });
    let attributes = Box::new(first.attributes.clone());
    let address = Address::from_key("new");
    state.pending = vec![
        PendingEntry {
            address: address.clone(),
            operation: PendingOperation::Create {
                token: "01JD2X4Q7Y8Z9A0B1C2D3E4F5G".to_owned(),
                attributes,
                image_id: None,
                job_id: Some("job-1".to_owned()),
                replaces: Some("old-image".to_owned()),
            },
            started_at: "2026-11-22T09:30:00Z".to_owned(),
        },
        PendingEntry {
            address,
            operation: PendingOperation::Delete {
                image_id: "old-image".to_owned(),
            },
            started_at: "2026-11-22T09:31:00Z".to_owned(),
        },
    ];
    store.save(&state).unwrap();
    assert_eq!(
        errors(&std::fs::read(dir.state()).unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn the_schema_rejects_what_the_parser_rejects() {
    let cases = [
        (fixture("bad-address.json"), "images.DB!"),
        (fixture("newer-format.json"), "1 was expected"),
        (fixture("format-0.json"), "1 was expected"),
    ];
    for (bytes, expected) in cases {
        let found = errors(&bytes);
        assert!(
            found.iter().any(|error| error.contains(expected)),
            "{expected}: {found:#?}"
        );
    }
    let text = String::from_utf8(fixture("valid.json")).unwrap();
    let not_uuid = text.replacen("3f1c9a52-8d1e-4c53-9f0e-2a7b6d4e8c10", "not-a-uuid", 1);
    let found = errors(not_uuid.as_bytes());
    assert!(
        found.iter().any(|error| error.contains("not-a-uuid")),
        "{found:#?}"
    );
    let unknown = text.replacen("\"serial\": 7,", "\"serial\": 7, \"outputs\": {},", 1);
    let found = errors(unknown.as_bytes());
    assert!(
        found.iter().any(|error| error.contains("outputs")),
        "{found:#?}"
    );
}
