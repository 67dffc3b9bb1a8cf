//! HTML output, escaped by default.
//!
//! Every page is written with [`html!`]: the format string is a literal (the
//! trusted markup) and every argument is rendered through [`Render`], which
//! escapes text and numbers and passes through only [`Markup`] (HTML built by
//! this module's own writers). Arguments are positional (`{}`), never captured
//! (`{name}`), so each one goes through [`R`]. There is no other way to put a
//! runtime string into a page.

use std::fmt::{self, Write as _};

/// Trusted HTML: built only by [`html!`] and this module, never from request text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    pub fn new() -> Markup {
        Markup(String::new())
    }
    /// A static, trusted snippet.
    pub fn from_static(s: &'static str) -> Markup {
        Markup(s.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
    pub fn push(&mut self, other: Markup) {
        self.0.push_str(&other.0);
    }
    /// Internal: the macro writes here.
    #[doc(hidden)]
    pub fn buf(&mut self) -> &mut String {
        &mut self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a value appears in HTML.
pub trait Render {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// Escape text for HTML element content and quoted attribute values.
pub fn escape_into(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        f.write_str(&s[last..i])?;
        f.write_str(rep)?;
        last = i + 1;
    }
    f.write_str(&s[last..])
}

/// `s`, escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = escape_into(&mut out, s);
    out
}

impl Render for str {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape_into(f, self)
    }
}
impl Render for String {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape_into(f, self)
    }
}
impl Render for Markup {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl<T: Render + ?Sized> Render for &T {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).render(f)
    }
}
impl<T: Render> Render for Option<T> {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Some(v) => v.render(f),
            None => Ok(()),
        }
    }
}
macro_rules! render_display {
    ($($t:ty),*) => {$(
        impl Render for $t {
            fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Numbers and dates contain no markup characters; escape anyway.
                escape_into(f, &self.to_string())
            }
        }
    )*};
}
render_display!(u8, u16, u32, u64, usize, i32, i64, f64, char, time::Date);

/// The adapter [`html!`] wraps every argument in.
pub struct R<'a, T: Render + ?Sized>(pub &'a T);

impl<T: Render + ?Sized> fmt::Display for R<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.render(f)
    }
}

/// Append to a [`Markup`]: `html!(m, "<td>{}</td>", name)`; every argument is escaped.
#[macro_export]
macro_rules! html {
    ($out:expr, $fmt:literal $(, $arg:expr)* $(,)?) => {{
        use ::std::fmt::Write as _;
        let _ = ::std::write!($out.buf(), $fmt $(, $crate::web::html::R(&$arg))*);
    }};
}

/// A new [`Markup`] from a format: `markup!("<b>{}</b>", x)`.
#[macro_export]
macro_rules! markup {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        let mut m = $crate::web::html::Markup::new();
        $crate::html!(m, $fmt $(, $arg)*);
        m
    }};
}

/// A number for display: up to `decimals` places, trailing zeros trimmed.
pub fn num(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

/// A code (`type_2`) in words (`type 2`).
pub fn words(code: &str) -> String {
    code.replace('_', " ")
}

/// Append a string to a buffer, escaped (for writers outside the macro).
pub fn push_escaped(out: &mut String, s: &str) {
    let _ = escape_into(out, s);
}

/// Write formatted trusted text (no runtime strings) to a buffer.
pub fn push_fmt(out: &mut String, args: fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_markup_is_not() {
        let name = "<script>alert('x')</script> & \"q\"";
        let inner = markup!("<b>{}</b>", "a<b");
        let m = markup!("<p title=\"{}\">{}</p>{}", name, 42u32, inner);
        assert_eq!(
            m.as_str(),
            "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\">42</p><b>a&lt;b</b>"
        );
        let none: Option<String> = None;
        assert_eq!(markup!("[{}]", none).as_str(), "[]");
    }

    #[test]
    fn numbers_are_trimmed() {
        assert_eq!(num(0.5211, 2), "0.52");
        assert_eq!(num(50.0, 1), "50");
        assert_eq!(num(-12.345, 1), "-12.3");
        assert_eq!(words("type_2"), "type 2");
    }
}
