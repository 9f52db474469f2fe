use super::*;

#[derive(Clone, Default)]
struct Buffer(std::sync::Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn plain_lines_are_timestamped_and_name_the_phase() {
    let buffer = Buffer::default();
    let sink = PlainProgress::new(Box::new(buffer.clone()));
    let address = Address::from_key("web");
    let percent = Some(42.0);
    sink.event(Event::Phase {
        address: address.clone(),
        phase: Phase::Waiting { percent },
    });
    let summary = "created (img-1)".to_owned();
    sink.event(Event::Finish {
        address,
        ok: true,
        summary,
    });
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].ends_with("images.web: registration job 42% [0s elapsed]"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("images.web: created (img-1) [0s]"),
        "{text}"
    );
    assert_eq!(lines[0].as_bytes()[2], b':', "{text}");
}

#[test]
fn heartbeats_name_each_address_still_in_flight_once_per_period() {
    let buffer = Buffer::default();
    let sink = PlainProgress::new(Box::new(buffer.clone()));
    let every = Duration::from_secs(10);
    for (key, phase) in [
        (
            "web",
            Phase::Waiting {
                percent: Some(55.0),
            },
        ),
        ("db", Phase::Deleting),
        ("api", Phase::Creating),
    ] {
        let address = Address::from_key(key);
        sink.event(Event::Phase { address, phase });
    }
    sink.event(Event::Finish {
        address: Address::from_key("api"),
        ok: true,
        summary: "created".into(),
    });
    let start = Instant::now();
    sink.heartbeat(start + Duration::from_secs(5), every);
    sink.heartbeat(start + Duration::from_secs(41), every);
    sink.heartbeat(start + Duration::from_secs(45), every);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let beats: Vec<&str> = text.lines().skip(4).map(|line| &line[9..]).collect();
    assert_eq!(
        beats,
        [
            "images.db: still deleting… [41s elapsed]",
            "images.web: still registering… [41s elapsed, 55%]",
        ],
        "{text}"
    );
    let what = "IMS (https://ims.example) has not answered for 45 s".to_owned();
    sink.event(Event::Unanswered { what: Some(what) });
    sink.heartbeat(start + Duration::from_secs(52), every);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let beats: Vec<&str> = text.lines().skip(6).map(|line| &line[9..]).collect();
    assert_eq!(
        beats,
        [
            "images.db: IMS (https://ims.example) has not answered for 45 s [52s elapsed]",
            "images.web: IMS (https://ims.example) has not answered for 45 s [52s elapsed]",
        ],
        "{text}"
    );
}
