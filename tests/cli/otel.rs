//! OpenTelemetry export (issue 25, item 5): `wf run` with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set sends the run as a trace when it ends;
//! `wf export otel RUN` sends (or writes) a recorded run. Against a
//! recording HTTP server here; against a real receiver (Arize Phoenix,
//! pinned in `.ci/run`) in [`real_receiver_stores_the_spans_with_their_parents_and_attributes`].

use super::{Repo, events};
use crate::providers::server::{Reply, TestServer, dead_url};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A task of two steps: the first reads a file it may not (denied) and
/// writes one (its contents must never leave); a check; the apply
/// checkpoint, approved with `--yes`.
fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("README.md", "readme\n")
        .file(".env", "API_TOKEN=hunter2-do-not-send\n")
        .file(
            "task.yaml",
            "wf: 1
name: two-steps
version: 1.0.0
model: { provider: script, script: task.turns.yaml }
tools: [write_file, read_file]
permissions: { write: [\"*.txt\"], read: [\"README.md\"] }
checks:
  - { name: unit, run: \"test -f a.txt\" }
steps:
  - id: first
    prompt: Write a.txt.
  - id: second
    prompt: Write b.txt.
",
        )
        .file(
            "task.turns.yaml",
            "turns:
  - tool_calls:
      - { name: read_file, input: { path: .env } }
      - { name: write_file, input: { path: a.txt, content: \"CONTENTS-NEVER-SENT\\n\" } }
  - text: first done
  - tool_calls: [{ name: write_file, input: { path: b.txt, content: \"b\\n\" } }]
  - text: second done
",
        )
        .commit();
    repo
}

/// The spans of an OTLP/JSON request body.
fn spans(body: &Value) -> Vec<Value> {
    body["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .clone()
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

fn by_name<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

#[test]
fn a_run_exports_its_spans_to_the_endpoint_when_it_ends() {
    let repo = repo();
    let receiver = TestServer::start(vec![Reply::json(200, "{}")]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-team-key=s3cr3t-team-value"),
            ("OTEL_SERVICE_NAME", "agents"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("wf: exported 13 spans"), "{}", r.stderr);
    assert!(!r.stderr.contains("s3cr3t-team-value"), "{}", r.stderr);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/traces")
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("x-team-key"), Some("s3cr3t-team-value"));
    let body = req.json();
    let resource = &body["resourceSpans"][0]["resource"]["attributes"][0];
    assert_eq!(
        resource,
        &json!({"key": "service.name", "value": {"stringValue": "agents"}})
    );

    let spans = spans(&body);
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "invoke_agent two-steps",
            "wf step first",
            "chat script",
            "execute_tool read_file",
            "execute_tool write_file",
            "chat script",
            "wf check unit",
            "wf step second",
            "chat script",
            "execute_tool write_file",
            "chat script",
            "wf check unit",
            "wf checkpoint apply",
        ]
    );
    // One trace; the run is the root; the steps' requests, tools and
    // checks are the steps'; the checkpoint is the run's.
    let trace_id = spans[0]["traceId"].as_str().unwrap();
    assert!(spans.iter().all(|s| s["traceId"] == trace_id));
    let run = &spans[0];
    assert!(run.get("parentSpanId").is_none());
    let id = |s: &Value| s["spanId"].as_str().unwrap().to_string();
    let first = by_name(&spans, "wf step first")[0];
    let second = by_name(&spans, "wf step second")[0];
    assert_eq!(first["parentSpanId"], json!(id(run)));
    let parents: BTreeMap<String, Vec<String>> = spans.iter().fold(BTreeMap::new(), |mut m, s| {
        if let Some(p) = s["parentSpanId"].as_str() {
            m.entry(p.to_string())
                .or_default()
                .push(s["name"].as_str().unwrap().to_string());
        }
        m
    });
    assert_eq!(
        parents[&id(first)],
        [
            "chat script",
            "execute_tool read_file",
            "execute_tool write_file",
            "chat script",
            "wf check unit"
        ]
    );
    assert_eq!(
        parents[&id(second)],
        [
            "chat script",
            "execute_tool write_file",
            "chat script",
            "wf check unit"
        ]
    );
    assert_eq!(
        parents[&id(run)],
        ["wf step first", "wf step second", "wf checkpoint apply"]
    );
    // Attributes: the GenAI conventions, the run's outcome, the denial.
    let chat = by_name(&spans, "chat script")[0];
    assert_eq!(
        attr(chat, "gen_ai.operation.name"),
        Some(&json!({"stringValue": "chat"}))
    );
    assert_eq!(
        attr(chat, "gen_ai.provider.name"),
        Some(&json!({"stringValue": "script"}))
    );
    assert_eq!(
        attr(run, "wf.status"),
        Some(&json!({"stringValue": "succeeded"}))
    );
    assert_eq!(
        attr(run, "wf.task.version"),
        Some(&json!({"stringValue": "1.0.0"}))
    );
    let read = by_name(&spans, "execute_tool read_file")[0];
    assert_eq!(read["status"]["code"], 2);
    let denial = &read["events"][0];
    assert_eq!(denial["name"], "wf.permission_denied");
    assert_eq!(denial["attributes"][0]["value"]["stringValue"], "read");
    assert!(
        denial["attributes"][1]["value"]["stringValue"]
            .as_str()
            .unwrap()
            .contains("not matched by permissions.read"),
        "{denial}"
    );
    let check = by_name(&spans, "wf check unit")[0];
    assert_eq!(
        attr(check, "wf.check.passed"),
        Some(&json!({"boolValue": true}))
    );
    let checkpoint = by_name(&spans, "wf checkpoint apply")[0];
    assert_eq!(
        attr(checkpoint, "wf.checkpoint.state"),
        Some(&json!({"stringValue": "approved"}))
    );
    // Never the contents of a file, a model's words or a secret.
    let text = String::from_utf8_lossy(&req.body);
    for leak in [
        "CONTENTS-NEVER-SENT",
        "hunter2",
        "first done",
        "Write a.txt",
    ] {
        assert!(!text.contains(leak), "{leak} was sent");
    }
}

#[test]
fn the_model_request_spans_carry_tokens_and_cost() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: paid
model: { provider: anthropic, name: claude-sonnet-4-5 }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
",
    )
    .commit();
    let answer = |input: u64| {
        let events = [
            json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": [],
                "model": "claude-sonnet-4-5", "stop_reason": null,
                "usage": {"input_tokens": input, "output_tokens": 1, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 200}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 12}}),
            json!({"type": "message_stop"}),
        ];
        Reply::sse(
            events
                .iter()
                .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
                .collect::<String>(),
        )
    };
    let model = TestServer::start(vec![answer(1000)]);
    let receiver = TestServer::start(vec![Reply::json(200, "{}")]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &model.url),
            ("ANTHROPIC_API_KEY", "sk-ant-test-key-0123456789"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &format!("{}/custom/path", receiver.url),
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let req = &receiver.requests()[0];
    assert_eq!(req.path, "/custom/path");
    let spans = spans(&req.json());
    let chat = by_name(&spans, "chat claude-sonnet-4-5")[0];
    for (k, v) in [
        (
            "gen_ai.request.model",
            json!({"stringValue": "claude-sonnet-4-5"}),
        ),
        ("gen_ai.provider.name", json!({"stringValue": "anthropic"})),
        ("gen_ai.system", json!({"stringValue": "anthropic"})),
        ("gen_ai.usage.input_tokens", json!({"intValue": "1000"})),
        ("gen_ai.usage.output_tokens", json!({"intValue": "12"})),
        (
            "gen_ai.usage.cache_read.input_tokens",
            json!({"intValue": "200"}),
        ),
        (
            "gen_ai.usage.cache_creation.input_tokens",
            json!({"intValue": "5"}),
        ),
    ] {
        assert_eq!(attr(chat, k), Some(&v), "{k}: {chat}");
    }
    let cost = attr(chat, "wf.cost_usd").unwrap()["doubleValue"]
        .as_f64()
        .unwrap();
    let recorded = events(&repo.last_trace(), "model_response")[0]["cost_usd"]
        .as_f64()
        .unwrap();
    assert!(
        (cost - recorded).abs() < 1e-12 && cost > 0.0,
        "{cost} {recorded}"
    );
    assert!(!String::from_utf8_lossy(&req.body).contains("sk-ant-test-key"));
}

#[test]
fn a_failed_export_is_a_warning_and_the_run_keeps_its_exit_code() {
    let repo = repo();
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &dead_url()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20team-secret-token",
            ),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(repo.last_summary()["status"], "succeeded");
    assert!(
        r.stderr
            .contains("wf: warning: the run was not exported to OpenTelemetry: cannot reach"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("`wf export otel "), "{}", r.stderr);
    assert!(!r.stderr.contains("team-secret-token"), "{}", r.stderr);

    // A receiver that refuses: its status and words in the warning.
    let refusing = TestServer::start(vec![Reply::json(400, "{\"message\": \"bad spans\"}")]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &refusing.url)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("answered 400 Bad Request"),
        "{}",
        r.stderr
    );

    // gRPC is refused by name, with the way out; the run is not touched.
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc: wf exports over OTLP/HTTP only; set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"),
        "{}",
        r.stderr
    );
}

#[test]
fn export_otel_after_the_fact_sends_the_same_request_with_the_recorded_times() {
    let repo = repo();
    let receiver = TestServer::start(vec![Reply::json(200, "{}"), Reply::json(200, "{}")]);
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ];
    repo.wf_env(&["run", "task.yaml", "--yes"], &env).code(0);
    let r = repo.wf_env(&["export", "otel", "last"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("exported 13 spans"), "{}", r.stderr);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    // The same ids and times: a second export is the same request.
    assert_eq!(requests[0].body, requests[1].body);
    // `-o -` writes that request, unsent.
    let printed = repo.wf(&["export", "otel", "last", "-o", "-"]);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let body: Value = serde_json::from_str(&printed.stdout).unwrap();
    assert_eq!(spans(&body), spans(&requests[0].json()));
    // The run span starts at the recorded `at`, and ends at the recorded
    // end (`t_ms` after it).
    let trace = repo.last_trace();
    let at = trace[0]["at"].as_str().unwrap();
    let start = wf::sys::clock::unix_seconds(at).unwrap() as u64 * 1_000_000_000;
    let end = start + trace.last().unwrap()["t_ms"].as_u64().unwrap() * 1_000_000;
    let run = &spans(&body)[0];
    assert_eq!(run["startTimeUnixNano"], json!(start.to_string()));
    assert_eq!(run["endTimeUnixNano"], json!(end.to_string()));
    // http/protobuf, to a file.
    let out = repo.tmp().join("spans.pb");
    let written = repo.wf(&[
        "export",
        "otel",
        "last",
        "-o",
        out.to_str().unwrap(),
        "--protocol",
        "http/protobuf",
    ]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let pb = std::fs::read(&out).unwrap();
    assert_eq!(pb[0], 0x0a, "field 1, length-delimited: resource_spans");
    assert!(pb.windows(11).any(|w| w == b"wf step fir"));
}

#[test]
fn export_otel_without_a_receiver_says_which_variable_to_set() {
    let repo = repo();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let r = repo.wf(&["export", "otel", "last"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("set OTEL_EXPORTER_OTLP_ENDPOINT"),
        "{}",
        r.stderr
    );
    let r = repo.wf(&["export", "otel", "nosuchrun"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// Parses an `http/protobuf` body and an `http/json` body of the same run
/// with the reference `opentelemetry-proto` classes and compares them.
const DECODE: &str = r#"
import base64, json, sys
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
binary = ExportTraceServiceRequest()
binary.ParseFromString(open(sys.argv[1], "rb").read())
doc = json.load(open(sys.argv[2]))
for rs in doc["resourceSpans"]:
    for ss in rs["scopeSpans"]:
        for span in ss["spans"]:
            for key in ("traceId", "spanId", "parentSpanId"):
                if key in span:
                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
from_json = json_format.ParseDict(doc, ExportTraceServiceRequest())
assert binary == from_json, "the two encodings differ"
print(len(binary.resource_spans[0].scope_spans[0].spans), "spans, same message")
"#;

/// A free local TCP port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Arize Phoenix, a real OpenTelemetry trace store (OTLP/HTTP on
/// `/v1/traces`, binary protobuf), pinned and installed by `.ci/run`,
/// which sets `WF_TEST_OTLP_RECEIVER` to its `phoenix` program. Its REST
/// API gives the spans back as stored.
#[test]
#[ignore = "needs a real OTLP receiver: .ci/run installs Arize Phoenix and sets WF_TEST_OTLP_RECEIVER"]
fn real_receiver_stores_the_spans_with_their_parents_and_attributes() {
    let phoenix = std::env::var("WF_TEST_OTLP_RECEIVER").expect(
        "this test needs a real OTLP receiver: set WF_TEST_OTLP_RECEIVER to Arize Phoenix's `phoenix` (.ci/run installs it)",
    );
    assert!(
        std::path::Path::new(&phoenix).is_file(),
        "WF_TEST_OTLP_RECEIVER={phoenix} is not a file"
    );
    let work = tempfile::tempdir().unwrap();
    let (port, grpc) = (free_port(), free_port());
    let log = std::fs::File::create(work.path().join("phoenix.log")).unwrap();
    let mut server = std::process::Command::new(&phoenix)
        .arg("serve")
        .env("PHOENIX_WORKING_DIR", work.path())
        .env("PHOENIX_HOST", "127.0.0.1")
        .env("PHOENIX_PORT", port.to_string())
        .env("PHOENIX_GRPC_PORT", grpc.to_string())
        .env("PHOENIX_TELEMETRY_ENABLED", "false")
        .env("DO_NOT_TRACK", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        if let Ok(Some(status)) = server.try_wait() {
            panic!(
                "phoenix exited {status}: {}",
                std::fs::read_to_string(work.path().join("phoenix.log")).unwrap_or_default()
            );
        }
        assert!(
            std::time::Instant::now() < until,
            "phoenix did not start in 180 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let _server = Kill(server);

    // A run exported as it ends (http/protobuf, the default), and one
    // exported after the fact.
    let repo = repo();
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &base)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("http/protobuf"), "{}", r.stderr);
    let live_id = repo.last_trace()[0]["run_id"].as_str().unwrap().to_string();
    // The second run makes the same change again (so it has an apply
    // checkpoint too).
    for applied in ["a.txt", "b.txt"] {
        std::fs::remove_file(repo.join(applied)).unwrap();
    }
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let later_id = repo.last_trace()[0]["run_id"].as_str().unwrap().to_string();
    let r = repo.wf_env(
        &["export", "otel", &later_id],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &base)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Both encodings, read back by the reference protobuf library
    // (`opentelemetry-proto`, in the receiver's environment): the binary
    // parses, and the JSON (ids hex, as OTLP/JSON has them) is the same
    // message.
    let (pb, js) = (work.path().join("spans.pb"), work.path().join("spans.json"));
    for (file, protocol) in [(&pb, "http/protobuf"), (&js, "http/json")] {
        let out = file.to_str().unwrap();
        repo.wf(&[
            "export",
            "otel",
            &live_id,
            "-o",
            out,
            "--protocol",
            protocol,
        ])
        .code(0);
    }
    let python = std::path::Path::new(&phoenix).with_file_name("python");
    let check = std::process::Command::new(&python)
        .args(["-c", DECODE, pb.to_str().unwrap(), js.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "13 spans, same message"
    );

    // Phoenix writes spans asynchronously: wait for all of them.
    let mut stored: Vec<Value> = Vec::new();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while stored.len() < 26 {
        assert!(
            std::time::Instant::now() < until,
            "only {} spans stored: {:?}",
            stored.len(),
            stored
                .iter()
                .map(|s| format!("{} {}", s["context"]["trace_id"], s["name"]))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
        let got: Value = client
            .get(format!("{base}/v1/projects/default/spans?limit=1000"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        stored = got["data"].as_array().cloned().unwrap_or_default();
    }
    for run_id in [&live_id, &later_id] {
        let run = stored
            .iter()
            .find(|s| s["attributes"]["wf.run.id"] == json!(run_id))
            .unwrap_or_else(|| panic!("no run span of {run_id}"));
        assert_eq!(run["name"], "invoke_agent two-steps");
        assert!(run["parent_id"].is_null(), "{run}");
        let trace_id = run["context"]["trace_id"].as_str().unwrap();
        let of_run: Vec<&Value> = stored
            .iter()
            .filter(|s| s["context"]["trace_id"] == trace_id)
            .collect();
        assert_eq!(of_run.len(), 13, "{of_run:?}");
        let id_of = |name: &str| {
            of_run
                .iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("no {name}"))["context"]["span_id"]
                .clone()
        };
        let run_span = run["context"]["span_id"].clone();
        let first = id_of("wf step first");
        for s in &of_run {
            let want = match s["name"].as_str().unwrap() {
                "invoke_agent two-steps" => Value::Null,
                "wf step first" | "wf step second" | "wf checkpoint apply" => run_span.clone(),
                "execute_tool read_file" => first.clone(),
                _ => s["parent_id"].clone(),
            };
            assert_eq!(s["parent_id"], want, "{s}");
        }
        let chat = of_run.iter().find(|s| s["name"] == "chat script").unwrap();
        assert_eq!(chat["attributes"]["gen_ai.operation.name"], "chat");
        assert_eq!(chat["attributes"]["gen_ai.request.model"], "script");
        assert_eq!(
            chat["span_kind"], "LLM",
            "Phoenix reads the GenAI conventions"
        );
        let read = of_run
            .iter()
            .find(|s| s["name"] == "execute_tool read_file")
            .unwrap();
        assert_eq!(read["status_code"], "ERROR");
        assert_eq!(read["events"][0]["name"], "wf.permission_denied");
        assert_eq!(read["events"][0]["attributes"]["wf.denied.rule"], "read");
        let check = of_run
            .iter()
            .find(|s| s["name"] == "wf check unit")
            .unwrap();
        assert_eq!(check["attributes"]["wf.check.passed"], true);
        assert_eq!(run["attributes"]["wf.status"], "succeeded");
        let all = serde_json::to_string(&of_run).unwrap();
        assert!(!all.contains("CONTENTS-NEVER-SENT") && !all.contains("hunter2"));
    }
}

/// A run paused at its apply checkpoint is exported when `wf run` stops,
/// and again, whole, when `wf resume` ends it: the same trace id and span
/// ids (they come from the run id), now with the approved checkpoint.
#[test]
fn a_resumed_run_is_exported_again_with_the_same_ids_and_its_end() {
    let repo = repo();
    let receiver = TestServer::start(vec![Reply::json(200, "{}"), Reply::json(200, "{}")]);
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ];
    let r = repo.wf_env(&["run", "task.yaml"], &env);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("wf: exported"), "{}", r.stderr);
    let r = repo.wf_env(&["resume", "last", "--yes"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("wf: exported"), "{}", r.stderr);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let (paused, ended) = (spans(&requests[0].json()), spans(&requests[1].json()));
    assert_eq!(paused[0]["traceId"], ended[0]["traceId"]);
    assert_eq!(paused[0]["spanId"], ended[0]["spanId"]);
    // The paused run's checkpoint span, then the resumed run's.
    let checkpoint = |spans: &[Value]| {
        by_name(spans, "wf checkpoint apply")
            .iter()
            .map(|s| attr(s, "wf.checkpoint.state").cloned())
            .collect::<Vec<_>>()
    };
    assert!(
        !by_name(&ended, "wf checkpoint apply").is_empty(),
        "{ended:?}"
    );
    assert!(
        ended.len() >= paused.len(),
        "{} < {}",
        ended.len(),
        paused.len()
    );
    assert_ne!(checkpoint(&paused), checkpoint(&ended));
    assert_eq!(
        checkpoint(&ended).last(),
        Some(&Some(json!({"stringValue": "approved"}))),
        "{:?}",
        checkpoint(&ended)
    );
}
