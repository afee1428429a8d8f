//! The access log, written off the request path.
//!
//! A request appends its finished line to a shared buffer and goes on; one thread of its own
//! writes the buffer out, a few milliseconds of lines at a time, so under load one `write`
//! carries many lines and the request tasks make no system call for the log at all (the
//! thread is woken only when the buffer was empty). Nothing is lost silently: a line that finds the buffer full (the disk slower than
//! the requests for long) and the lines of a write that failed (a full disk) are counted and
//! reported in the error log; the buffer is written out before a reopen (SIGUSR1) switches
//! files and before jkgate exits (SIGTERM).
//!
//! There is one access log per process, as there was one tracing subscriber before it:
//! [`install`] sets it once, and a request finds it with [`current`].

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Lines waiting to be written may hold this many bytes; beyond it new lines are counted
/// as lost instead of letting a stuck disk take the process's memory.
pub const BUFFER_LIMIT: usize = 8 << 20;

/// Once woken, the writer lets lines gather this long before it takes them: under load one
/// write then carries a few milliseconds of lines, and the request tasks wake it at most
/// once per window instead of once per line. A reopen or the exit skip the wait.
const BATCH_WINDOW: Duration = Duration::from_millis(5);

/// Lost lines are reported at most this often, so a full disk does not flood the error log.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Where the lines go.
#[derive(Debug)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// An open file (appending).
    File(File),
}

impl Destination {
    fn write_batch(&mut self, batch: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(batch)?;
                out.flush()
            }
            Destination::File(file) => file.write_all(batch),
        }
    }
}

/// The handle requests write through. Cloning it is cheap; every clone feeds the same thread.
#[derive(Debug, Clone)]
pub struct AccessLog {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// [`BUFFER_LIMIT`], smaller in tests.
    limit: usize,
    state: Mutex<State>,
    wake: Condvar,
    /// Lines refused because the buffer was full.
    lost_full_buffer: AtomicU64,
    /// Lines of writes that failed.
    lost_write_error: AtomicU64,
    writer: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct State {
    pending: Vec<u8>,
    /// A file to switch to, and how many bytes of `pending` were queued before the switch
    /// (they go to the old file).
    reopened: Option<(usize, Destination)>,
    closing: bool,
}

/// Lines lost so far, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LostLines {
    /// Refused because [`BUFFER_LIMIT`] bytes were already waiting.
    pub full_buffer: u64,
    /// In a write that failed (a full disk, a closed standard output).
    pub write_error: u64,
}

impl AccessLog {
    /// Starts the writer thread for `destination`.
    pub fn start(destination: Destination) -> io::Result<Self> {
        Self::start_with_limit(destination, BUFFER_LIMIT)
    }

    fn start_with_limit(destination: Destination, limit: usize) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            limit,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            lost_full_buffer: AtomicU64::new(0),
            lost_write_error: AtomicU64::new(0),
            writer: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("jkgate-access-log".into())
            .spawn(move || write_lines(&thread_shared, destination))?;
        *lock(&shared.writer) = Some(handle);
        Ok(AccessLog { shared })
    }

    /// Queues one line (a newline is added). Never blocks on the disk.
    pub fn write_line(&self, line: &str) {
        let mut state = lock(&self.shared.state);
        if state.closing || state.pending.len() + line.len() + 1 > self.shared.limit {
            drop(state);
            self.shared.lost_full_buffer.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let was_empty = state.pending.is_empty();
        state.pending.extend_from_slice(line.as_bytes());
        state.pending.push(b'\n');
        drop(state);
        // The writer sleeps only on an empty buffer: one wake-up per batch, not per line.
        if was_empty {
            self.shared.wake.notify_one();
        }
    }

    /// Switches to `destination` (the file reopened at its path): what was queued before
    /// goes to the old file, what comes after to the new one.
    pub fn reopen(&self, destination: Destination) {
        let mut state = lock(&self.shared.state);
        let queued = state.pending.len();
        if let Some((_, unused)) = state.reopened.replace((queued, destination)) {
            // Two reopens before the writer woke: everything queued until the second goes
            // to the old file, and the first new one is closed unused.
            drop(unused);
        }
        drop(state);
        self.shared.wake.notify_one();
    }

    /// Writes out everything queued and stops the thread; lines written after this are
    /// counted as lost. Returns what was lost in all.
    pub fn close(&self) -> LostLines {
        lock(&self.shared.state).closing = true;
        self.shared.wake.notify_one();
        if let Some(handle) = lock(&self.shared.writer).take() {
            let _ = handle.join();
        }
        self.lost()
    }

    /// Lines lost so far.
    pub fn lost(&self) -> LostLines {
        LostLines {
            full_buffer: self.shared.lost_full_buffer.load(Ordering::Relaxed),
            write_error: self.shared.lost_write_error.load(Ordering::Relaxed),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The writer thread: waits for lines, writes each batch in one call, switches files when
/// asked, reports lost lines now and then, and ends once closing with nothing left.
fn write_lines(shared: &Shared, mut destination: Destination) {
    let mut batch = Vec::new();
    let mut reported = LostLines::default();
    let mut last_report: Option<Instant> = None;
    loop {
        let (reopened, closing) = {
            let mut state = lock(&shared.state);
            while state.pending.is_empty() && state.reopened.is_none() && !state.closing {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.reopened.is_none() && !state.closing {
                drop(state);
                std::thread::sleep(BATCH_WINDOW);
                state = lock(&shared.state);
            }
            std::mem::swap(&mut batch, &mut state.pending);
            (state.reopened.take(), state.closing)
        };
        match reopened {
            Some((before, new)) => {
                write_batch(shared, &mut destination, &batch[..before]);
                destination = new;
                write_batch(shared, &mut destination, &batch[before..]);
            }
            None => write_batch(shared, &mut destination, &batch),
        }
        batch.clear();
        let lost = LostLines {
            full_buffer: shared.lost_full_buffer.load(Ordering::Relaxed),
            write_error: shared.lost_write_error.load(Ordering::Relaxed),
        };
        let due = last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY);
        if lost != reported && (due || closing) {
            tracing::error!(
                "access log: {} line(s) lost so far ({} with the buffer full, {} in failed writes)",
                lost.full_buffer + lost.write_error,
                lost.full_buffer,
                lost.write_error
            );
            reported = lost;
            last_report = Some(Instant::now());
        }
        if closing {
            let state = lock(&shared.state);
            if state.pending.is_empty() && state.reopened.is_none() {
                return;
            }
        }
    }
}

/// The time at the start of a line: UTC, RFC 3339 with microseconds (as the tracing lines
/// of the error log).
pub fn timestamp() -> impl std::fmt::Display {
    struct Now(jiff::Timestamp);
    impl std::fmt::Display for Now {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:.6}", self.0)
        }
    }
    Now(jiff::Timestamp::now())
}

/// Writes one batch; on failure counts its lines as lost.
fn write_batch(shared: &Shared, destination: &mut Destination, batch: &[u8]) {
    if batch.is_empty() {
        return;
    }
    if let Err(error) = destination.write_batch(batch) {
        let lines = batch.iter().filter(|&&b| b == b'\n').count() as u64;
        shared.lost_write_error.fetch_add(lines, Ordering::Relaxed);
        tracing::debug!("access log write failed: {error}");
    }
}

static CURRENT: OnceLock<AccessLog> = OnceLock::new();

/// Makes `log` the process's access log. The first call wins (as the first tracing
/// subscriber installed did); a later one is handed back.
pub fn install(log: AccessLog) -> Result<(), AccessLog> {
    CURRENT.set(log)
}

/// The process's access log, if one was installed and the log is not `off`.
pub fn current() -> Option<&'static AccessLog> {
    CURRENT.get()
}

/// Whether access lines are written at all: the request path skips what only the log
/// would read (such as the client's session id on a direct worker).
pub fn enabled() -> bool {
    CURRENT.get().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_log(dir: &std::path::Path, name: &str) -> (AccessLog, std::path::PathBuf) {
        let path = dir.join(name);
        let file = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        (AccessLog::start(Destination::File(file)).unwrap(), path)
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("jkgate-access-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn every_line_queued_before_close_is_written_in_order() {
        let dir = temp_dir("order");
        let (log, path) = file_log(&dir, "access.log");
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        log.write_line(&format!("t{t} line {i}"));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(log.close(), LostLines::default());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 20_000);
        for t in 0..4 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("t{t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..5_000).collect::<Vec<_>>(), "thread {t}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_reopen_sends_what_was_queued_before_it_to_the_old_file() {
        let dir = temp_dir("reopen");
        let (log, old) = file_log(&dir, "access.log");
        log.write_line("before");
        let rotated = dir.join("access.log.1");
        std::fs::rename(&old, &rotated).unwrap();
        let new = File::options()
            .create(true)
            .append(true)
            .open(&old)
            .unwrap();
        log.reopen(Destination::File(new));
        log.write_line("after");
        log.close();
        assert_eq!(std::fs::read_to_string(&rotated).unwrap(), "before\n");
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "after\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn lines_of_a_failed_write_are_counted_not_hidden() {
        // /dev/full: every write fails with ENOSPC, as on a full disk.
        let full = File::options().write(true).open("/dev/full").unwrap();
        let log = AccessLog::start(Destination::File(full)).unwrap();
        for i in 0..10 {
            log.write_line(&format!("line {i}"));
        }
        let lost = log.close();
        assert_eq!(lost.write_error, 10);
        assert_eq!(lost.full_buffer, 0);
    }

    #[test]
    fn lines_past_the_buffer_limit_are_counted() {
        use std::io::Read as _;
        use std::os::fd::OwnedFd;
        const MIB: usize = 1 << 20;
        // A socket nobody reads yet: the writer blocks in its first write, as on a stuck disk.
        let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let destination = Destination::File(File::from(OwnedFd::from(theirs)));
        let log = AccessLog::start_with_limit(destination, 4 * MIB).unwrap();
        log.write_line(&"x".repeat(3 * MIB - 1));
        while !lock(&log.shared.state).pending.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        // The writer is stuck on those 3 MiB; four lines of 1 MiB fill the buffer.
        for _ in 0..6 {
            log.write_line(&"y".repeat(MIB - 1));
        }
        assert_eq!(log.lost().full_buffer, 2);
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            ours.read_to_end(&mut all).unwrap();
            all.len()
        });
        let lost = log.close();
        assert_eq!(lost.full_buffer, 2);
        assert_eq!(lost.write_error, 0);
        assert_eq!(reader.join().unwrap(), 7 * MIB);
    }

    #[test]
    fn a_line_after_close_is_counted_as_lost() {
        let dir = temp_dir("closed");
        let (log, path) = file_log(&dir, "access.log");
        log.write_line("kept");
        log.close();
        log.write_line("late");
        assert_eq!(log.lost().full_buffer, 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
