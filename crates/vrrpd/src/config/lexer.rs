//! Splitting one line of keepalived configuration into tokens.
//!
//! keepalived's rules: `#` and `!` start a comment that runs to the end of the line unless they
//! are inside `"..."` or escaped as `\#` / `\!`; a double-quoted string is one token (quotes
//! removed); `{` and `}` are tokens of their own wherever they appear outside quotes, and the
//! text after a brace starts a new logical line.

use std::sync::Arc;

use super::diag::Span;

/// One word of configuration text with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word, without surrounding quotes.
    pub text: String,
    /// Where the word starts (for a quoted word: the opening quote).
    pub span: Span,
    /// Whether the word was written in double quotes.
    pub quoted: bool,
}

/// A piece of a physical line after lexing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A logical line: a keyword (or list entry) followed by its arguments.
    Words(Vec<Token>),
    /// An opening brace.
    Open(Span),
    /// A closing brace.
    Close(Span),
}

/// Removes a trailing comment, honouring quotes and the `\#` / `\!` escapes (the backslash is dropped).
pub fn strip_comment(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if !in_quotes && matches!(chars.peek(), Some('#') | Some('!')) => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '"' => {
                in_quotes = !in_quotes;
                out.push(c);
            }
            '#' | '!' if !in_quotes => break,
            _ => out.push(c),
        }
    }
    out
}

/// Splits comment-free text into words and braces.
///
/// `first_column` is the 1-based column of the first character of `text` in the physical line.
pub fn tokenize(text: &str, file: &Arc<str>, line: u32, first_column: u32) -> Vec<Item> {
    let mut lexer = LineLexer::new(file, line);
    let mut column = first_column;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let here = column;
        column += 1;
        if lexer.in_quotes {
            if c == '\\' && chars.peek() == Some(&'"') {
                chars.next();
                column += 1;
                lexer.word.push('"');
            } else if c == '"' {
                lexer.in_quotes = false;
            } else {
                lexer.word.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                lexer.start_word(here);
                lexer.quoted = true;
                lexer.in_quotes = true;
            }
            '{' | '}' => {
                lexer.finish_line();
                let span = Span::new(file.clone(), line, here);
                lexer.items.push(if c == '{' {
                    Item::Open(span)
                } else {
                    Item::Close(span)
                });
            }
            c if c.is_whitespace() => lexer.finish_word(),
            c => {
                lexer.start_word(here);
                lexer.word.push(c);
            }
        }
    }
    lexer.finish_line();
    lexer.items
}

/// State while splitting one line.
struct LineLexer<'a> {
    file: &'a Arc<str>,
    line: u32,
    items: Vec<Item>,
    words: Vec<Token>,
    word: String,
    word_column: Option<u32>,
    quoted: bool,
    in_quotes: bool,
}

impl<'a> LineLexer<'a> {
    fn new(file: &'a Arc<str>, line: u32) -> Self {
        Self {
            file,
            line,
            items: Vec::new(),
            words: Vec::new(),
            word: String::new(),
            word_column: None,
            quoted: false,
            in_quotes: false,
        }
    }

    fn start_word(&mut self, column: u32) {
        if self.word_column.is_none() {
            self.word_column = Some(column);
        }
    }

    fn finish_word(&mut self) {
        if let Some(column) = self.word_column.take() {
            self.words.push(Token {
                text: std::mem::take(&mut self.word),
                span: Span::new(self.file.clone(), self.line, column),
                quoted: self.quoted,
            });
            self.quoted = false;
        }
    }

    fn finish_line(&mut self) {
        self.finish_word();
        if !self.words.is_empty() {
            self.items
                .push(Item::Words(std::mem::take(&mut self.words)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(items: &[Item]) -> Vec<Vec<String>> {
        items
            .iter()
            .map(|item| match item {
                Item::Words(w) => w.iter().map(|t| t.text.clone()).collect(),
                Item::Open(_) => vec!["{".to_string()],
                Item::Close(_) => vec!["}".to_string()],
            })
            .collect()
    }

    #[test]
    fn comments_respect_quotes_and_escapes() {
        assert_eq!(strip_comment("a b # c"), "a b ");
        assert_eq!(strip_comment("a ! c"), "a ");
        assert_eq!(strip_comment(r#"script "x # y" # z"#), r#"script "x # y" "#);
        assert_eq!(strip_comment(r"pass a\#b\!c"), "pass a#b!c");
    }

    #[test]
    fn braces_split_lines() {
        let file: Arc<str> = Arc::from("f");
        let items = tokenize("vrrp_script s { script \"a b\" } x", &file, 1, 1);
        assert_eq!(
            words(&items),
            vec![
                vec!["vrrp_script", "s"],
                vec!["{"],
                vec!["script", "a b"],
                vec!["}"],
                vec!["x"]
            ]
        );
        if let Item::Words(w) = &items[2] {
            assert_eq!(w[1].span.column, 24);
            assert!(w[1].quoted);
        }
    }

    #[test]
    fn unterminated_quote_is_one_token() {
        let file: Arc<str> = Arc::from("f");
        let items = tokenize("script \"abc", &file, 1, 1);
        assert_eq!(words(&items), vec![vec!["script", "abc"]]);
    }
}
