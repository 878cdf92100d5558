//! Server-Sent Events decoding: turns the bytes of a `text/event-stream`
//! body into [`SseEvent`]s, incrementally, as they arrive.
//!
//! This module knows nothing about any vendor; it only implements the event
//! stream format (the WHATWG "server-sent events" parsing rules) with the
//! tolerances real model servers need:
//!
//! * lines end in LF, CRLF or a lone CR, also when a CRLF pair is split
//!   across two chunks;
//! * `event:` names the event, `data:` lines are joined with `\n`, `id:` is
//!   kept, `retry:` and unknown fields are ignored, lines starting with `:`
//!   are comments;
//! * one space after the colon is removed; other whitespace padding is kept
//!   in `data` (JSON parsers skip it) and trimmed from event names and ids;
//!   a line holding only whitespace counts as a blank line;
//! * a stream that ends without the final blank line still yields its last
//!   event ([`SseDecoder::finish`]);
//! * an `error:` line is taken as the data of an event named `error`. The
//!   format has no such field (a strict parser drops it), but llama.cpp's
//!   server reports a failure inside a stream exactly so (`error: {"code":
//!   500, "message": …}`), and dropping it would lose the message.
//!
//! [`SseDecoder`] is the push-style core (feed it byte chunks);
//! [`SseReader`] pulls events from any [`Read`].

use std::io::{self, Read};

/// One decoded event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if the event had one (the spec's default type
    /// "message" is not filled in).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The `id:` field, if the event had one.
    pub id: Option<String>,
}

/// Incremental event-stream decoder: feed it bytes in chunks of any size,
/// collect the events each chunk completes, and call [`SseDecoder::finish`]
/// at the end of the stream.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in CR, so a leading LF belongs to it.
    after_cr: bool,
    /// The event being built.
    pending: SseEvent,
    /// At least one `data` field was seen for the pending event.
    has_data: bool,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `bytes` and returns the events completed by them, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut out);
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    /// Ends the stream: completes an unterminated last line and returns the
    /// pending event, if it has data, even without the closing blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut out);
        }
        self.dispatch(&mut out);
        self.after_cr = false;
        out.pop()
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let raw = std::mem::take(&mut self.line);
        let line = String::from_utf8_lossy(&raw);
        if line.trim().is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.find(':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (&line[..], ""),
        };
        match field.trim() {
            "event" => self.pending.event = Some(value.trim().to_string()),
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            "id" => self.pending.id = Some(value.trim().to_string()),
            "error" => {
                self.pending.event = Some("error".to_string());
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.pending);
        if std::mem::take(&mut self.has_data) {
            out.push(event);
        }
    }
}

/// Pulls events from a byte source, reading only as much as it needs.
#[derive(Debug)]
pub struct SseReader<R> {
    source: R,
    decoder: SseDecoder,
    ready: std::collections::VecDeque<SseEvent>,
    done: bool,
}

impl<R: Read> SseReader<R> {
    /// A reader over `source`, positioned at the start of the stream.
    pub fn new(source: R) -> Self {
        SseReader {
            source,
            decoder: SseDecoder::new(),
            ready: Default::default(),
            done: false,
        }
    }

    /// True once the source reported its end. An event returned while this
    /// is true was not closed by a blank line (it may be cut short).
    pub fn at_end(&self) -> bool {
        self.done
    }

    /// The next event; `Ok(None)` once the source is at its end and every
    /// event (including an unterminated last one) has been returned.
    pub fn next_event(&mut self) -> io::Result<Option<SseEvent>> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            if self.done {
                return Ok(None);
            }
            let n = match self.source.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.done = true;
                self.ready.extend(self.decoder.finish());
            } else {
                self.ready.extend(self.decoder.feed(&buf[..n]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(d.feed(c));
        }
        out.extend(d.finish());
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_string),
            data: data.to_string(),
            id: None,
        }
    }

    #[test]
    fn basic_event_and_data() {
        let got = decode_all(&[b"event: ping\ndata: {\"a\":1}\n\n"]);
        assert_eq!(got, vec![ev(Some("ping"), "{\"a\":1}")]);
    }

    #[test]
    fn multi_line_data_joined_with_newline() {
        let got = decode_all(&[b"data: one\ndata: two\ndata:three\n\n"]);
        assert_eq!(got, vec![ev(None, "one\ntwo\nthree")]);
    }

    #[test]
    fn comments_and_unknown_fields_ignored() {
        let got = decode_all(&[b": keep-alive\nretry: 10\nfoo: bar\ndata: x\n\n: tail\n\n"]);
        assert_eq!(got, vec![ev(None, "x")]);
    }

    #[test]
    fn crlf_and_lone_cr_line_endings() {
        let got = decode_all(&[b"event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r"]);
        assert_eq!(got, vec![ev(Some("a"), "1"), ev(Some("b"), "2")]);
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let got = decode_all(&[b"data: 1\r", b"\ndata: 2\r", b"\n\r", b"\n"]);
        assert_eq!(got, vec![ev(None, "1\n2")]);
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let stream: &[u8] =
            b"event: a\r\ndata: {\"x\": 1}\r\n\r\n: c\nevent: b\ndata: y\ndata: z\n\n";
        let whole = decode_all(&[stream]);
        assert_eq!(whole.len(), 2);
        for i in 0..=stream.len() {
            assert_eq!(
                decode_all(&[&stream[..i], &stream[i..]]),
                whole,
                "split at {i}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode_all(&bytes), whole);
    }

    #[test]
    fn last_event_without_blank_line_is_flushed() {
        assert_eq!(
            decode_all(&[b"event: end\ndata: {}"]),
            vec![ev(Some("end"), "{}")]
        );
        assert_eq!(
            decode_all(&[b"event: end\ndata: {}\n"]),
            vec![ev(Some("end"), "{}")]
        );
    }

    #[test]
    fn whitespace_padding_tolerated() {
        let got = decode_all(&[
            b"event:   message_stop  \ndata: {\"type\":\"x\"     }   \n   \ndata:{}\n\n",
        ]);
        assert_eq!(
            got,
            vec![
                ev(Some("message_stop"), "{\"type\":\"x\"     }   "),
                ev(None, "{}")
            ]
        );
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        assert_eq!(decode_all(&[b"event: lonely\n\n\n"]), vec![]);
        // An empty `data:` field is still data.
        assert_eq!(decode_all(&[b"data:\n\n"]), vec![ev(None, "")]);
    }

    #[test]
    fn id_field_kept_and_event_name_reset_between_events() {
        let got = decode_all(&[b"id: 7\nevent: a\ndata: 1\n\ndata: 2\n\n"]);
        assert_eq!(got[0].id.as_deref(), Some("7"));
        assert_eq!(got[1], ev(None, "2"));
    }

    #[test]
    fn an_error_line_is_an_error_event() {
        let got = decode_all(&[b"data: {}\n\nerror: {\"code\":500}\n\n"]);
        assert_eq!(
            got,
            vec![ev(None, "{}"), ev(Some("error"), "{\"code\":500}")]
        );
    }

    #[test]
    fn utf8_split_across_chunks() {
        let s = "data: 68°F ✓\n\n".as_bytes();
        let at = s.iter().position(|&b| b == 0xC2).unwrap() + 1;
        assert_eq!(decode_all(&[&s[..at], &s[at..]]), vec![ev(None, "68°F ✓")]);
    }

    #[test]
    fn reader_pulls_events_and_flushes_at_eof() {
        let mut r = SseReader::new(&b"data: a\n\ndata: b"[..]);
        assert_eq!(r.next_event().unwrap(), Some(ev(None, "a")));
        assert!(!r.at_end());
        assert_eq!(r.next_event().unwrap(), Some(ev(None, "b")));
        assert!(r.at_end());
        assert_eq!(r.next_event().unwrap(), None);
        assert_eq!(r.next_event().unwrap(), None);
    }
}
