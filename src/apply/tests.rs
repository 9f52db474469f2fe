//! The executor against the in-process emulator: interrupts stop at a saved point and the next
//! run resumes; a plan made without refresh resolves an interrupted create by its token and
//! never creates it twice; an ambiguous journal is refused before anything is touched.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::cloud::emulated::{client_of, ubuntu_image};
use crate::cloud::{Client, CloudApi, CreateImage};
use crate::emulator::Emulator;
use crate::manifest::model::TOKEN_TAG;
use crate::plan::fixtures::Kinds;
use crate::plan::{Action, PlanOptions};
use crate::state::{LockOptions, PendingEntry, PendingOperation, State};

struct Rig {
    emulator: Emulator,
    dir: tempfile::TempDir,
    client: Arc<Client>,
}

async fn rig(job: Duration) -> Rig {
    let emulator = Emulator::builder()
        .job_duration(job)
        .delete_linger(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let client = Arc::new(client_of(&emulator));
    Rig {
        emulator,
        dir: tempfile::tempdir().unwrap(),
        client,
    }
}

impl Rig {
    fn manifests(&self, keys: &[&str]) -> crate::manifest::model::Manifests {
        let mut yaml = String::from("images:\n");
        for key in keys {
            yaml.push_str(&format!(
                "  {key}:\n    name: {key}\n    image_url: bucket:{key}.qcow2\n    \
                 os_version: Ubuntu 22.04 server 64bit\n    min_disk: 40\n"
            ));
        }
        std::fs::write(self.dir.path().join("images.yaml"), yaml).unwrap();
        crate::manifest::load(&[], self.dir.path(), &crate::manifest::VarInput::default())
            .unwrap()
            .manifests
    }

    fn store(&self) -> Store {
        let lock = LockOptions {
            operation: "test",
            timeout: None,
        };
        Store::open(&self.dir.path().join("imsform.state.json"), lock).unwrap()
    }

    async fn plan(&self, keys: &[&str], refresh: bool) -> (Plan, Store) {
        let store = self.store();
        let manifests = self.manifests(keys);
        let remote = if refresh {
            Some(
                crate::plan::refresh(self.client.as_ref(), store.state(), &manifests)
                    .await
                    .unwrap(),
            )
        } else {
            None
        };
        let plan = crate::plan::plan(
            &manifests,
            store.state(),
            remote.as_ref(),
            &PlanOptions::default(),
        )
        .unwrap();
        (plan, store)
    }

    async fn execute(&self, plan: &Plan, store: Store, shutdown: Shutdown) -> (Report, Store) {
        let options = ApplyOptions {
            parallelism: 1,
            watch: WatchConfig {
                poll_interval: Duration::from_millis(50),
                progress_every: None,
            },
            create_settle: Duration::from_millis(50),
            ..ApplyOptions::default()
        };
        execute(
            plan,
            store,
            self.client.clone(),
            options,
            Arc::new(Silent),
            shutdown,
        )
        .await
        .unwrap()
    }

    /// [`Rig::execute`] with an interrupt (Ctrl-C) requested `after` it starts.
    async fn interrupted(&self, plan: &Plan, store: Store, after: Duration) -> (Report, Store) {
        let (trigger, shutdown) = Shutdown::new();
        let interrupt = async {
            tokio::time::sleep(after).await;
            trigger.request();
        };
        let ((report, store), ()) = tokio::join!(self.execute(plan, store, shutdown), interrupt);
        (report, store)
    }

    fn live(&self) -> usize {
        self.emulator
            .images()
            .iter()
            .filter(|i| i["status"] != "deleted")
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_stops_at_a_saved_point_and_the_next_run_resumes() {
    let rig = rig(Duration::from_millis(800)).await;
    let keys = ["a", "b", "c"];
    let (plan, store) = rig.plan(&keys, true).await;
    let (report, store) = rig
        .interrupted(&plan, store, Duration::from_millis(300))
        .await;
    drop(store);
    assert!(report.interrupted && !report.success(), "{report:?}");
    assert_eq!(report.stopped.len(), 1, "{report:?}");
    assert_eq!(report.not_started.len(), 2, "{report:?}");
    let state = Store::read(&rig.dir.path().join("imsform.state.json"))
        .unwrap()
        .unwrap();
    let [entry] = state.pending.as_slice() else {
        panic!("{:?}", state.pending)
    };
    let PendingOperation::Create {
        image_id, job_id, ..
    } = &entry.operation
    else {
        panic!()
    };
    assert!(
        image_id.is_some() && job_id.is_some(),
        "stopped after the job id was saved"
    );

    let (plan, store) = rig.plan(&keys, true).await;
    assert_eq!(plan.image_recovery().len(), 1);
    let (report, store) = rig.execute(&plan, store, Shutdown::never()).await;
    assert!(report.success(), "{report:?}");
    // The recovered create counts as added, as the plan's `Plan:` line counts it.
    assert_eq!(plan.counts().add, 3);
    assert_eq!(report.added, 3);
    let state = store.state().unwrap();
    assert_eq!(state.images.len(), 3);
    assert!(state.pending.is_empty());
    assert_eq!(rig.live(), 3);
}

/// A state whose journal holds a create that reached IMS but whose id was never saved.
async fn interrupted_create(rig: &Rig, key: &str) -> (String, String) {
    let token = ulid::Ulid::new().to_string();
    let manifests = rig.manifests(&[key]);
    let attributes = manifests.images.values().next().unwrap().attrs.clone();
    let request = CreateImage {
        name: attributes.name.clone(),
        os_version: attributes.os_version.clone(),
        disk_format: attributes.disk_format,
        min_disk: attributes.min_disk,
        min_ram: attributes.min_ram,
        protected: false,
        tags: BTreeMap::from([(TOKEN_TAG.to_owned(), token.clone())]),
    };
    let created = rig.client.create_metadata(&request).await.unwrap();
    let mut store = rig.store();
    let mut state: State = store.state_or_new();
    state.pending.push(PendingEntry {
        address: crate::manifest::model::Address::from_key(key),
        operation: PendingOperation::Create {
            token: token.clone(),
            attributes: Box::new(attributes),
            image_id: None,
            job_id: None,
            replaces: None,
        },
        started_at: "2026-11-22T00:00:00Z".into(),
    });
    store.save(&state).unwrap();
    (token, created.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_refresh_the_token_lookup_adopts_and_never_creates_twice() {
    let rig = rig(Duration::from_millis(100)).await;
    let (_, id) = interrupted_create(&rig, "web").await;
    let (plan, store) = rig.plan(&["web"], false).await;
    assert_eq!(plan.image_recovery()[0].action, RecoveryAction::LookUp);
    assert!(
        plan.image_changes()
            .iter()
            .any(|c| c.action == Action::Create),
        "{plan:?}"
    );
    let (report, store) = rig.execute(&plan, store, Shutdown::never()).await;
    assert!(report.success(), "{report:?}");
    assert_eq!(report.added, 1);
    let state = store.state().unwrap();
    assert_eq!(
        state.images.values().map(|r| &r.id).collect::<Vec<_>>(),
        [&id]
    );
    assert!(state.pending.is_empty());
    assert_eq!(rig.live(), 1, "adopted, not created again");
    let stats = rig.emulator.stats();
    assert_eq!(stats.get("POST /v2/images"), Some(&1), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_journal_is_refused_before_anything_is_touched() {
    let rig = rig(Duration::from_millis(100)).await;
    let (token, _) = interrupted_create(&rig, "web").await;
    let request = CreateImage {
        tags: BTreeMap::from([(TOKEN_TAG.to_owned(), token)]),
        ..ubuntu_image("twin")
    };
    rig.client.create_metadata(&request).await.unwrap();
    let (plan, store) = rig.plan(&["web"], true).await;
    let before = store.state().cloned();
    let options = ApplyOptions::default();
    let error = execute(
        &plan,
        store,
        rig.client.clone(),
        options,
        Arc::new(Silent),
        Shutdown::never(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ApplyError::Ambiguous { .. }), "{error}");
    let after = Store::read(&rig.dir.path().join("imsform.state.json")).unwrap();
    assert_eq!(before, after);
    assert_eq!(rig.live(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_is_adopted_by_its_token_not_sent_again() {
    let rig = rig(Duration::from_millis(100)).await;
    let drop_create = BTreeMap::from([("POST /v2/images".to_owned(), 1)]);
    let faults = crate::emulator::Faults {
        drop_routes: drop_create,
        ..Default::default()
    };
    rig.emulator.set_faults(faults);
    let (plan, store) = rig.plan(&["web"], true).await;
    let (report, store) = rig.execute(&plan, store, Shutdown::never()).await;
    assert!(report.success(), "{report:?}");
    assert_eq!(rig.live(), 1);
    let stats = rig.emulator.stats();
    assert_eq!(
        stats.get("POST /v2/images"),
        Some(&1),
        "never re-sent: {stats:?}"
    );
    let state = store.state().unwrap();
    assert!(state.pending.is_empty());
    let id = &state.images.values().next().unwrap().id;
    assert_eq!(rig.emulator.images()[0]["id"].as_str(), Some(id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_during_recovery_lists_only_planned_work_as_not_started() {
    let rig = rig(Duration::from_millis(800)).await;
    let (plan, store) = rig.plan(&["a"], true).await;
    let (report, store) = rig.execute(&plan, store, Shutdown::never()).await;
    assert!(report.success(), "{report:?}");
    drop(store);
    // `d` was created by an interrupted run and never registered; `e` is new; `a` is in step.
    interrupted_create(&rig, "d").await;
    let (plan, store) = rig.plan(&["a", "d", "e"], true).await;
    let (report, store) = rig
        .interrupted(&plan, store, Duration::from_millis(300))
        .await;
    let address = |key| crate::manifest::model::Address::from_key(key);
    assert!(report.interrupted && !report.success(), "{report:?}");
    assert_eq!(report.stopped.len(), 1, "{report:?}");
    assert_eq!(report.stopped[0].0, address("d"));
    assert_eq!(report.not_started, [address("e")], "no-ops are not work");
    assert!(report.failures.is_empty(), "{report:?}");
    // The journal keeps the recovery for the next run, and the report says so.
    assert_eq!(report.left.len(), 1, "{report:?}");
    assert_eq!(store.state().unwrap().pending.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_whose_recovery_failed_counts_as_one_failure() {
    let rig = rig(Duration::from_millis(100)).await;
    // An interrupted delete of an image IMS refuses to delete (protected, IMG.0028), journaled
    // at an address the plan also creates.
    let request = CreateImage {
        protected: true,
        ..ubuntu_image("guarded")
    };
    let guarded = rig.client.create_metadata(&request).await.unwrap();
    let mut store = rig.store();
    let mut state = store.state_or_new();
    state.pending.push(PendingEntry {
        address: crate::manifest::model::Address::from_key("web"),
        operation: PendingOperation::Delete {
            image_id: guarded.id.clone(),
        },
        started_at: "2026-11-22T00:00:00Z".into(),
    });
    store.save(&state).unwrap();
    drop(store);
    let (plan, store) = rig.plan(&["web"], true).await;
    assert!(
        plan.image_changes()
            .iter()
            .any(|c| c.action == Action::Create)
    );
    let (report, store) = rig.execute(&plan, store, Shutdown::never()).await;
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert!(report.failures[0].1.contains("IMG.0028"), "{report:?}");
    assert!(report.not_started.is_empty(), "{report:?}");
    assert_eq!(
        report.left.len(),
        1,
        "the journal keeps the delete: {report:?}"
    );
    assert!(!report.success());
    assert_eq!(store.state().unwrap().images.len(), 0, "nothing created");
}
