//! The PromQL subset that translates into native indicators, read with the
//! PromQL parser.
//!
//! A counter query is one selector, bare or inside `rate`, `increase` or
//! `irate` over any range, optionally inside `sum(…)` or `sum by (…)`; it
//! becomes one side of a native ratio, whose compiler counts the counter over
//! exactly the window (the range written in the query is replaced). A gauge
//! query is one bare selector. Everything else is refused with what is
//! outside the subset.

use promql_parser::parser::{self, Expr, LabelModifier, token};

use crate::spec::Selector;

/// What kind of problem a refused query has; each format gives it a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Problem {
    /// Not PromQL at all.
    Invalid,
    /// PromQL outside the subset.
    Unsupported,
    /// The two sides of a ratio are grouped by different labels.
    Grouping,
}

/// Why a query does not translate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// The kind, for the diagnostic's code.
    pub problem: Problem,
    /// What is wrong, without the query.
    pub message: String,
}

impl Refusal {
    fn unsupported(what: impl Into<String>) -> Self {
        Self {
            problem: Problem::Unsupported,
            message: format!(
                "{} is outside the PromQL subset summit-slo translates",
                what.into()
            ),
        }
    }
}

/// What a refused query may be rewritten as.
pub(super) const SUBSET_HELP: &str = "summit-slo translates one selector, bare or in \
    rate/increase/irate over any range, optionally inside sum(...) or sum by (...); write a native \
    SLO file for anything else";

/// A counter query in the subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CounterQuery {
    /// The counter and its matchers.
    pub selector: Selector,
    /// `sum by` labels; empty for one sum over everything (or no sum).
    pub by: Vec<String>,
    /// True for `irate`, whose last-two-samples rate becomes the window's
    /// count: worth a warning.
    pub instant: bool,
}

/// Reads a counter query.
pub(super) fn counter(query: &str) -> Result<CounterQuery, Refusal> {
    let expression = parse(query)?;
    let (inner, by) = match unwrap_parens(&expression) {
        Expr::Aggregate(aggregate) if aggregate.op.id() == token::T_SUM => {
            let by = match &aggregate.modifier {
                None => Vec::new(),
                Some(LabelModifier::Include(labels)) => labels.labels.clone(),
                // Native grouping names the labels it keeps; `without`
                // names the ones it drops, which depends on the data.
                Some(LabelModifier::Exclude(_)) => {
                    return Err(Refusal::unsupported("'sum without (...)'"));
                }
            };
            (unwrap_parens(&aggregate.expr), by)
        }
        Expr::Aggregate(aggregate) => {
            return Err(Refusal::unsupported(format!(
                "the aggregation '{}'",
                aggregate.op
            )));
        }
        other => (other, Vec::new()),
    };
    let (selector, instant) = match inner {
        Expr::VectorSelector(selector) => (selector, false),
        Expr::Call(call) if matches!(call.func.name, "rate" | "increase" | "irate") => {
            match call.args.args.first().map(|argument| argument.as_ref()) {
                Some(Expr::MatrixSelector(matrix)) => (&matrix.vs, call.func.name == "irate"),
                Some(Expr::Subquery(_)) => return Err(Refusal::unsupported("a subquery")),
                _ => return Err(Refusal::unsupported("this argument")),
            }
        }
        Expr::Aggregate(aggregate) => {
            return Err(Refusal::unsupported(format!("a nested '{}'", aggregate.op)));
        }
        other => return Err(Refusal::unsupported(describe(other))),
    };
    Ok(CounterQuery {
        selector: named_selector(selector)?,
        by,
        instant,
    })
}

/// Reads a gauge query: one bare selector.
pub(super) fn gauge(query: &str) -> Result<Selector, Refusal> {
    let expression = parse(query)?;
    match unwrap_parens(&expression) {
        Expr::VectorSelector(selector) => named_selector(selector),
        other => Err(Refusal {
            problem: Problem::Unsupported,
            message: format!(
                "{} is outside the PromQL subset summit-slo translates: a threshold metric is \
                 one gauge selector",
                describe(other)
            ),
        }),
    }
}

/// Checks that two sides of a ratio are grouped alike.
pub(super) fn same_grouping(numerator: &[String], total: &[String]) -> Result<(), Refusal> {
    let sorted = |labels: &[String]| {
        let mut labels = labels.to_vec();
        labels.sort();
        labels
    };
    if sorted(numerator) == sorted(total) {
        return Ok(());
    }
    let show = |labels: &[String]| match labels {
        [] => "nothing".to_string(),
        labels => labels.join(", "),
    };
    Err(Refusal {
        problem: Problem::Grouping,
        message: format!(
            "the numerator is grouped by {} but the total by {}",
            show(numerator),
            show(total)
        ),
    })
}

/// Replaces Sloth's `{{.window}}` (spaces inside the braces allowed) with
/// `window`; any other template action is refused, never left in place.
pub(super) fn fill_sloth_window(query: &str, window: &str) -> Result<String, String> {
    let mut filled = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a '{{' template is not closed with '}}'".to_string())?;
        let action = after[..end].trim();
        if action != ".window" {
            return Err(format!(
                "unknown template '{{{{{action}}}}}'; Sloth queries use {{{{.window}}}} only"
            ));
        }
        filled.push_str(window);
        rest = &after[end + 2..];
    }
    filled.push_str(rest);
    Ok(filled)
}

fn parse(query: &str) -> Result<Expr, Refusal> {
    parser::parse(query).map_err(|error| Refusal {
        problem: Problem::Invalid,
        message: format!("the query is not valid PromQL: {error}"),
    })
}

fn named_selector(selector: &parser::VectorSelector) -> Result<Selector, Refusal> {
    let selector = Selector::from_parsed(selector).map_err(|problem| Refusal {
        problem: Problem::Unsupported,
        message: problem,
    })?;
    if selector.metric.is_none() {
        return Err(Refusal::unsupported("a selector without a metric name"));
    }
    Ok(selector)
}

fn unwrap_parens(expression: &Expr) -> &Expr {
    match expression {
        Expr::Paren(paren) => unwrap_parens(&paren.expr),
        other => other,
    }
}

fn describe(expression: &Expr) -> String {
    match expression {
        Expr::Call(call) => format!("the function '{}'", call.func.name),
        Expr::Binary(binary) => format!("the operator '{}'", binary.op),
        Expr::Aggregate(aggregate) => format!("the aggregation '{}'", aggregate.op),
        Expr::MatrixSelector(_) => "a range selector on its own".to_string(),
        Expr::Subquery(_) => "a subquery".to_string(),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => "a literal".to_string(),
        Expr::Unary(_) => "a negation".to_string(),
        Expr::VectorSelector(_) | Expr::Paren(_) | Expr::Extension(_) => {
            "this expression".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(text: &str) -> Selector {
        Selector::parse_series(text).expect("a valid series selector")
    }

    #[test]
    fn counter_shapes_in_the_subset_become_one_selector() {
        let errors = r#"graphql_requests_total{job="summit-api", status="error"}"#;
        let cases: [(&str, String, &[&str], bool); 7] = [
            (
                "a bare selector counts as is",
                errors.to_string(),
                &[],
                false,
            ),
            (
                "rate over any range loses its range",
                format!("rate({errors}[5m])"),
                &[],
                false,
            ),
            (
                "increase is the same count",
                format!("increase({errors}[1h])"),
                &[],
                false,
            ),
            (
                "irate is read, and flagged",
                format!("irate({errors}[2m])"),
                &[],
                true,
            ),
            (
                "sum over everything is the native sum",
                format!("sum(rate({errors}[5m]))"),
                &[],
                false,
            ),
            (
                "sum by keeps its labels as groups",
                format!("sum by (operation) (rate({errors}[5m]))"),
                &["operation"],
                false,
            ),
            (
                "parentheses change nothing",
                format!("(sum((rate({errors}[5m]))))"),
                &[],
                false,
            ),
        ];
        for (why, query, by, instant) in cases {
            let read = counter(&query).unwrap_or_else(|refusal| panic!("{why}: {refusal:?}"));
            assert_eq!(read.selector, selector(errors), "{why}");
            assert_eq!(read.by, by, "{why}");
            assert_eq!(read.instant, instant, "{why}");
        }
    }

    #[test]
    fn counter_shapes_outside_the_subset_are_refused_with_what_is_outside() {
        let cases = [
            (
                "without names the labels it drops",
                "sum without (instance) (rate(x_total[5m]))",
                Problem::Unsupported,
                "'sum without (...)'",
            ),
            (
                "another aggregation",
                "max(rate(x_total[5m]))",
                Problem::Unsupported,
                "the aggregation 'max'",
            ),
            (
                "arithmetic",
                "sum(rate(x_total[5m])) - sum(rate(y_total[5m]))",
                Problem::Unsupported,
                "the operator '-'",
            ),
            (
                "a function outside the three",
                "delta(x_total[5m])",
                Problem::Unsupported,
                "the function 'delta'",
            ),
            (
                "a subquery",
                "rate(x_total[5m:1m])",
                Problem::Unsupported,
                "a subquery",
            ),
            (
                "an offset looks outside the window",
                "rate(x_total[5m] offset 1h)",
                Problem::Unsupported,
                "offset and @ modifiers",
            ),
            (
                "no metric name",
                r#"rate({job="x"}[5m])"#,
                Problem::Unsupported,
                "a selector without a metric name",
            ),
            (
                "nested sums",
                "sum(sum by (a) (rate(x_total[5m])))",
                Problem::Unsupported,
                "a nested 'sum'",
            ),
            (
                "not PromQL",
                "sum(rate(x_total[5m]",
                Problem::Invalid,
                "not valid PromQL",
            ),
        ];
        for (why, query, problem, words) in cases {
            let refusal = counter(query).expect_err(why);
            assert_eq!(refusal.problem, problem, "{why}");
            assert!(
                refusal.message.contains(words),
                "{why}: {}",
                refusal.message
            );
        }
    }

    #[test]
    fn gauges_are_one_bare_selector() {
        let depth = r#"summit_worker_queue_depth{job="summit-worker"}"#;
        assert_eq!(gauge(depth), Ok(selector(depth)));
        assert_eq!(gauge(&format!("({depth})")), Ok(selector(depth)));
        let refusal = gauge(&format!("max({depth})")).expect_err("an aggregation");
        assert_eq!(refusal.problem, Problem::Unsupported);
        assert!(
            refusal.message.contains("the aggregation 'max'"),
            "{}",
            refusal.message
        );
        let refusal = gauge(&format!("rate({depth}[5m])")).expect_err("a function");
        assert!(refusal.message.contains("the function 'rate'"));
    }

    #[test]
    fn groupings_must_match_in_any_order() {
        let labels = |names: &[&str]| names.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert!(same_grouping(&labels(&["a", "b"]), &labels(&["b", "a"])).is_ok());
        let refusal = same_grouping(&labels(&["a"]), &[]).expect_err("different");
        assert_eq!(refusal.problem, Problem::Grouping);
        assert_eq!(
            refusal.message,
            "the numerator is grouped by a but the total by nothing"
        );
    }

    #[test]
    fn sloth_windows_are_filled_and_other_templates_refused() {
        let cases = [
            ("the usual spelling", "rate(x[{{.window}}])", "rate(x[5m])"),
            ("spaces inside", "rate(x[{{ .window }}])", "rate(x[5m])"),
            ("no template", "x", "x"),
        ];
        for (why, query, filled) in cases {
            assert_eq!(
                fill_sloth_window(query, "5m").as_deref(),
                Ok(filled),
                "{why}"
            );
        }
        let unknown = fill_sloth_window("rate(x[{{.Window}}])", "5m").expect_err("case matters");
        assert!(
            unknown.contains("unknown template '{{.Window}}'"),
            "{unknown}"
        );
        assert!(fill_sloth_window("rate(x[{{.window])", "5m").is_err());
    }
}
