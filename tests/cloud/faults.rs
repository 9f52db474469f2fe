//! Throttling, 5xx bursts, dropped answers, timeouts, unreachable endpoints, auth failures.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use imsform::cloud::*;
use imsform::emulator::{Emulator, Faults, RateLimit};

use super::*;

#[tokio::test]
async fn throttling_is_retried_within_the_budget_and_honours_retry_after() {
    let faults = Faults {
        rate_limit: Some(RateLimit {
            per_second: 20.0,
            burst: 2.0,
        }),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let cloud = Arc::new(client(&emulator));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let cloud = cloud.clone();
        tasks.spawn(async move { cloud.list_private_images().await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert!(
        total(&emulator) > 6,
        "no 429 was provoked: {:?}",
        emulator.stats()
    );
}

#[tokio::test]
async fn throttling_beyond_the_budget_gives_up_cleanly() {
    let faults = Faults {
        rate_limit: Some(RateLimit {
            per_second: 0.01,
            burst: 1.0,
        }),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let cloud = client(&emulator);
    cloud.list_private_images().await.unwrap();
    let started = std::time::Instant::now();
    let err = cloud.list_private_images().await.unwrap_err();
    // Retry-After (100 s) exceeds the 5 s budget: give up at once, do not sleep past it.
    assert!(started.elapsed() < Duration::from_secs(2));
    let CloudError::BudgetExhausted { attempts, last } = &err else {
        panic!("{err}")
    };
    assert_eq!(*attempts, 1);
    assert_eq!(last.code(), Some("APIG.0308"));
    assert!(err.to_string().contains("APIG.0308"), "{err}");
}

#[tokio::test]
async fn job_flow_control_is_retried_until_a_slot_frees() {
    let faults = Faults {
        max_running_jobs: Some(1),
        ..Faults::default()
    };
    let emulator = start(
        Emulator::builder()
            .faults(faults)
            .job_duration(Duration::from_millis(300)),
    )
    .await;
    let cloud = client(&emulator);
    let first = cloud.create_metadata(&create("a", "TA")).await.unwrap();
    let second = cloud.create_metadata(&create("b", "TB")).await.unwrap();
    cloud.register(&first.id, URL).await.unwrap();
    let started = std::time::Instant::now();
    cloud.register(&second.id, URL).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(count(&emulator, "PUT /v1/cloudimages/{image_id}/upload") > 2);
}

#[tokio::test]
async fn server_error_bursts_are_retried_for_reads_only() {
    let faults = Faults {
        error_rate: 0.5,
        seed: Some(7),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let cloud = client(&emulator);
    for _ in 0..10 {
        cloud.list_private_images().await.unwrap();
    }
    assert!(total(&emulator) > 10, "no 5xx was provoked");

    emulator.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let err = cloud.get_image("nope").await.unwrap_err();
    let CloudError::BudgetExhausted { attempts, .. } = err else {
        panic!("{err}")
    };
    assert!(attempts > 3, "{attempts}");
    let before = total(&emulator);
    let err = cloud.create_metadata(&create("c", "TC")).await.unwrap_err();
    assert!(matches!(err, CloudError::OutcomeUnknown { .. }), "{err}");
    assert_eq!(total(&emulator), before + 1, "a create must not be re-sent");
}

#[tokio::test]
async fn a_lost_create_is_not_resent_and_is_found_by_its_token() {
    let faults = Faults {
        drop_routes: BTreeMap::from([
            ("POST /v2/images".to_owned(), 1),
            ("GET /v2/cloudimages".to_owned(), 2),
        ]),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let cloud = client(&emulator);
    let err = cloud
        .create_metadata(&create("lost", "01LOST"))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::OutcomeUnknown { .. }), "{err}");
    assert!(err.to_string().contains("not re-sent"), "{err}");
    assert_eq!(count(&emulator, "POST /v2/images"), 1);
    // Reads are idempotent: two dropped answers, then the third attempt succeeds.
    let found = cloud.find_by_tag("imsform-token", "01LOST").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "lost");
    assert_eq!(count(&emulator, "GET /v2/cloudimages"), 3);
}

#[tokio::test]
async fn a_wrong_secret_fails_clearly_after_exactly_one_request() {
    let emulator = start(Emulator::builder()).await;
    let wrong = Credentials::ak_sk(emulator.access_key(), "not-the-secret");
    let cloud = Client::new(&config(&emulator, true), wrong, options()).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, CloudError::Auth { status: 401, .. }),
        "{text}"
    );
    assert!(
        text.starts_with(
            "the cloud rejected the request signature: check HW_SECRET_KEY (APIG.0301"
        ),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"));
    assert_eq!(total(&emulator), 1);
}

#[tokio::test]
async fn tokens_temporary_credentials_and_clock_skew() {
    let emulator = start(
        Emulator::builder()
            .auth_token("good-token")
            .expired_token("old-token")
            .temporary_credentials("TMPAK", "TMPSK", "SECTOKEN"),
    )
    .await;
    let with = |credentials| Client::new(&config(&emulator, true), credentials, options()).unwrap();
    with(Credentials::Token {
        token: "good-token".into(),
    })
    .list_private_images()
    .await
    .unwrap();
    let err = with(Credentials::Token {
        token: "old-token".into(),
    })
    .list_private_images()
    .await
    .unwrap_err();
    assert!(err.to_string().contains("HW_AUTH_TOKEN"), "{err}");
    assert_eq!(total(&emulator), 2);
    with(Credentials::AkSk {
        access_key: "TMPAK".into(),
        secret_key: "TMPSK".into(),
        security_token: Some("SECTOKEN".into()),
    })
    .list_private_images()
    .await
    .unwrap();

    let mut skewed = options();
    skewed.clock = Arc::new(|| Utc::now() - chrono::Duration::hours(1));
    let cloud = Client::new(&config(&emulator, true), aksk(&emulator), skewed).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    assert!(err.to_string().contains("clock"), "{err}");
}

#[tokio::test]
async fn slow_answers_time_out_per_attempt() {
    let faults = Faults {
        latency_ms: 400,
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let mut options = options();
    options.retry.attempt_timeout = Duration::from_millis(100);
    options.retry.budget = Duration::from_millis(500);
    let cloud = Client::new(&config(&emulator, true), aksk(&emulator), options).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    let CloudError::BudgetExhausted { attempts, last } = &err else {
        panic!("{err}")
    };
    assert!(*attempts > 1, "{attempts}");
    assert!(matches!(**last, CloudError::Timeout { .. }), "{last}");
    let err = cloud.create_metadata(&create("t", "TT")).await.unwrap_err();
    assert!(matches!(err, CloudError::OutcomeUnknown { .. }), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_then_named() {
    let emulator = start(Emulator::builder()).await;
    let config = config(&emulator, true);
    let credentials = aksk(&emulator);
    emulator.shutdown().await;
    let mut options = options();
    options.retry.budget = Duration::from_millis(200);
    let cloud = Client::new(&config, credentials, options).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    let CloudError::BudgetExhausted { attempts, last } = &err else {
        panic!("{err}")
    };
    assert!(*attempts > 1, "{attempts}");
    assert!(matches!(**last, CloudError::Transport { .. }), "{last}");
    assert!(err.to_string().contains("cannot reach 127.0.0.1:"), "{err}");
    // A create that never left this machine is safe to retry: still a transport failure.
    let err = cloud.create_metadata(&create("x", "TX")).await.unwrap_err();
    assert!(matches!(err, CloudError::BudgetExhausted { .. }), "{err}");
}

#[tokio::test]
async fn https_is_spoken_with_rustls_even_when_insecure() {
    let emulator = start(Emulator::builder()).await;
    let mut config = config(&emulator, true);
    // The emulator speaks plain HTTP: a TLS handshake with it must fail, verified or not.
    config.endpoint = Some(emulator.uri().replace("http://", "https://"));
    for insecure in [false, true] {
        config.insecure = insecure;
        let mut options = options();
        options.retry.budget = Duration::from_millis(100);
        let cloud = Client::new(&config, aksk(&emulator), options).unwrap();
        let err = cloud.list_private_images().await.unwrap_err();
        let CloudError::BudgetExhausted { last, .. } = &err else {
            panic!("{err}")
        };
        assert!(matches!(**last, CloudError::Transport { .. }), "{last}");
    }
    assert_eq!(
        total(&emulator),
        0,
        "no HTTP request may reach a TLS-less server"
    );
}
