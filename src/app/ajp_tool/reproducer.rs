//! The reproducer file `jkgate ajp fuzz` writes for every finding and `jkgate ajp
//! replay` sends again. Plain text, one item per line, so it can be read, diffed,
//! trimmed by hand and attached to a bug report:
//!
//! ```text
//! # comments and blank lines are ignored
//! format 1
//! target 127.0.0.1:8009          (optional; replay's URL argument overrides it)
//! seed 42                        (optional: the run and the conversation it came from)
//! conversation 17
//! mutation wrong-length+split    (optional: how the conversation was made)
//! finding hang no answer ...     (optional: KIND DETAIL, what the fuzzer saw)
//! timeout-ms 5000                (optional: how long silence counts as a hang)
//! write 1234000a02...            (hex bytes sent in one write() call)
//! pause-ms 5                     (a pause between two writes)
//! write ...
//! ```
//!
//! Write boundaries are kept because a container's parser can behave differently when
//! a packet arrives in pieces.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One step of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// These bytes, in one write.
    Write(Vec<u8>),
    /// A pause before the next write.
    Pause(Duration),
}

/// What kind of misbehaviour a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FindingKind {
    /// The container reset a well-formed conversation before answering it.
    Reset,
    /// The container neither answered nor closed within the timeout although a whole,
    /// well-formed request (or CPING) was waiting for its answer.
    Hang,
    /// A 5xx status other than 501 (Not Implemented: the right answer to an unknown method).
    ServerError,
    /// The container sent bytes that are not valid AJP13.
    BadReply,
    /// The container stopped answering CPING on new connections after the conversation.
    CpingLost,
}

impl FindingKind {
    /// Every kind.
    pub(crate) const ALL: [FindingKind; 5] = [
        FindingKind::Reset,
        FindingKind::Hang,
        FindingKind::ServerError,
        FindingKind::BadReply,
        FindingKind::CpingLost,
    ];

    /// The word used in files and reports.
    pub(crate) fn word(self) -> &'static str {
        match self {
            FindingKind::Reset => "reset",
            FindingKind::Hang => "hang",
            FindingKind::ServerError => "5xx",
            FindingKind::BadReply => "bad-reply",
            FindingKind::CpingLost => "cping-lost",
        }
    }

    fn from_word(word: &str) -> Option<FindingKind> {
        Self::ALL.into_iter().find(|kind| kind.word() == word)
    }
}

/// A finding: its kind and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The kind.
    pub kind: FindingKind,
    /// What was seen, one line.
    pub detail: String,
}

/// A conversation to send again, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Reproducer {
    /// `host:port` the finding was made against.
    pub target: Option<String>,
    /// The fuzz run's seed.
    pub seed: Option<u64>,
    /// The conversation's number in that run.
    pub conversation: Option<u64>,
    /// How the conversation was made.
    pub mutation: Option<String>,
    /// What the fuzzer saw.
    pub finding: Option<Finding>,
    /// How long silence counts as a hang.
    pub timeout: Option<Duration>,
    /// What to send.
    pub steps: Vec<Step>,
}

/// A reproducer file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReproducerError {
    /// The file cannot be read.
    #[error("reading reproducer {}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// A line is not valid.
    #[error("{}:{line}: {what}; valid lines: format 1, target HOST:PORT, seed N, conversation N, mutation TEXT, finding KIND DETAIL, timeout-ms N, write HEX, pause-ms N", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// The line number (1-based).
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// Nothing to send.
    #[error("{}: no `write` line: nothing to send", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl Reproducer {
    /// The file's text.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::from(
            "# jkgate ajp fuzz reproducer; send again with: jkgate ajp replay FILE [URL]\n\
             # `write HEX` is one write() call, `pause-ms N` a pause between two.\n\
             format 1\n",
        );
        if let Some(target) = &self.target {
            let _ = writeln!(out, "target {target}");
        }
        if let Some(seed) = self.seed {
            let _ = writeln!(out, "seed {seed}");
        }
        if let Some(conversation) = self.conversation {
            let _ = writeln!(out, "conversation {conversation}");
        }
        if let Some(mutation) = &self.mutation {
            let _ = writeln!(out, "mutation {}", one_line(mutation));
        }
        if let Some(finding) = &self.finding {
            let _ = writeln!(
                out,
                "finding {} {}",
                finding.kind.word(),
                one_line(&finding.detail)
            );
        }
        if let Some(timeout) = self.timeout {
            let _ = writeln!(out, "timeout-ms {}", timeout.as_millis());
        }
        for step in &self.steps {
            match step {
                Step::Write(bytes) => {
                    let _ = writeln!(out, "write {}", hex::encode(bytes));
                }
                Step::Pause(pause) => {
                    let _ = writeln!(out, "pause-ms {}", pause.as_millis());
                }
            }
        }
        out
    }

    /// Reads a reproducer's text; `path` names it in errors.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Reproducer, ReproducerError> {
        let mut reproducer = Reproducer::default();
        for (index, raw) in text.lines().enumerate() {
            let bad = |what: String| ReproducerError::Line {
                path: path.to_owned(),
                line: index + 1,
                what,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            let value = value.trim();
            let number = |what: &str| {
                value
                    .parse::<u64>()
                    .map_err(|_| bad(format!("`{what}` needs a number, got `{value}`")))
            };
            match key {
                "format" if value == "1" => {}
                "format" => {
                    return Err(bad(format!(
                        "unknown format `{value}` (this jkgate reads 1)"
                    )));
                }
                "target" => reproducer.target = Some(value.to_owned()),
                "seed" => reproducer.seed = Some(number("seed")?),
                "conversation" => reproducer.conversation = Some(number("conversation")?),
                "mutation" => reproducer.mutation = Some(value.to_owned()),
                "finding" => {
                    let (word, detail) = value.split_once(' ').unwrap_or((value, ""));
                    let kind = FindingKind::from_word(word).ok_or_else(|| {
                        bad(format!(
                            "unknown finding kind `{word}` (reset, hang, 5xx, bad-reply, cping-lost)"
                        ))
                    })?;
                    reproducer.finding = Some(Finding {
                        kind,
                        detail: detail.to_owned(),
                    });
                }
                "timeout-ms" => {
                    reproducer.timeout = Some(Duration::from_millis(number("timeout-ms")?));
                }
                "write" => {
                    let bytes = hex::decode(value)
                        .map_err(|e| bad(format!("`write` needs hex bytes: {e}")))?;
                    reproducer.steps.push(Step::Write(bytes));
                }
                "pause-ms" => {
                    reproducer
                        .steps
                        .push(Step::Pause(Duration::from_millis(number("pause-ms")?)));
                }
                other => return Err(bad(format!("unknown key `{other}`"))),
            }
        }
        if !reproducer
            .steps
            .iter()
            .any(|step| matches!(step, Step::Write(_)))
        {
            return Err(ReproducerError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(reproducer)
    }

    /// Reads a reproducer file.
    pub(crate) fn read(path: &Path) -> Result<Reproducer, ReproducerError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ReproducerError::Io {
            path: path.to_owned(),
            cause,
        })?;
        Reproducer::parse(&text, path)
    }

    /// Every byte the conversation sends, in order.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        steps_bytes(&self.steps)
    }
}

/// Every byte of `steps`, in order.
pub(crate) fn steps_bytes(steps: &[Step]) -> Vec<u8> {
    let mut all = Vec::new();
    for step in steps {
        if let Step::Write(bytes) = step {
            all.extend_from_slice(bytes);
        }
    }
    all
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Reproducer {
        Reproducer {
            target: Some("127.0.0.1:8009".into()),
            seed: Some(42),
            conversation: Some(17),
            mutation: Some("wrong-length+split".into()),
            finding: Some(Finding {
                kind: FindingKind::Hang,
                detail: "no answer within 5s\nafter a whole request".into(),
            }),
            timeout: Some(Duration::from_millis(5000)),
            steps: vec![
                Step::Write(vec![0x12, 0x34, 0x00, 0x01]),
                Step::Pause(Duration::from_millis(7)),
                Step::Write(vec![0x0a]),
                Step::Write(vec![]),
            ],
        }
    }

    #[test]
    fn round_trips_through_text() {
        let original = sample();
        let text = original.to_text();
        let back = Reproducer::parse(&text, Path::new("r.ajp")).unwrap();
        let mut expected = original;
        expected.finding.as_mut().unwrap().detail =
            "no answer within 5s after a whole request".into();
        assert_eq!(back, expected);
        assert_eq!(back.to_text(), text);
        assert_eq!(back.bytes(), vec![0x12, 0x34, 0x00, 0x01, 0x0a]);
        for kind in FindingKind::ALL {
            assert_eq!(FindingKind::from_word(kind.word()), Some(kind));
        }
    }

    #[test]
    fn minimal_file_and_hand_written_comments() {
        let text = "# made by hand\n\nwrite 1234 0001\n";
        // A space inside the hex is not hex.
        assert!(Reproducer::parse(text, Path::new("a")).is_err());
        let text = "  # made by hand\nwrite 123400010a\n";
        let reproducer = Reproducer::parse(text, Path::new("a")).unwrap();
        assert_eq!(
            reproducer.steps,
            vec![Step::Write(vec![0x12, 0x34, 0, 1, 0x0a])]
        );
        assert_eq!(reproducer.target, None);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let cases = [
            ("write zz\n", 1),
            ("format 2\nwrite 00\n", 1),
            ("write 00\npause-ms x\n", 2),
            ("write 00\nfinding boom x\n", 2),
            ("write 00\n\nsend 00\n", 3),
        ];
        for (text, line) in cases {
            match Reproducer::parse(text, Path::new("f.ajp")) {
                Err(ReproducerError::Line {
                    line: at, ref path, ..
                }) => {
                    assert_eq!((at, path.as_path()), (line, Path::new("f.ajp")), "{text:?}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        assert!(matches!(
            Reproducer::parse("seed 1\n", Path::new("f")),
            Err(ReproducerError::Empty { .. })
        ));
    }
}
