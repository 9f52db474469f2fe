//! An apply saves each step as the rows that step touched (`Store::change`): after applies
//! that create, destroy and keep images, the rows hold exactly the whole state, the one the
//! cloud and the manifest agree on.

use std::time::Duration;

use crate::env::{PgEnv, manifest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rows_written_step_by_step_hold_the_whole_state() {
    let Some(env) = PgEnv::new(Duration::from_millis(100)).await else {
        return;
    };
    env.manifest(&manifest(&["a", "b", "c", "d"]));
    env.ok(&["apply", "--auto-approve"], 0).await;
    let first = env.state().await;
    env.manifest(&manifest(&["a", "c", "e"]));
    env.ok(&["apply", "--auto-approve"], 0).await;
    let state = env.state().await;
    assert!(state.pending.is_empty(), "{:?}", state.pending);
    assert!(state.serial > first.serial);
    let keys: Vec<String> = state.images.keys().map(ToString::to_string).collect();
    assert_eq!(keys, ["images.a", "images.c", "images.e"]);
    let live = env.live_images();
    assert_eq!(live.len(), 3, "b and d were destroyed: {live:#?}");
    for (address, record) in &state.images {
        let image = &live[&record.id];
        assert_eq!(image["name"], record.attributes.name.as_str(), "{address}");
        assert_eq!(
            format!("images.{}", record.attributes.name),
            address.to_string()
        );
        assert_eq!(
            record.observed.as_ref().map(|o| o.status.as_str()),
            Some("active")
        );
    }
    for kept in ["a", "c"] {
        let address = format!("images.{kept}");
        let id = |state: &imsform::state::State| {
            let found = state.images.iter().find(|(a, _)| a.to_string() == address);
            found.map(|(_, record)| record.id.clone())
        };
        assert_eq!(id(&state), id(&first), "{address} kept its row");
    }
    env.ok(&["plan", "--detailed-exitcode"], 0).await;
}
