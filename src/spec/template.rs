//! Hand-written query templates: `${window}`, `${selector}` and
//! `${service}` are filled in, any other placeholder is an error, and the
//! filled query must parse as PromQL.

use saphyr::MarkedYaml;

use super::Selector;
use super::yaml::Context;

const PLACEHOLDERS: &[&str] = &["window", "selector", "service"];

/// Checks placeholders and that the query parses once they are filled in.
pub(super) fn check_template(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    template: &str,
    selector: &Selector,
    service: &str,
    what: &str,
) -> Option<()> {
    let filled = match fill_template(template, "600s", selector, service) {
        Ok(filled) => filled,
        Err(problem) => {
            context.report(
                node.span,
                "spec::unknown-placeholder",
                format!("{what}: {problem}"),
                "in this query",
                Some(format!(
                    "placeholders are {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|name| format!("${{{name}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
            return None;
        }
    };
    if let Err(error) = promql_parser::parser::parse(&filled) {
        context.report(
            node.span,
            "spec::invalid-promql",
            format!("{what}: the query is not valid PromQL: {error}"),
            "this query",
            Some(format!(
                "with placeholders filled in, the query reads: {filled}"
            )),
        );
        return None;
    }
    Some(())
}

/// Replaces `${window}`, `${selector}` and `${service}`; any other
/// placeholder is an error, never left in place.
pub fn fill_template(
    template: &str,
    window: &str,
    selector: &Selector,
    service: &str,
) -> Result<String, String> {
    let mut filled = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "a '${' placeholder is not closed with '}'".to_string())?;
        let name = &after[..end];
        match name {
            "window" => filled.push_str(window),
            "selector" => filled.push_str(&selector.render_matchers()),
            "service" => filled.push_str(&crate::spec::selector::escape_label_value(service)),
            _ => return Err(format!("unknown placeholder '${{{name}}}'")),
        }
        rest = &after[end + 1..];
    }
    filled.push_str(rest);
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_known_placeholders_only() {
        let selector = Selector::parse_matchers(r#"{job="checkout"}"#).expect("valid");
        let filled = fill_template(
            "sum(rate(x${selector}[${window}])) # ${service}",
            "600s",
            &selector,
            "summit-api",
        )
        .expect("known placeholders");
        assert_eq!(filled, r#"sum(rate(x{job="checkout"}[600s])) # summit-api"#);

        let unknown = fill_template("x[${windw}]", "600s", &selector, "s").expect_err("typo");
        assert!(
            unknown.contains("unknown placeholder '${windw}'"),
            "{unknown}"
        );
        assert!(fill_template("x[${window]", "600s", &selector, "s").is_err());
        assert_eq!(
            fill_template("x$y", "600s", &selector, "s").expect("a lone $ is text"),
            "x$y"
        );
    }
}
