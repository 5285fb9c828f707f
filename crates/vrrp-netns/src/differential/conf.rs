//! A small, tolerant reader of keepalived.conf structure: statements (words on one line) and
//! blocks (`keyword ... { ... }`), each with its 1-based line number. It only serves the
//! harness (which interfaces a file names, which notify lines to rewrite, how long to wait);
//! it validates nothing, since checking the file is what both daemons' `-t` is compared on.
//!
//! Comments start with `#` or `!` at the beginning of a word; a double-quoted string is one
//! word (quotes kept, so a rewrite can put it back as it was). `include` is not followed.

/// One statement: its words, its line, and its children if it opens a block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// The words on the statement's line (the keyword first), quotes kept.
    pub words: Vec<String>,
    /// 1-based line number of the keyword.
    pub line: usize,
    /// Statements inside `{ ... }`, empty for a plain statement.
    pub children: Vec<Node>,
}

impl Node {
    /// The keyword (first word), or "" for an anonymous block.
    pub fn keyword(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }

    /// The word after the keyword (an instance's name, an address), if any.
    pub fn arg(&self) -> Option<&str> {
        self.words.get(1).map(String::as_str)
    }

    /// The first child statement with this keyword.
    pub fn child(&self, keyword: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.keyword() == keyword)
    }

    /// The first argument of the first child with this keyword.
    pub fn child_arg(&self, keyword: &str) -> Option<&str> {
        self.child(keyword).and_then(Node::arg)
    }

    /// Every node of this subtree (itself first), depth first.
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }
}

/// Splits one line into words: comments dropped, `"..."` kept whole, `{` and `}` separate.
fn words_of(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                cur.push('"');
                for q in chars.by_ref() {
                    cur.push(q);
                    if q == '"' {
                        break;
                    }
                }
            }
            '#' | '!' if cur.is_empty() => break,
            '{' | '}' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses a whole file into its top-level statements. Unbalanced braces are tolerated (an
/// extra `}` is ignored, a missing one closes at the end of the file).
pub fn parse(text: &str) -> Vec<Node> {
    // Stack of open blocks; the bottom one is the file.
    let mut stack: Vec<Node> = vec![Node::default()];
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let mut stmt: Vec<String> = Vec::new();
        let flush = |stmt: &mut Vec<String>, stack: &mut Vec<Node>| {
            if !stmt.is_empty() {
                let node = Node {
                    words: std::mem::take(stmt),
                    line: lineno,
                    children: Vec::new(),
                };
                stack.last_mut().expect("file level").children.push(node);
            }
        };
        for w in words_of(line) {
            match w.as_str() {
                "{" => {
                    // The statement on this line opens the block; a lone `{` opens the
                    // previous line's statement.
                    let node = if stmt.is_empty() {
                        stack
                            .last_mut()
                            .expect("file level")
                            .children
                            .pop()
                            .unwrap_or(Node {
                                line: lineno,
                                ..Node::default()
                            })
                    } else {
                        Node {
                            words: std::mem::take(&mut stmt),
                            line: lineno,
                            children: Vec::new(),
                        }
                    };
                    stack.push(node);
                }
                "}" => {
                    flush(&mut stmt, &mut stack);
                    if stack.len() > 1 {
                        let done = stack.pop().expect("len > 1");
                        stack.last_mut().expect("file level").children.push(done);
                    }
                }
                _ => stmt.push(w),
            }
        }
        flush(&mut stmt, &mut stack);
    }
    while stack.len() > 1 {
        let done = stack.pop().expect("len > 1");
        stack.last_mut().expect("file level").children.push(done);
    }
    stack.pop().expect("file level").children
}

/// The first word of line `line` (1-based) of `text`, without comments: the keyword a
/// diagnostic about that line is about.
pub fn keyword_at(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    words_of(l).into_iter().find(|w| w != "{" && w != "}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_statements_and_comments() {
        let text = "global_defs {\n  router_id x # c\n}\n! comment\nvrrp_instance VI_1\n{\n  \
                    interface eth0\n  unicast_peer { 192.0.2.2 }\n  notify \"/a b.sh\" x\n}\n";
        let top = parse(text);
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].child_arg("router_id"), Some("x"));
        let vi = &top[1];
        assert_eq!(vi.words, ["vrrp_instance", "VI_1"]);
        assert_eq!(vi.line, 5);
        assert_eq!(vi.child_arg("interface"), Some("eth0"));
        let peers = vi.child("unicast_peer").unwrap();
        assert_eq!(peers.children[0].words, ["192.0.2.2"]);
        assert_eq!(
            vi.child("notify").unwrap().words,
            ["notify", "\"/a b.sh\"", "x"]
        );
        assert_eq!(keyword_at(text, 7).as_deref(), Some("interface"));
        assert_eq!(keyword_at(text, 4), None);
    }

    #[test]
    fn unbalanced_braces_are_tolerated() {
        let top = parse("a {\n b 1\n");
        assert_eq!(top[0].children[0].words, ["b", "1"]);
        assert_eq!(parse("}\nc 2\n")[0].words, ["c", "2"]);
    }
}
