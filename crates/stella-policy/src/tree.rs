//! A YAML document read into a small tree, within bounds, from the parser's events.
//!
//! The tree is built here rather than by a YAML deserialiser so that nothing is ever expanded:
//! anchors and aliases are refused at the event that names them (a billion-laughs document
//! costs what its text costs), tags are refused, nesting depth and node count are bounded, and
//! every node keeps the line and column it started at.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Deeper than any policy needs (a policy is three levels deep).
pub(crate) const MAX_DEPTH: usize = 16;
/// Nodes in one document: rules × keys × list items, with room to spare.
pub(crate) const MAX_NODES: usize = 100_000;

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) line: usize,
    pub(crate) col: usize,
}

#[derive(Debug)]
pub(crate) enum Value {
    /// A plain `~`, `null` or empty scalar.
    Null,
    /// Any other scalar, as text: the schema decides what it means.
    Scalar(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are scalars (checked while building).
    Map(Vec<(String, Node)>),
}

impl Value {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Scalar(_) => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Why a document could not be read: where, and what.
#[derive(Debug)]
pub(crate) struct TreeError {
    pub(crate) line: usize,
    pub(crate) col: usize,
    pub(crate) msg: String,
}

impl std::fmt::Display for TreeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} column {}: {}", self.line, self.col, self.msg)
    }
}

enum Frame {
    Seq(Node),
    /// The mapping so far, and the key read whose value is awaited.
    Map(Node, Option<(String, usize, usize)>),
}

fn err(span: &Span, msg: impl Into<String>) -> TreeError {
    TreeError {
        line: span.start.line(),
        col: span.start.col() + 1,
        msg: msg.into(),
    }
}

/// Reads one YAML document. `Ok(None)` for a stream without a document (empty or comments
/// only).
pub(crate) fn read(text: &str) -> Result<Option<Node>, TreeError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut nodes = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| TreeError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            msg: format!("YAML syntax error: {}", e.info()),
        })?;
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(err(&span, "Only one YAML document is allowed"));
                }
                continue;
            }
            Event::Alias(_) => {
                return Err(err(&span, "YAML aliases are not supported"));
            }
            Event::Scalar(text, style, anchor, tag) => {
                refuse_anchor_and_tag(&span, anchor, tag.is_some())?;
                let value = if style == ScalarStyle::Plain
                    && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Value::Null
                } else {
                    Value::Scalar(text.into_owned())
                };
                Node {
                    value,
                    line: span.start.line(),
                    col: span.start.col() + 1,
                }
            }
            Event::SequenceStart(anchor, tag) => {
                refuse_anchor_and_tag(&span, anchor, tag.is_some())?;
                open(&mut stack, &mut nodes, &span, Value::Seq(Vec::new()))?;
                continue;
            }
            Event::MappingStart(anchor, tag) => {
                refuse_anchor_and_tag(&span, anchor, tag.is_some())?;
                open(&mut stack, &mut nodes, &span, Value::Map(Vec::new()))?;
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(node)) | Some(Frame::Map(node, None)) => node,
                Some(Frame::Map(_, Some(_))) | None => {
                    return Err(err(&span, "YAML syntax error: unbalanced collection"))
                }
            },
        };
        if !matches!(node.value, Value::Seq(_) | Value::Map(_)) {
            nodes += 1;
            if nodes > MAX_NODES {
                return Err(err(&span, format!("More than {MAX_NODES} YAML nodes")));
            }
        }
        match stack.last_mut() {
            None => {
                if root.is_some() {
                    return Err(err(&span, "Only one YAML document is allowed"));
                }
                root = Some(node);
            }
            Some(Frame::Seq(seq)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, pending)) => match pending.take() {
                None => match node.value {
                    Value::Scalar(key) => *pending = Some((key, node.line, node.col)),
                    Value::Null => *pending = Some(("null".to_owned(), node.line, node.col)),
                    _ => {
                        return Err(TreeError {
                            line: node.line,
                            col: node.col,
                            msg: "Mapping keys must be scalars".to_owned(),
                        })
                    }
                },
                Some((key, line, col)) => {
                    if let Value::Map(entries) = &mut map.value {
                        if entries.iter().any(|(k, _)| *k == key) {
                            return Err(TreeError {
                                line,
                                col,
                                msg: format!("Duplicate key '{key}'"),
                            });
                        }
                        entries.push((key, node));
                    }
                }
            },
        }
    }
    Ok(root)
}

/// Starts a collection, within the depth and node bounds.
fn open(
    stack: &mut Vec<Frame>,
    nodes: &mut usize,
    span: &Span,
    value: Value,
) -> Result<(), TreeError> {
    if stack.len() >= MAX_DEPTH {
        return Err(err(span, format!("Nested deeper than {MAX_DEPTH} levels")));
    }
    *nodes += 1;
    if *nodes > MAX_NODES {
        return Err(err(span, format!("More than {MAX_NODES} YAML nodes")));
    }
    let node = Node {
        value,
        line: span.start.line(),
        col: span.start.col() + 1,
    };
    stack.push(match node.value {
        Value::Map(_) => Frame::Map(node, None),
        _ => Frame::Seq(node),
    });
    Ok(())
}

fn refuse_anchor_and_tag(span: &Span, anchor: usize, tagged: bool) -> Result<(), TreeError> {
    if anchor != 0 {
        return Err(err(span, "YAML anchors are not supported"));
    }
    if tagged {
        return Err(err(span, "YAML tags are not supported"));
    }
    Ok(())
}
