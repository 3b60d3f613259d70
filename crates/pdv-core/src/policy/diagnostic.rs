//! Diagnostics about a policy file: what is wrong, where (file, line, column) and how to fix it.
//!
//! Messages are in Russian because they are read by the operator's responsible person and
//! lawyers; the rendering mimics compiler output so developers find the spot just as fast.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Byte range in the source; `None` when the problem is the file as a whole.
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(span: Option<Range<usize>>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn warning(span: Option<Range<usize>>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The 1-based line and column (in characters) where the problem starts.
    pub fn line_col(&self, source: &str) -> Option<(usize, usize)> {
        let start = self.span.as_ref()?.start.min(source.len());
        let before = source.get(..start)?;
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = source[line_start..start].chars().count() + 1;
        Some((line, col))
    }

    /// Renders the diagnostic as `file:line:col: ошибка: …` with the source line and a caret.
    pub fn render(&self, file: &str, source: &str) -> String {
        let label = match self.severity {
            Severity::Error => "ошибка",
            Severity::Warning => "предупреждение",
        };
        let mut out = String::new();
        match self.line_col(source) {
            Some((line, col)) => {
                out.push_str(&format!("{file}:{line}:{col}: {label}: {}\n", self.message));
                let text = source.lines().nth(line - 1).unwrap_or("");
                let width = self
                    .span
                    .as_ref()
                    .map(|s| {
                        source
                            .get(s.clone())
                            .map_or(1, |t| t.lines().next().unwrap_or("").chars().count())
                    })
                    .unwrap_or(1)
                    .max(1);
                let gutter = line.to_string().len();
                out.push_str(&format!("{:gutter$} |\n", ""));
                out.push_str(&format!("{line} | {text}\n"));
                out.push_str(&format!(
                    "{:gutter$} | {}{}\n",
                    "",
                    " ".repeat(col - 1),
                    "^".repeat(width)
                ));
            }
            None => out.push_str(&format!("{file}: {label}: {}\n", self.message)),
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("  = как исправить: {help}\n"));
        }
        out
    }
}

/// A policy file that could not be accepted: every error found, with the text to point into.
#[derive(Debug, Clone)]
pub struct PolicyErrors {
    pub file: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicyErrors {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl std::fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.diagnostics {
            f.write_str(&d.render(&self.file, &self.source))?;
        }
        let errors = self.errors().count();
        write!(f, "{}: ошибок: {errors}; политика не принята", self.file)
    }
}

impl std::error::Error for PolicyErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let source = "a = 1\nимя = \"x\"\n";
        let start = source.find('"').unwrap();
        let d = Diagnostic::error(Some(start..start + 3), "плохо");
        assert_eq!(d.line_col(source), Some((2, 7)));
        let text = d.render("p.toml", source);
        assert!(text.starts_with("p.toml:2:7: ошибка: плохо"), "{text}");
        assert!(text.contains("      ^^^"), "{text}");
    }
}
