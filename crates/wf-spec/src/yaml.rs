//! YAML text → a tree of [`Node`]s that remember where they came from.
//!
//! wf reads task files with `saphyr-parser`, a maintained YAML 1.2 event
//! parser, and builds its own small tree so that every key and value carries
//! its line and column; all later errors (schema, semantic) point into the
//! file through these spans.
//!
//! A task file is untrusted input, so the loader bounds everything it builds:
//! nesting depth, the number of nodes (which also bounds alias expansion, the
//! "billion laughs" attack), and only one document per file. Plain scalars are
//! resolved with the YAML 1.2 core schema (`yes`/`no`/`on`/`off` are strings).

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};
use std::collections::BTreeMap;

/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a task file may expand to, aliases included.
pub const MAX_NODES: usize = 100_000;

/// A position in the source: 1-based line, 1-based column (in characters),
/// and the 0-based character offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    /// 0-based character index into the source.
    pub index: usize,
}

/// A region of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span {
    /// Where it starts.
    pub start: Pos,
    /// Where it ends (exclusive).
    pub end: Pos,
}

impl Span {
    fn from_parser(s: YSpan) -> Span {
        let conv = |m: saphyr_parser::Marker| Pos {
            line: m.line(),
            col: m.col() + 1,
            index: m.index(),
        };
        Span {
            start: conv(s.start),
            end: conv(s.end),
        }
    }
}

/// A YAML value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it is in the file.
    pub span: Span,
    /// For scalars: how it was written (block scalars start on the next line).
    pub style: Option<ScalarStyle>,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with string keys, in file order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A failure to read YAML, with where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// Lowercase message.
    pub message: String,
    /// Where.
    pub span: Span,
}

impl Node {
    /// The entry of a mapping named `key`.
    pub fn get(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Converts to JSON (for schema validation and deserialization).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The node at a JSON pointer (`/a/0/b`), and the key that leads to it
    /// when the last step is a mapping key.
    pub fn at_pointer(&self, pointer: &str) -> (Option<&Key>, &Node) {
        let mut node = self;
        let mut key = None;
        if pointer.is_empty() {
            return (None, node);
        }
        for raw in pointer.trim_start_matches('/').split('/') {
            let part = raw.replace("~1", "/").replace("~0", "~");
            match &node.value {
                Value::Map(entries) => match entries.iter().find(|(k, _)| k.name == part) {
                    Some((k, v)) => {
                        key = Some(k);
                        node = v;
                    }
                    None => break,
                },
                Value::Seq(items) => match part.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    Some(v) => {
                        key = None;
                        node = v;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        (key, node)
    }
}

/// Reads and parses a YAML file that is not a task file (a script, a
/// recipe test file); errors are `path:line:col: message`.
pub fn parse_file(path: &std::path::Path) -> Result<Node, String> {
    parse_located(path, &read(path)?)
}

/// Reads a YAML file that is not a task file (a script of turns, a recipe
/// test file, `wf.lock`) into a `T`. Every error is `path:line:col:
/// message`, at the key (or value) a deserialization error is about.
pub fn load_yaml<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, String> {
    load_yaml_text(path, &read(path)?)
}

/// [`load_yaml`] for text already read from `path`.
pub fn load_yaml_text<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    text: &str,
) -> Result<T, String> {
    let root = parse_located(path, text)?;
    serde_path_to_error::deserialize(root.to_json()).map_err(|e| {
        let (key, node) = root.at_pointer(&pointer_of(e.path()));
        let span = key.map_or(node.span, |k| k.span);
        located(path, span.start, e.into_inner())
    })
}

fn read(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Parses `text`, read from `path`; errors are `path:line:col: message`.
fn parse_located(path: &std::path::Path, text: &str) -> Result<Node, String> {
    parse(text).map_err(|e| located(path, e.span.start, e.message))
}

/// `path:line:col: message`.
fn located(path: &std::path::Path, at: Pos, message: impl std::fmt::Display) -> String {
    format!("{}:{}:{}: {message}", path.display(), at.line, at.col)
}

/// The JSON pointer of a deserialization error's path, to find its node
/// with [`Node::at_pointer`].
pub fn pointer_of(path: &serde_path_to_error::Path) -> String {
    path.iter()
        .map(|seg| match seg {
            serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
            serde_path_to_error::Segment::Map { key } => {
                format!("/{}", key.replace('~', "~0").replace('/', "~1"))
            }
            _ => String::new(),
        })
        .collect()
}

/// Parses one YAML document. An empty file is a null node.
pub fn parse(source: &str) -> Result<Node, YamlError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(source),
        anchors: BTreeMap::new(),
        nodes: 0,
    };
    builder.document()
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: BTreeMap<usize, Node>,
    nodes: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => Ok((event, Span::from_parser(span))),
            Some(Err(e)) => {
                let m = e.marker();
                let pos = Pos {
                    line: m.line(),
                    col: m.col() + 1,
                    index: m.index(),
                };
                Err(YamlError {
                    message: format!("invalid YAML: {}", e.info()),
                    span: Span {
                        start: pos,
                        end: pos,
                    },
                })
            }
            None => Err(YamlError {
                message: "invalid YAML: unexpected end of input".into(),
                span: Span::default(),
            }),
        }
    }

    fn document(&mut self) -> Result<Node, YamlError> {
        let mut root = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart(_) => {
                    if root.is_some() {
                        return Err(YamlError {
                            message: "a task file holds one YAML document; found a second `---`"
                                .into(),
                            span,
                        });
                    }
                    let (event, span) = self.next()?;
                    root = Some(self.node(event, span, 0)?);
                }
                Event::StreamEnd => break,
                _ => {
                    return Err(YamlError {
                        message: "invalid YAML: unexpected content outside a document".into(),
                        span,
                    });
                }
            }
        }
        Ok(root.unwrap_or(Node {
            value: Value::Null,
            span: Span::default(),
            style: None,
        }))
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(YamlError {
                message: format!(
                    "the file expands to more than {MAX_NODES} YAML nodes (anchors and aliases included); task files are small"
                ),
                span,
            });
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, YamlError> {
        if depth > MAX_DEPTH {
            return Err(YamlError {
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                span,
            });
        }
        self.count(1, span)?;
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_deref(), span)?;
                let node = Node {
                    value,
                    span,
                    style: Some(style),
                };
                (node, anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), span)?;
                let mut items = Vec::new();
                let end = loop {
                    let (event, ispan) = self.next()?;
                    if event == Event::SequenceEnd {
                        break ispan;
                    }
                    items.push(self.node(event, ispan, depth + 1)?);
                };
                let node = Node {
                    value: Value::Seq(items),
                    span: Span {
                        start: span.start,
                        end: end.end,
                    },
                    style: None,
                };
                (node, anchor)
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), span)?;
                let mut entries: Vec<(Key, Node)> = Vec::new();
                let end = loop {
                    let (event, kspan) = self.next()?;
                    if event == Event::MappingEnd {
                        break kspan;
                    }
                    let key_node = self.node(event, kspan, depth + 1)?;
                    let name = match key_node.value {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Null => "null".to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(YamlError {
                                message:
                                    "a mapping key must be a plain value, not a list or mapping"
                                        .into(),
                                span: key_node.span,
                            });
                        }
                    };
                    let key = Key {
                        name,
                        span: key_node.span,
                    };
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                        return Err(YamlError {
                            message: format!(
                                "duplicate key `{}` (first given on line {})",
                                key.name, first.span.start.line
                            ),
                            span: key.span,
                        });
                    }
                    let (event, vspan) = self.next()?;
                    let value = self.node(event, vspan, depth + 1)?;
                    entries.push((key, value));
                };
                let node = Node {
                    value: Value::Map(entries),
                    span: Span {
                        start: span.start,
                        end: end.end,
                    },
                    style: None,
                };
                (node, anchor)
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(YamlError {
                        message: "alias to an unknown anchor".into(),
                        span,
                    });
                };
                let mut copy = target.clone();
                let size = count_nodes(&copy);
                self.count(size, span)?;
                copy.span = span;
                return Ok(copy);
            }
            _ => {
                return Err(YamlError {
                    message: "invalid YAML: unexpected event".into(),
                    span,
                });
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| 1 + count_nodes(v)).sum(),
        _ => 0,
    }
}

fn check_collection_tag(tag: Option<&saphyr_parser::Tag>, span: Span) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == "tag:yaml.org,2002:" && (t.suffix == "map" || t.suffix == "seq") => {
            Ok(())
        }
        Some(t) => Err(YamlError {
            message: format!(
                "YAML tag `{}{}` is not supported in task files",
                t.handle, t.suffix
            ),
            span,
        }),
    }
}

fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
    span: Span,
) -> Result<Value, YamlError> {
    if let Some(t) = tag {
        if t.handle == "tag:yaml.org,2002:" && t.suffix == "str" {
            return Ok(Value::Str(text.to_string()));
        }
        return Err(YamlError {
            message: format!(
                "YAML tag `{}{}` is not supported in task files",
                t.handle, t.suffix
            ),
            span,
        });
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::Str(text.to_string()));
    }
    Ok(resolve_plain(text))
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let is_int = |s: &str| {
        let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if is_int(text) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
        // Out of range for i64: keep it as written rather than lose digits.
        return Value::Str(text.to_string());
    }
    if let Some(hex) = text.strip_prefix("0x")
        && !hex.is_empty()
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && !oct.is_empty()
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let looks_float = {
        let body = text.strip_prefix(['-', '+']).unwrap_or(text);
        let mut chars = body.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_digit() || c == '.')
            && body.chars().any(|c| c.is_ascii_digit())
            && body
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
    };
    if looks_float && let Ok(f) = text.parse::<f64>() {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(src: &str) -> serde_json::Value {
        parse(src).unwrap().to_json()
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        n: u32,
    }

    #[test]
    fn load_yaml_errors_are_located() {
        let path = std::path::Path::new("f.yaml");
        let doc: Doc = load_yaml_text(path, "items:\n  - n: 1\n").unwrap();
        assert_eq!(doc.items.len(), 1);
        let wrong = load_yaml_text::<Doc>(path, "items:\n  - n: 1\n  - n: x\n").unwrap_err();
        assert!(wrong.starts_with("f.yaml:3:5: invalid type"), "{wrong}");
        let unknown = load_yaml_text::<Doc>(path, "items: []\nextra: 1\n").unwrap_err();
        assert!(
            unknown.starts_with("f.yaml:2:1: unknown field `extra`"),
            "{unknown}"
        );
        let broken = load_yaml_text::<Doc>(path, "items: [\n").unwrap_err();
        assert!(broken.starts_with("f.yaml:"), "{broken}");
        let missing = load_yaml::<Doc>(std::path::Path::new("/nonexistent/f.yaml")).unwrap_err();
        assert!(
            missing.starts_with("cannot read /nonexistent/f.yaml"),
            "{missing}"
        );
    }

    #[test]
    fn core_schema_scalars() {
        assert_eq!(
            json("a: yes\nb: true\nc: 12\nd: 1.5\ne: ~\nf: '12'\ng: 0x1F\nh: on"),
            serde_json::json!({"a":"yes","b":true,"c":12,"d":1.5,"e":null,"f":"12","g":31,"h":"on"})
        );
    }

    #[test]
    fn spans_are_one_based() {
        let root = parse("wf: 1\nname: demo\n").unwrap();
        let (key, value) = root.get("name").unwrap();
        assert_eq!((key.span.start.line, key.span.start.col), (2, 1));
        assert_eq!((value.span.start.line, value.span.start.col), (2, 7));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(err.message.contains("duplicate key `a`"), "{}", err.message);
        assert_eq!(err.span.start.line, 3);
    }

    #[test]
    fn aliases_expand_within_a_bound() {
        assert_eq!(
            json("a: &x [1, 2]\nb: *x\n"),
            serde_json::json!({"a":[1,2],"b":[1,2]})
        );
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("more than"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nesting") || err.message.contains("invalid YAML"));
    }

    #[test]
    fn pointer_lookup_finds_key_and_value() {
        let root = parse("checks:\n  - name: a\n    run: x\n").unwrap();
        let (key, node) = root.at_pointer("/checks/0/run");
        assert_eq!(key.unwrap().name, "run");
        assert_eq!(node.span.start.line, 3);
    }
}
