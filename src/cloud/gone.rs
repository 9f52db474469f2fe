//! Waiting for deleted images to leave the list (IMS deletes asynchronously), written against
//! the [`CloudApi`] seam only: one `?id=` read when a single image is pending, else one full
//! list for all of them, never one request per image.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use super::{CloudApi, CloudError};

/// Which of `ids` the cloud still lists.
pub(crate) async fn still_listed<C: CloudApi + ?Sized>(
    cloud: &C,
    ids: &[&str],
) -> Result<BTreeSet<String>, CloudError> {
    let listed: BTreeSet<String> = match ids {
        [] => BTreeSet::new(),
        [one] => cloud
            .get_image(one)
            .await?
            .map(|image| image.id)
            .into_iter()
            .collect(),
        _ => cloud
            .list_private_images()
            .await?
            .into_iter()
            .map(|image| image.id)
            .collect(),
    };
    Ok(listed
        .into_iter()
        .filter(|id| ids.contains(&id.as_str()))
        .collect())
}

/// Polls until none of `ids` is listed, at 1 s, 2 s, … up to 10 s intervals, never sleeping
/// past `deadline`; [`CloudError::Timeout`] when it passes.
pub(crate) async fn wait_gone<C: CloudApi + ?Sized>(
    cloud: &C,
    ids: &[String],
    deadline: Instant,
) -> Result<(), CloudError> {
    let started = Instant::now();
    let mut remaining: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut interval = Duration::from_secs(1);
    loop {
        let listed = still_listed(cloud, &remaining).await?;
        remaining.retain(|id| listed.contains(*id));
        if remaining.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(CloudError::Timeout {
                what: format!(
                    "waiting for {} deleted image(s) to disappear",
                    remaining.len()
                ),
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval * 2).min(Duration::from_secs(10));
    }
}
