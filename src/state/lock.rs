//! The state lock: an OS lock on `imsform.state.json.lock` plus the holder's info in that file.
//!
//! # Contract
//!
//! - **Mutual exclusion** comes only from the OS lock (`flock(2)` through `File::try_lock`), held
//!   for as long as the [`LockGuard`] lives. The kernel drops it when the holder's process dies,
//!   however it dies, so a killed holder never blocks the next run.
//! - **Holder info** (`{id, operation, who, pid, created}` as JSON) is written into the lock file
//!   right after the OS lock is taken and cleared (the file truncated) when the guard drops,
//!   before the OS lock is released. It only names the holder in messages. A killed holder leaves
//!   stale info behind; the next run that takes the OS lock overwrites it, and [`force_unlock`]
//!   removes it. Messages therefore name a holder only while the OS lock is really held.
//! - The lock file is never deleted: deleting it would let two processes lock two different
//!   inodes of the same name.
//! - Waiting (`timeout`) polls with exponential backoff (50 ms doubling to 1 s, with jitter) and
//!   blocks the calling thread: from async code, call [`acquire`] through `spawn_blocking`.
//!   When the lock is busy and the caller waits, one line on stderr says so and names the
//!   holder (`Acquiring state lock…`), so that a waiting command is never silent.
//!
//! Caveats: `flock` on network file systems depends on the server; a holder on another host is
//! named by `who` but its liveness cannot be checked from here.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{StateError, sibling};

/// How a command takes the lock.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions<'a> {
    /// What the holder is doing, shown to whoever waits (`apply`, `state rm`, …).
    pub operation: &'a str,
    /// How long to wait for a busy lock; `None` fails at once.
    pub timeout: Option<Duration>,
}

/// Who holds a lock, as written into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// A UUID v4, the argument of `imsform force-unlock`.
    pub id: String,
    pub operation: String,
    /// `user@host`.
    pub who: String,
    pub pid: u32,
    /// RFC 3339.
    pub created: String,
}

impl LockInfo {
    fn host(&self) -> &str {
        self.who.rsplit_once('@').map_or("", |(_, host)| host)
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "lock {} (operation \"{}\", {}, pid {}, since {})",
            self.id, self.operation, self.who, self.pid, self.created
        )
    }
}

/// The holder of a busy lock, as far as its lock file tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Known(Box<LockInfo>),
    /// The OS lock is held but the file names nobody yet (the holder is between taking the
    /// lock and writing its info).
    Unknown,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Known(info) => info.fmt(f),
            Holder::Unknown => f.write_str("another process (its holder info is not written yet)"),
        }
    }
}

/// A held lock; dropping it clears the holder info and releases the OS lock.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    info: LockInfo,
}

impl LockGuard {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Best effort: if truncation fails the info goes stale, which the next holder overwrites;
        // the OS lock is released by closing the file in any case.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Takes the lock of the state at `state_path`, waiting up to `options.timeout`.
pub fn acquire(state_path: &Path, options: &LockOptions<'_>) -> Result<LockGuard, StateError> {
    let path = sibling(state_path, ".lock");
    let file = open_lock_file(&path)?;
    let deadline = options.timeout.map(|timeout| Instant::now() + timeout);
    let mut delay = Duration::from_millis(50);
    let mut announced = false;
    loop {
        match file.try_lock() {
            Ok(()) => return write_holder(file, &path, options.operation),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(io_error("lock", &path, source));
            }
        }
        let now = Instant::now();
        match deadline {
            Some(deadline) if now < deadline => {
                if !announced {
                    announced = true;
                    announce_wait(&path, deadline - now);
                }
                let jitter = delay.mul_f64(rand::random::<f64>() * 0.25);
                std::thread::sleep((delay + jitter).min(deadline - now));
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            _ => {
                return Err(StateError::LockHeld {
                    holder: current_holder(&path),
                    waited: options.timeout,
                });
            }
        }
    }
}

/// The one line a waiting command prints: the user learns who holds the lock and for how long
/// this command waits. The state module prints nothing else; this wait is invisible otherwise.
fn announce_wait(path: &Path, left: Duration) {
    let left = humantime::format_duration(Duration::from_secs(left.as_secs_f64().round() as u64));
    eprintln!(
        "Acquiring state lock… held by {}; waiting up to {left}.",
        current_holder(path)
    );
}

/// Removes the holder info of lock `lock_id` after checking its holder is gone, and returns it.
///
/// Refuses when the id differs, when the holder's pid is alive on this host, or when the OS
/// lock is still held (the holder then lives elsewhere). On success the next run proceeds; note
/// that it would have anyway, since the OS lock died with its holder: this clears stale info.
pub fn force_unlock(state_path: &Path, lock_id: &str) -> Result<LockInfo, StateError> {
    let path = sibling(state_path, ".lock");
    if !path.exists() {
        return Err(StateError::NotLocked { path });
    }
    let holder = read_holder(&path).ok_or_else(|| StateError::NotLocked { path: path.clone() })?;
    if holder.id != lock_id {
        return Err(StateError::LockIdMismatch {
            given: lock_id.to_owned(),
            actual: holder.id.clone(),
            holder: Box::new(holder),
        });
    }
    if holder.host() == this_host() && pid_alive(holder.pid) {
        return Err(StateError::HolderAlive {
            holder: Box::new(holder),
        });
    }
    let file = open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            // Name whoever holds it now: the info read above may have been replaced since.
            let holder = read_holder(&path).unwrap_or(holder);
            return Err(StateError::OsLockStillHeld {
                path,
                holder: Box::new(holder),
            });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(io_error("lock", &path, source)),
    }
    file.set_len(0)
        .map_err(|source| io_error("clear", &path, source))?;
    Ok(holder)
}

/// The holder of a busy lock. A holder writes its info right after taking the lock, so info
/// that is missing, or stale (naming a dead process of this host), is read again for up to
/// 100 ms before the holder is called unknown.
fn current_holder(path: &Path) -> Holder {
    for _ in 0..10 {
        match read_holder(path) {
            Some(info) if !names_a_dead_local_process(&info) => {
                return Holder::Known(Box::new(info));
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Holder::Unknown
}

fn names_a_dead_local_process(info: &LockInfo) -> bool {
    info.host() == this_host() && !pid_alive(info.pid)
}

/// The holder info in the lock file, if it names one.
pub fn read_holder(lock_path: &Path) -> Option<LockInfo> {
    let bytes = std::fs::read(lock_path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn open_lock_file(path: &Path) -> Result<File, StateError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|source| io_error("open", path, source))
}

/// The holder info of a lock this process takes now, for any backend.
pub fn new_info(operation: &str) -> LockInfo {
    LockInfo {
        id: uuid::Uuid::new_v4().to_string(),
        operation: operation.to_owned(),
        who: format!("{}@{}", user_name(), this_host()),
        pid: std::process::id(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

fn write_holder(file: File, path: &Path, operation: &str) -> Result<LockGuard, StateError> {
    let info = new_info(operation);
    let guard = LockGuard { file, info };
    // The guard exists before the writes so that a failure below still releases the lock.
    let json =
        serde_json::to_vec(&guard.info).map_err(|error| StateError::Invalid(error.to_string()))?;
    guard
        .file
        .set_len(0)
        .and_then(|()| guard.file.write_all_at(&json, 0))
        .and_then(|()| guard.file.sync_data())
        .map_err(|source| io_error("write", path, source))?;
    Ok(guard)
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> StateError {
    StateError::Io {
        action,
        path: PathBuf::from(path),
        source,
    }
}

fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// `USER`, else `LOGNAME`, else this uid's name in `/etc/passwd` (containers and CI runners
/// often set neither variable), else `uid<N>`.
fn user_name() -> String {
    let uid = rustix::process::getuid().as_raw();
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
            passwd_name(&passwd, uid)
        })
        .unwrap_or_else(|| format!("uid{uid}"))
}

/// The name of `uid` in `/etc/passwd` text (`name:password:uid:gid:…`).
fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// Whether a process with this pid exists on this host (`kill(pid, 0)`): EPERM means it exists
/// but belongs to someone else.
fn pid_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(errno) => errno == rustix::io::Errno::PERM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(who: String, pid: u32) -> LockInfo {
        LockInfo {
            id: "5b6c".to_owned(),
            operation: "apply".to_owned(),
            who,
            pid,
            created: "2026-11-22T18:00:00Z".to_owned(),
        }
    }

    #[test]
    fn liveness_of_pids() {
        assert!(pid_alive(std::process::id()));
        assert!(pid_alive(1), "init exists (EPERM counts as alive)");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_alive(pid), "a reaped child is gone");
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
    }

    #[test]
    fn stale_info_names_a_dead_process_of_this_host_only() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let here = format!("me@{}", this_host());
        assert!(names_a_dead_local_process(&info(here.clone(), dead)));
        assert!(!names_a_dead_local_process(&info(here, std::process::id())));
        assert!(!names_a_dead_local_process(&info(
            "me@elsewhere".to_owned(),
            dead
        )));
    }

    #[test]
    fn user_names_come_from_the_passwd_line_of_the_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nana:x:1000:1000::/home/ana:/bin/sh\n";
        assert_eq!(passwd_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(passwd_name(passwd, 1000).as_deref(), Some("ana"));
        assert_eq!(passwd_name(passwd, 7), None);
        assert_eq!(passwd_name("", 0), None);
    }

    #[test]
    fn holders_are_named_with_every_field() {
        let holder = Holder::Known(Box::new(info("ana@ci-7".to_owned(), 42)));
        assert_eq!(
            holder.to_string(),
            "lock 5b6c (operation \"apply\", ana@ci-7, pid 42, since 2026-11-22T18:00:00Z)"
        );
        assert_eq!(
            Holder::Unknown.to_string(),
            "another process (its holder info is not written yet)"
        );
    }
}
