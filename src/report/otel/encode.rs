//! The two OTLP/HTTP encodings of a [`Trace`]: JSON (`http/json`) and
//! binary protobuf (`http/protobuf`).
//!
//! # Why a small encoder of wf's own
//!
//! The maintained `opentelemetry` crates build their HTTP exporters on an
//! async runtime (or a background thread with its own batching), and wf is
//! synchronous: one blocking `reqwest` client, no runtime. wf also exports
//! *after* the run, from the trace, not while it runs: the spans are
//! already complete, so none of the SDK's machinery (context propagation,
//! sampling, batching, span processors) has anything to do. What is left
//! is one request of a few well-specified messages
//! (`ExportTraceServiceRequest`), which this module writes itself, in both
//! encodings OTLP/HTTP defines. gRPC is not spoken: every receiver that
//! takes OTLP over gRPC (4317) takes it over HTTP too (4318).

use super::*;

// ------------------------------------------------------------ JSON

fn json_value(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Str(s) => json!({ "stringValue": s }),
        // OTLP JSON writes 64-bit integers as strings.
        Value::Int(n) => json!({ "intValue": n.to_string() }),
        Value::Float(f) => json!({ "doubleValue": f }),
        Value::Bool(b) => json!({ "boolValue": b }),
        Value::Strs(list) => json!({ "arrayValue": { "values":
            list.iter().map(|s| json!({ "stringValue": s })).collect::<Vec<_>>() } }),
    }
}

fn json_attributes(a: &Attributes) -> serde_json::Value {
    serde_json::Value::Array(
        a.iter()
            .map(|(k, v)| serde_json::json!({ "key": k, "value": json_value(v) }))
            .collect(),
    )
}

/// The trace as an OTLP `ExportTraceServiceRequest` in JSON (`http/json`).
pub fn to_json(trace: &Trace) -> serde_json::Value {
    use serde_json::json;
    let trace_id = hex(&trace.trace_id);
    let spans: Vec<serde_json::Value> = trace
        .spans
        .iter()
        .map(|s| {
            let mut span = json!({
                "traceId": trace_id,
                "spanId": hex(&s.span_id),
                "name": s.name,
                "kind": s.kind as i32,
                "startTimeUnixNano": s.start_ns.to_string(),
                "endTimeUnixNano": s.end_ns.to_string(),
                "attributes": json_attributes(&s.attributes),
                "events": s.events.iter().map(|e| json!({
                    "timeUnixNano": e.time_ns.to_string(),
                    "name": e.name,
                    "attributes": json_attributes(&e.attributes),
                })).collect::<Vec<_>>(),
            });
            if let Some(p) = s.parent {
                span["parentSpanId"] = json!(hex(&p));
            }
            // Unset stays absent, as in the binary encoding.
            if let Some(m) = &s.error {
                span["status"] = json!({ "code": 2, "message": m });
            }
            span
        })
        .collect();
    json!({ "resourceSpans": [{
        "resource": { "attributes": json_attributes(&trace.resource) },
        "scopeSpans": [{
            "scope": { "name": "wf", "version": env!("CARGO_PKG_VERSION") },
            "spans": spans,
        }],
    }]})
}

// ------------------------------------------------------------ protobuf

/// Protobuf wire writing: only what these messages need.
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn tag(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.tag(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    fn message(&mut self, field: u32, f: impl FnOnce(&mut Pb)) {
        let mut inner = Pb(Vec::new());
        f(&mut inner);
        self.bytes(field, &inner.0);
    }
    fn uint(&mut self, field: u32, v: u64) {
        self.tag(field, 0);
        self.varint(v);
    }
    fn fixed64(&mut self, field: u32, v: u64) {
        self.tag(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn double(&mut self, field: u32, v: f64) {
        self.fixed64(field, v.to_bits());
    }
}

fn pb_any(p: &mut Pb, v: &Value) {
    // AnyValue: string 1, bool 2, int 3, double 4, array 5.
    match v {
        Value::Str(s) => p.string(1, s),
        Value::Bool(b) => p.uint(2, u64::from(*b)),
        Value::Int(n) => p.uint(3, *n as u64),
        Value::Float(f) => p.double(4, *f),
        Value::Strs(list) => p.message(5, |arr| {
            for s in list {
                arr.message(1, |any| any.string(1, s));
            }
        }),
    }
}

fn pb_attributes(p: &mut Pb, field: u32, a: &Attributes) {
    // KeyValue: key 1, value 2.
    for (k, v) in a {
        p.message(field, |kv| {
            kv.string(1, k);
            kv.message(2, |any| pb_any(any, v));
        });
    }
}

/// The trace as an OTLP `ExportTraceServiceRequest` in binary protobuf
/// (`http/protobuf`).
pub fn to_protobuf(trace: &Trace) -> Vec<u8> {
    let mut p = Pb(Vec::new());
    // ExportTraceServiceRequest.resource_spans = 1
    p.message(1, |rs| {
        // ResourceSpans.resource = 1 { attributes = 1 }
        rs.message(1, |res| pb_attributes(res, 1, &trace.resource));
        // ResourceSpans.scope_spans = 2
        rs.message(2, |ss| {
            // ScopeSpans.scope = 1 { name = 1, version = 2 }
            ss.message(1, |scope| {
                scope.string(1, "wf");
                scope.string(2, env!("CARGO_PKG_VERSION"));
            });
            for s in &trace.spans {
                // ScopeSpans.spans = 2
                ss.message(2, |sp| {
                    sp.bytes(1, &trace.trace_id);
                    sp.bytes(2, &s.span_id);
                    if let Some(parent) = &s.parent {
                        sp.bytes(4, parent);
                    }
                    sp.string(5, &s.name);
                    sp.uint(6, s.kind as u64);
                    sp.fixed64(7, s.start_ns);
                    sp.fixed64(8, s.end_ns);
                    pb_attributes(sp, 9, &s.attributes);
                    for e in &s.events {
                        // Span.events = 11 { time 1, name 2, attributes 3 }
                        sp.message(11, |ev| {
                            ev.fixed64(1, e.time_ns);
                            ev.string(2, &e.name);
                            pb_attributes(ev, 3, &e.attributes);
                        });
                    }
                    if let Some(m) = &s.error {
                        // Span.status = 15 { message 2, code 3 (ERROR = 2) }
                        sp.message(15, |st| {
                            st.string(2, m);
                            st.uint(3, 2);
                        });
                    }
                });
            }
        });
    });
    p.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::otel::builder::tests::trace;
    use serde_json::json;

    #[test]
    fn the_json_is_otlp_json() {
        let t = trace();
        let v = to_json(&t);
        let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][2];
        assert_eq!(span["traceId"], json!(hex(&t.trace_id)));
        assert_eq!(span["traceId"].as_str().unwrap().len(), 32);
        assert_eq!(span["parentSpanId"].as_str().unwrap().len(), 16);
        assert_eq!(span["kind"], json!(3));
        // 64-bit integers are strings in OTLP JSON.
        assert!(span["startTimeUnixNano"].is_string());
        let tokens = span["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == "gen_ai.usage.input_tokens")
            .unwrap();
        assert_eq!(tokens["value"], json!({"intValue": "1000"}));
        let run = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(
            run["status"],
            json!({"code": 2, "message": "check unit failed"})
        );
        assert!(run.get("parentSpanId").is_none());
    }

    /// Reads protobuf fields (number, wire type, payload) of one message.
    fn fields(mut b: &[u8]) -> Vec<(u32, u8, Vec<u8>)> {
        fn varint(b: &mut &[u8]) -> u64 {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let byte = b[0];
                *b = &b[1..];
                v |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = varint(&mut b);
            let (field, wire) = ((key >> 3) as u32, (key & 7) as u8);
            let payload = match wire {
                0 => varint(&mut b).to_le_bytes().to_vec(),
                1 => {
                    let p = b[..8].to_vec();
                    b = &b[8..];
                    p
                }
                2 => {
                    let n = varint(&mut b) as usize;
                    let p = b[..n].to_vec();
                    b = &b[n..];
                    p
                }
                other => panic!("wire type {other}"),
            };
            out.push((field, wire, payload));
        }
        out
    }

    #[test]
    fn the_protobuf_has_the_otlp_field_numbers() {
        let t = trace();
        let top = fields(&to_protobuf(&t));
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].0, 1, "ExportTraceServiceRequest.resource_spans");
        let rs = fields(&top[0].2);
        assert_eq!((rs[0].0, rs[1].0), (1, 2), "resource, scope_spans");
        let ss = fields(&rs[1].2);
        let scope = fields(&ss[0].2);
        assert_eq!(scope[0], (1, 2, b"wf".to_vec()));
        let spans: Vec<_> = ss.iter().filter(|f| f.0 == 2).collect();
        assert_eq!(spans.len(), t.spans.len());
        let chat = fields(&spans[2].2);
        let get = |n: u32| chat.iter().find(|f| f.0 == n).unwrap();
        assert_eq!(get(1).2, t.trace_id.to_vec());
        assert_eq!(get(2).2, t.spans[2].span_id.to_vec());
        assert_eq!(get(4).2, t.spans[1].span_id.to_vec());
        assert_eq!(get(5).2, b"chat claude-sonnet-4-5".to_vec());
        assert_eq!(get(6).2[0], 3, "SPAN_KIND_CLIENT");
        assert_eq!((get(7).1, get(8).1), (1, 1), "fixed64 times");
        assert_eq!(
            u64::from_le_bytes(get(7).2.clone().try_into().unwrap()),
            t.spans[2].start_ns
        );
        // An int attribute: KeyValue { key, AnyValue { int_value = 3 } }.
        let tokens = chat
            .iter()
            .filter(|f| f.0 == 9)
            .map(|f| fields(&f.2))
            .find(|kv| kv[0].2 == b"gen_ai.usage.input_tokens")
            .unwrap();
        let any = fields(&tokens[1].2);
        assert_eq!(
            (
                any[0].0,
                u64::from_le_bytes(any[0].2.clone().try_into().unwrap())
            ),
            (3, 1000)
        );
        // The run's status: ERROR with its message.
        let run = fields(&spans[0].2);
        let status = fields(&run.iter().find(|f| f.0 == 15).unwrap().2);
        assert_eq!(status[0], (2, 2, b"check unit failed".to_vec()));
        assert_eq!(status[1].0, 3);
        assert_eq!(status[1].2[0], 2);
    }
}
