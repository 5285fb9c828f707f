//! Grouping lexed lines into a tree of keyword lines and `{ ... }` blocks.

use super::diag::{Diagnostic, Span};
use super::lexer::{Item, Token};

/// One logical line, possibly followed by a `{ ... }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The words of the line; the first is the keyword (or the entry of a list block).
    pub words: Vec<Token>,
    /// The lines inside the block that follows, if any.
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The keyword (first word).
    pub fn keyword(&self) -> &Token {
        &self.words[0]
    }

    /// The words after the keyword.
    pub fn args(&self) -> &[Token] {
        &self.words[1..]
    }

    /// Where the line starts.
    pub fn span(&self) -> &Span {
        &self.keyword().span
    }

    /// The block's lines (empty if there is no block).
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }
}

/// Builds the tree. Unbalanced braces produce diagnostics; the tree is still usable.
pub fn build(items: Vec<Item>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Node> {
    // Each open level: the nodes collected so far and the span of its opening brace.
    let mut stack: Vec<(Vec<Node>, Span)> = Vec::new();
    let mut current: Vec<Node> = Vec::new();
    for item in items {
        match item {
            Item::Words(words) => current.push(Node { words, block: None }),
            Item::Open(span) => {
                let attachable = current.last().is_some_and(|n| n.block.is_none());
                if !attachable {
                    diagnostics.push(Diagnostic::warning(
                        &span,
                        "'{' without a keyword before it, expected KEYWORD {",
                    ));
                }
                stack.push((std::mem::take(&mut current), span));
            }
            Item::Close(span) => match stack.pop() {
                Some((mut parent, _)) => {
                    attach(&mut parent, std::mem::take(&mut current));
                    current = parent;
                }
                None => diagnostics.push(Diagnostic::warning(
                    &span,
                    "'}' without a matching '{', ignored",
                )),
            },
        }
    }
    while let Some((mut parent, open)) = stack.pop() {
        diagnostics.push(Diagnostic::error(
            &open,
            "'{' is never closed, expected a matching '}' before the end of the configuration",
        ));
        attach(&mut parent, std::mem::take(&mut current));
        current = parent;
    }
    current
}

/// Gives `children` to the last node of `parent` (dropped if there is no node to own them).
fn attach(parent: &mut [Node], children: Vec<Node>) {
    if let Some(owner) = parent.last_mut().filter(|n| n.block.is_none()) {
        owner.block = Some(children);
    }
}
