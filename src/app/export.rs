//! `wf export otel RUN`, and the export at the end of `wf run`: a recorded
//! run sent as an OpenTelemetry trace over OTLP/HTTP (the spans are
//! [`crate::report::otel`]'s).
//!
//! # Configuration: the standard variables
//!
//! | variable | meaning |
//! |---|---|
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the full URL spans are posted to, used as it is |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | the receiver's base URL; `/v1/traces` is appended |
//! | `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,key2=value2`, values percent-decoded (API keys): sent, never printed |
//! | `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` (the default, as the specification says) or `http/json`; `grpc` is refused (below) |
//! | `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT` | milliseconds to wait for the receiver (default 10000) |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource: `service.name` (default `wf`) and `key=value,…` attributes |
//! | `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none` | no export |
//!
//! The signal-specific variable wins over the general one. Without an
//! endpoint nothing is exported and nothing is said.
//!
//! # Decisions
//!
//! - **After the run, from the trace.** `wf run` exports once the run has
//!   ended (any status, a pause included), reading its `trace.jsonl`: the
//!   run itself does no tracing work, and the export `wf export otel`
//!   makes later is the same request, byte for byte (the ids come from
//!   the run id, the times from the trace). `wf resume` exports the whole
//!   run again when it stops: receivers see the same ids, and what the
//!   resume added.
//! - **A failed export is a warning**, never a failed run: the run's exit
//!   code is its own. `wf export otel` itself fails (exit 1) when the
//!   receiver does not take the spans.
//! - **gRPC is refused** with a message naming `http/protobuf`: it needs
//!   HTTP/2 framing wf's HTTP client does not do, and every OTLP receiver
//!   (the Collector, Jaeger, Tempo, vendors) takes OTLP/HTTP on 4318.
//! - **No secrets leave**: header values are never printed, free texts in
//!   spans pass through [`crate::secrets`] (see [`crate::report::otel`]).

use crate::error::Error;
use crate::record::store::RunDir;
use crate::report::otel::{self, Value};
use std::time::{Duration, Instant};

/// How spans are encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `http/protobuf`: binary protobuf, `application/x-protobuf`.
    Protobuf,
    /// `http/json`: `application/json`.
    Json,
}

/// Where and how to send.
#[derive(Clone)]
pub struct Config {
    /// The URL spans are posted to.
    pub endpoint: String,
    /// Headers sent with it (values are secrets).
    pub headers: Vec<(String, String)>,
    /// The encoding.
    pub protocol: Protocol,
    /// How long to wait for the receiver.
    pub timeout: Duration,
    /// The resource's attributes.
    pub resource: Vec<(String, Value)>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("protocol", &self.protocol)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The configuration the variables `var` gives (see the module
/// documentation): `Ok(None)` when no endpoint is set or export is turned
/// off; an error naming the variable when one is malformed.
pub fn config(var: impl Fn(&str) -> Option<String>) -> Result<Option<Config>, String> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let either = |signal: &str, general: &str| {
        get(signal)
            .map(|v| (signal.to_string(), v))
            .or_else(|| get(general).map(|v| (general.to_string(), v)))
    };
    if get("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim() == "none")
    {
        return Ok(None);
    }
    let (name, endpoint) = match get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        Some(url) => ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.trim().to_string()),
        None => match get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Some(base) => (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("{}/v1/traces", base.trim().trim_end_matches('/')),
            ),
            None => return Ok(None),
        },
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(format!(
            "{name}={endpoint:?} is not an http:// or https:// URL"
        ));
    }
    let protocol = match either(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ) {
        None => Protocol::Protobuf,
        Some((_, p)) if p.trim() == "http/protobuf" => Protocol::Protobuf,
        Some((_, p)) if p.trim() == "http/json" => Protocol::Json,
        Some((name, p)) if p.trim() == "grpc" => {
            return Err(format!(
                "{name}=grpc: wf exports over OTLP/HTTP only; set {name}=http/protobuf \
                 and point the endpoint at the receiver's OTLP/HTTP port (4318 by default)"
            ));
        }
        Some((name, p)) => {
            return Err(format!(
                "{name}={p:?} is not a protocol wf sends; use http/protobuf or http/json"
            ));
        }
    };
    let headers = match either(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ) {
        None => Vec::new(),
        Some((name, text)) => pairs(&text).map_err(|why| format!("{name}: {why}"))?,
    };
    let timeout = match either(
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ) {
        None => Duration::from_secs(10),
        Some((name, ms)) => ms
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
            .ok_or_else(|| format!("{name}={ms:?} is not a number of milliseconds"))?,
    };
    let resource = resource(&var)?;
    Ok(Some(Config {
        endpoint,
        headers,
        protocol,
        timeout,
        resource,
    }))
}

/// The resource the variables `var` describe: `service.name`
/// (`OTEL_SERVICE_NAME`, else the one in `OTEL_RESOURCE_ATTRIBUTES`, else
/// `wf`), `service.version` (wf's), then the other
/// `OTEL_RESOURCE_ATTRIBUTES`.
pub fn resource(var: impl Fn(&str) -> Option<String>) -> Result<Vec<(String, Value)>, String> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let mut resource = Vec::new();
    if let Some(text) = get("OTEL_RESOURCE_ATTRIBUTES") {
        for (k, v) in pairs(&text).map_err(|why| format!("OTEL_RESOURCE_ATTRIBUTES: {why}"))? {
            resource.push((k, Value::Str(v)));
        }
    }
    let service = get("OTEL_SERVICE_NAME")
        .map(|s| s.trim().to_string())
        .or_else(|| {
            resource.iter().find_map(|(k, v)| match v {
                Value::Str(s) if k == "service.name" => Some(s.clone()),
                _ => None,
            })
        })
        .unwrap_or_else(|| "wf".to_string());
    resource.retain(|(k, _)| k != "service.name" && k != "service.version");
    resource.insert(0, ("service.name".into(), Value::Str(service)));
    resource.insert(
        1,
        (
            "service.version".into(),
            Value::Str(env!("CARGO_PKG_VERSION").into()),
        ),
    );
    Ok(resource)
}

/// `key=value,key2=value2`, each side trimmed and percent-decoded (the
/// W3C Baggage form the OTLP variables use).
fn pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, item) in text.split(',').enumerate() {
        if item.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!("item {} has no `=`", i + 1));
        };
        let k = percent_decode(k.trim());
        if k.is_empty() {
            return Err(format!("item {} has an empty key", i + 1));
        }
        out.push((k, percent_decode(v.trim())));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What an export did.
#[derive(Debug, Clone)]
pub struct Exported {
    /// Spans sent.
    pub spans: usize,
    /// Span events sent.
    pub events: usize,
    /// The request body's size.
    pub bytes: usize,
    /// The trace id, hex.
    pub trace_id: String,
    /// Reading, encoding and sending, start to end.
    pub elapsed: Duration,
}

/// The request body for the run in `dir`, encoded as `protocol`, with the
/// trace it encodes.
pub fn encode(
    dir: &RunDir,
    resource: Vec<(String, Value)>,
    protocol: Protocol,
) -> Result<(otel::Trace, Vec<u8>), String> {
    let trace = crate::record::trace::read(&dir.trace()).map_err(|e| e.to_string())?;
    let secrets = crate::secrets::Secrets::from_vars(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
    let spans = otel::spans(&trace.records, resource, &secrets)
        .ok_or_else(|| format!("{} has no run_started header", dir.trace().display()))?;
    let body = match protocol {
        Protocol::Protobuf => otel::to_protobuf(&spans),
        Protocol::Json => serde_json::to_vec(&otel::to_json(&spans)).expect("JSON serializes"),
    };
    Ok((spans, body))
}

/// Sends the run in `dir` to the receiver `config` names.
pub fn send(dir: &RunDir, config: &Config) -> Result<Exported, String> {
    let started = Instant::now();
    let (trace, body) = encode(dir, config.resource.clone(), config.protocol)?;
    let content_type = match config.protocol {
        Protocol::Protobuf => "application/x-protobuf",
        Protocol::Json => "application/json",
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(5)))
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let mut request = client
        .post(&config.endpoint)
        .header("content-type", content_type)
        .header("user-agent", concat!("wf/", env!("CARGO_PKG_VERSION")));
    for (k, v) in &config.headers {
        request = request.header(k.as_str(), v.as_str());
    }
    let hide = |text: String| {
        config.headers.iter().fold(text, |t, (_, v)| {
            if v.len() >= 4 {
                t.replace(v.as_str(), "[redacted]")
            } else {
                t
            }
        })
    };
    let bytes = body.len();
    let response = request.body(body).send().map_err(|e| {
        hide(format!(
            "cannot reach {}: {}",
            shown(&config.endpoint),
            e.without_url()
        ))
    })?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().unwrap_or_default();
        let tail: String = text.chars().take(300).collect();
        return Err(hide(format!(
            "{} answered {status}: {}",
            shown(&config.endpoint),
            tail.trim()
        )));
    }
    Ok(Exported {
        spans: trace.spans.len(),
        events: trace.spans.iter().map(|s| s.events.len()).sum(),
        bytes,
        trace_id: otel::hex(&trace.trace_id),
        elapsed: started.elapsed(),
    })
}

/// The export at the end of `wf run`: `None` when no receiver is
/// configured; otherwise a line for the person running wf — what was sent,
/// or why not (a warning: the run's outcome is its own).
pub fn after_run(dir: &RunDir) -> Option<Result<String, String>> {
    let config = match config(|k| std::env::var(k).ok()) {
        Ok(None) => return None,
        Ok(Some(c)) => c,
        Err(why) => return Some(Err(why)),
    };
    Some(send(dir, &config).map(|e| said(&e, &config)))
}

/// The line saying what an export sent.
pub fn said(e: &Exported, config: &Config) -> String {
    format!(
        "exported {} spans ({} events, {} bytes, {}) to {} as trace {} in {} ms",
        e.spans,
        e.events,
        e.bytes,
        match config.protocol {
            Protocol::Protobuf => "http/protobuf",
            Protocol::Json => "http/json",
        },
        shown(&config.endpoint),
        e.trace_id,
        e.elapsed.as_millis()
    )
}

/// A URL as it may be printed: without user and password.
fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// What `wf export otel` did, for the command line to print.
#[derive(Debug)]
pub enum Done {
    /// The spans were sent: what [`said`] says.
    Sent(String),
    /// The OTLP request, for stdout.
    Printed(Vec<u8>),
    /// The OTLP request was written to this file.
    Written(std::path::PathBuf),
}

/// `wf export otel RUN`: sends the recorded run `run` of the current
/// repository to the receiver the variables name, or with `output`
/// writes the request, encoded as `protocol`, to that file (`-`: stdout)
/// instead.
pub fn otel(
    run: &str,
    output: Option<&std::path::Path>,
    protocol: Protocol,
) -> Result<Done, Error> {
    let root = crate::app::repo_root()?;
    let dir = crate::record::store::Store::open(&root).and_then(|s| s.resolve(run))?;
    if let Some(file) = output {
        let resource = resource(|k| std::env::var(k).ok()).map_err(Error::Usage)?;
        let (_, body) = encode(&dir, resource, protocol).map_err(Error::Failed)?;
        if file == std::path::Path::new("-") {
            return Ok(Done::Printed(body));
        }
        std::fs::write(file, &body)
            .map_err(|e| Error::io(format!("cannot write {}", file.display()), e))?;
        return Ok(Done::Written(file.to_path_buf()));
    }
    let config = config(|k| std::env::var(k).ok())
        .map_err(Error::Usage)?
        .ok_or_else(|| {
            Error::Usage(
                "no receiver: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318) \
                 or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or write the request to a file with -o FILE"
                    .into(),
            )
        })?;
    let exported = send(&dir, &config).map_err(Error::Failed)?;
    Ok(Done::Sent(said(&exported, &config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn from(vars: &[(&str, &str)]) -> Result<Option<Config>, String> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config(|k| map.get(k).cloned())
    }

    #[test]
    fn no_endpoint_no_export() {
        assert!(from(&[]).unwrap().is_none());
        assert!(
            from(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_SDK_DISABLED", "true")
            ])
            .unwrap()
            .is_none()
        );
        assert!(
            from(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_TRACES_EXPORTER", "none")
            ])
            .unwrap()
            .is_none()
        );
    }

    #[test]
    fn the_signal_variables_win_and_the_base_gets_its_path() {
        let c = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")])
            .unwrap()
            .unwrap();
        assert_eq!(c.endpoint, "http://c:4318/v1/traces");
        assert_eq!(c.protocol, Protocol::Protobuf);
        assert_eq!(c.timeout, Duration::from_secs(10));
        let c = from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://t.example/in"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "x-api-key=s%3Dcret%2C1 , team = w f",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ("OTEL_SERVICE_NAME", "agents"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=ci,service.name=other",
            ),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.endpoint, "https://t.example/in");
        assert_eq!(c.protocol, Protocol::Json);
        assert_eq!(
            c.headers,
            [
                ("x-api-key".to_string(), "s=cret,1".to_string()),
                ("team".to_string(), "w f".to_string())
            ]
        );
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!(
            c.resource[0],
            ("service.name".into(), Value::Str("agents".into()))
        );
        assert!(
            c.resource
                .contains(&("deployment.environment".into(), Value::Str("ci".into())))
        );
        // The header's value never shows in a debug print.
        assert!(!format!("{c:?}").contains("cret"));
    }

    #[test]
    fn a_url_is_shown_without_its_credentials() {
        assert_eq!(
            shown("https://u:p@h.example:4318/v1/traces"),
            "https://h.example:4318/v1/traces"
        );
        assert_eq!(shown("http://h:4318"), "http://h:4318");
    }

    #[test]
    fn grpc_and_bad_values_are_refused_naming_the_variable() {
        let err = from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap_err();
        assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"), "{err}");
        assert!(err.contains("http/protobuf"), "{err}");
        let err = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")]).unwrap_err();
        assert!(err.contains("not an http:// or https:// URL"), "{err}");
        let err = from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ])
        .unwrap_err();
        assert!(
            err.starts_with("OTEL_EXPORTER_OTLP_HEADERS: item 1"),
            "{err}"
        );
        let err = from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ])
        .unwrap_err();
        assert!(err.contains("OTEL_EXPORTER_OTLP_TIMEOUT"), "{err}");
    }
}
