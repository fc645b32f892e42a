//! Hand-written query templates: `${window}`, `${selector}` and
//! `${service}` are filled in, any other placeholder is an error, and the
//! filled query must parse as PromQL.

use promql_parser::parser::Expr;
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
    let parsed = match promql_parser::parser::parse(&filled) {
        Ok(parsed) => parsed,
        Err(error) => {
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
    };
    // A query judges the window only if its ranges are the window and its
    // selectors are not moved in time.
    if !template.contains("${window}") {
        context.report(
            node.span,
            "spec::window-unused",
            format!("{what}: the query does not use ${{window}}"),
            "judges some other span than the window",
            Some("write the range as [${window}], as in 'sum(rate(x[${window}]))'".into()),
        );
        return None;
    }
    if moves_time(&parsed) {
        context.report(
            node.span,
            "spec::time-modifier",
            format!("{what}: the query uses 'offset' or '@'"),
            "looks outside the window",
            Some(
                "every query is evaluated at the window's end; leave the time to summit-slo".into(),
            ),
        );
        return None;
    }
    Some(())
}

/// True when any selector or subquery carries `offset` or `@`.
fn moves_time(expr: &Expr) -> bool {
    match expr {
        Expr::VectorSelector(selector) => selector.offset.is_some() || selector.at.is_some(),
        Expr::MatrixSelector(matrix) => matrix.vs.offset.is_some() || matrix.vs.at.is_some(),
        Expr::Subquery(subquery) => {
            subquery.offset.is_some() || subquery.at.is_some() || moves_time(&subquery.expr)
        }
        Expr::Aggregate(aggregate) => {
            moves_time(&aggregate.expr) || aggregate.param.as_deref().is_some_and(moves_time)
        }
        Expr::Unary(unary) => moves_time(&unary.expr),
        Expr::Binary(binary) => moves_time(&binary.lhs) || moves_time(&binary.rhs),
        Expr::Paren(paren) => moves_time(&paren.expr),
        Expr::Call(call) => call.args.args.iter().any(|argument| moves_time(argument)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => false,
    }
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
