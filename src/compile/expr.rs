//! The query plan: PromQL expressions as a tree.
//!
//! The compiler builds these trees; rendering one gives the exact text sent
//! to Prometheus, and the embedded engine evaluates the same tree, so the two
//! back ends cannot drift apart. Hand-written queries are parsed into the
//! same tree when they stay within the supported subset.

use std::fmt;
use std::time::Duration;

use promql_parser::parser::{self, Expr as ParsedExpr, LabelModifier, token};

use crate::spec::Selector;
use crate::spec::selector::{MatchKind, Matcher};
use crate::time::promql_duration;

/// A PromQL expression of the subset summit-slo compiles to and evaluates.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number literal.
    Number(f64),
    /// `vector(scalar)`.
    Vector(Box<Expr>),
    /// An instant selector, evaluated with the 5-minute lookback.
    Instant(Selector),
    /// A function over a range selector: `increase(x{…}[600s])`.
    Range {
        /// The function.
        function: RangeFunction,
        /// The series, with the metric name set.
        selector: Selector,
        /// The range.
        range: Duration,
        /// How far before the evaluation time the range ends (`offset`),
        /// zero for none. Only the compiler sets it.
        offset: Duration,
    },
    /// `sum by (labels) (inner)` and friends.
    Aggregate {
        /// The aggregation.
        operator: AggregateOperator,
        /// Which labels the groups keep.
        grouping: Grouping,
        /// What is aggregated.
        inner: Box<Expr>,
    },
    /// A function over instant vectors or scalars.
    Call {
        /// The function.
        function: Function,
        /// Its arguments, in order.
        arguments: Vec<Expr>,
    },
    /// A binary operation.
    Binary {
        /// The operator.
        operator: BinaryOperator,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// How vector elements are matched.
        matching: Matching,
        /// Comparisons with `bool` return 0/1 instead of filtering.
        return_bool: bool,
    },
    /// Unary minus.
    Negate(Box<Expr>),
    /// Parentheses, kept so the text renders as written.
    Paren(Box<Expr>),
}

/// Functions over a range of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFunction {
    /// Per-second increase of a counter, extrapolated to the range.
    Rate,
    /// Increase of a counter, extrapolated to the range.
    Increase,
    /// Difference of a gauge, extrapolated to the range.
    Delta,
    /// Largest sample.
    MaxOverTime,
    /// Smallest sample.
    MinOverTime,
    /// Mean of the samples.
    AvgOverTime,
    /// Sum of the samples.
    SumOverTime,
    /// Number of samples.
    CountOverTime,
    /// Last sample.
    LastOverTime,
}

impl RangeFunction {
    /// The PromQL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::Increase => "increase",
            Self::Delta => "delta",
            Self::MaxOverTime => "max_over_time",
            Self::MinOverTime => "min_over_time",
            Self::AvgOverTime => "avg_over_time",
            Self::SumOverTime => "sum_over_time",
            Self::CountOverTime => "count_over_time",
            Self::LastOverTime => "last_over_time",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            Self::Rate,
            Self::Increase,
            Self::Delta,
            Self::MaxOverTime,
            Self::MinOverTime,
            Self::AvgOverTime,
            Self::SumOverTime,
            Self::CountOverTime,
            Self::LastOverTime,
        ]
        .into_iter()
        .find(|function| function.name() == name)
    }
}

/// Aggregations across series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateOperator {
    /// Sum.
    Sum,
    /// Largest.
    Max,
    /// Smallest.
    Min,
    /// Mean.
    Avg,
    /// Number of series.
    Count,
}

impl AggregateOperator {
    /// The PromQL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "sum",
            Self::Max => "max",
            Self::Min => "min",
            Self::Avg => "avg",
            Self::Count => "count",
        }
    }
}

/// Which labels an aggregation's groups keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// One group of everything.
    All,
    /// `by (…)`: these labels.
    By(Vec<String>),
    /// `without (…)`: all labels but these (and the metric name).
    Without(Vec<String>),
}

/// Functions over instant vectors and scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `histogram_quantile(q, buckets)`.
    HistogramQuantile,
    /// `scalar(v)`: the value of a one-element vector, else NaN.
    Scalar,
    /// `abs(v)`.
    Abs,
    /// `clamp_min(v, min)`.
    ClampMin,
    /// `clamp_max(v, max)`.
    ClampMax,
}

impl Function {
    /// The PromQL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::HistogramQuantile => "histogram_quantile",
            Self::Scalar => "scalar",
            Self::Abs => "abs",
            Self::ClampMin => "clamp_min",
            Self::ClampMax => "clamp_max",
        }
    }
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOperator {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinaryOperator {
    /// The PromQL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Subtract => "-",
            Self::Multiply => "*",
            Self::Divide => "/",
            Self::Equal => "==",
            Self::NotEqual => "!=",
            Self::Less => "<",
            Self::LessOrEqual => "<=",
            Self::Greater => ">",
            Self::GreaterOrEqual => ">=",
            Self::And => "and",
            Self::Or => "or",
            Self::Unless => "unless",
        }
    }

    /// True for `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, Self::And | Self::Or | Self::Unless)
    }

    /// True for the six comparisons.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Self::Equal
                | Self::NotEqual
                | Self::Less
                | Self::LessOrEqual
                | Self::Greater
                | Self::GreaterOrEqual
        )
    }
}

/// How a binary operation pairs the elements of two vectors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Matching {
    /// On all labels but the metric name (PromQL's default).
    #[default]
    AllLabels,
    /// `on (…)`: only these labels.
    On(Vec<String>),
    /// `ignoring (…)`: all labels but these and the metric name.
    Ignoring(Vec<String>),
}

impl Expr {
    /// `f(selector[range])` for a metric and matchers.
    pub fn range(
        function: RangeFunction,
        metric: &str,
        selector: &Selector,
        extra: &[Matcher],
        range: Duration,
    ) -> Self {
        let mut matchers = selector.matchers.clone();
        matchers.extend(extra.iter().cloned());
        Self::Range {
            function,
            selector: Selector {
                metric: Some(metric.to_string()),
                matchers,
            },
            range,
            offset: Duration::ZERO,
        }
    }

    /// The same range function, its range ending `offset` earlier.
    pub fn offset_by(self, by: Duration) -> Self {
        match self {
            Self::Range {
                function,
                selector,
                range,
                offset,
            } => Self::Range {
                function,
                selector,
                range,
                offset: offset + by,
            },
            other => other,
        }
    }

    /// `operator by (labels) (inner)`, or without `by` when `labels` is
    /// empty.
    pub fn aggregate(operator: AggregateOperator, labels: &[String], inner: Expr) -> Self {
        let grouping = if labels.is_empty() {
            Grouping::All
        } else {
            Grouping::By(labels.to_vec())
        };
        Self::Aggregate {
            operator,
            grouping,
            inner: Box::new(inner),
        }
    }

    /// A binary operation matching on all labels.
    pub fn binary(operator: BinaryOperator, left: Expr, right: Expr) -> Self {
        Self::Binary {
            operator,
            left: Box::new(left),
            right: Box::new(right),
            matching: Matching::AllLabels,
            return_bool: false,
        }
    }

    /// A binary operation matching on the given labels only.
    pub fn binary_on(operator: BinaryOperator, left: Expr, right: Expr, labels: &[&str]) -> Self {
        Self::Binary {
            operator,
            left: Box::new(left),
            right: Box::new(right),
            matching: Matching::On(labels.iter().map(|label| label.to_string()).collect()),
            return_bool: false,
        }
    }

    /// The expression in parentheses.
    pub fn paren(self) -> Self {
        Self::Paren(Box::new(self))
    }

    /// Every series selector in the expression.
    pub fn selectors(&self) -> Vec<&Selector> {
        match self {
            Self::Number(_) => Vec::new(),
            Self::Instant(selector) | Self::Range { selector, .. } => vec![selector],
            Self::Vector(inner) | Self::Negate(inner) | Self::Paren(inner) => inner.selectors(),
            Self::Aggregate { inner, .. } => inner.selectors(),
            Self::Call { arguments, .. } => arguments.iter().flat_map(Self::selectors).collect(),
            Self::Binary { left, right, .. } => {
                let mut selectors = left.selectors();
                selectors.extend(right.selectors());
                selectors
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(value) => write!(formatter, "{}", number(*value)),
            Self::Vector(inner) => write!(formatter, "vector({inner})"),
            Self::Instant(selector) => formatter.write_str(&render_selector(selector)),
            Self::Range {
                function,
                selector,
                range,
                offset,
            } => {
                let offset = if offset.is_zero() {
                    String::new()
                } else {
                    format!(" offset {}", promql_duration(*offset))
                };
                write!(
                    formatter,
                    "{}({}[{}]{offset})",
                    function.name(),
                    render_selector(selector),
                    promql_duration(*range)
                )
            }
            Self::Aggregate {
                operator,
                grouping,
                inner,
            } => match grouping {
                Grouping::All => write!(formatter, "{}({inner})", operator.name()),
                Grouping::By(labels) => {
                    write!(
                        formatter,
                        "{} by ({}) ({inner})",
                        operator.name(),
                        labels.join(", ")
                    )
                }
                Grouping::Without(labels) => write!(
                    formatter,
                    "{} without ({}) ({inner})",
                    operator.name(),
                    labels.join(", ")
                ),
            },
            Self::Call {
                function,
                arguments,
            } => {
                let arguments: Vec<String> = arguments.iter().map(ToString::to_string).collect();
                write!(formatter, "{}({})", function.name(), arguments.join(", "))
            }
            Self::Binary {
                operator,
                left,
                right,
                matching,
                return_bool,
            } => {
                let bool_text = if *return_bool { " bool" } else { "" };
                let matching = match matching {
                    Matching::AllLabels => String::new(),
                    Matching::On(labels) => format!(" on ({})", labels.join(", ")),
                    Matching::Ignoring(labels) => format!(" ignoring ({})", labels.join(", ")),
                };
                write!(
                    formatter,
                    "{left} {}{bool_text}{matching} {right}",
                    operator.symbol()
                )
            }
            Self::Negate(inner) => write!(formatter, "-{inner}"),
            Self::Paren(inner) => write!(formatter, "({inner})"),
        }
    }
}

fn render_selector(selector: &Selector) -> String {
    selector.render(selector.metric.as_deref().unwrap_or_default(), &[])
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{value}")
    }
}

/// Why a hand-written query cannot become a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// Parses PromQL into a plan, or says which part is outside the subset the
/// embedded engine evaluates.
pub fn parse(text: &str) -> Result<Expr, Unsupported> {
    let parsed = parser::parse(text).map_err(|error| Unsupported(error.to_string()))?;
    convert(&parsed)
}

fn unsupported(what: impl Into<String>) -> Unsupported {
    Unsupported(what.into())
}

fn convert(parsed: &ParsedExpr) -> Result<Expr, Unsupported> {
    match parsed {
        ParsedExpr::NumberLiteral(literal) => Ok(Expr::Number(literal.val)),
        ParsedExpr::Paren(paren) => Ok(Expr::Paren(Box::new(convert(&paren.expr)?))),
        ParsedExpr::Unary(unary) => Ok(Expr::Negate(Box::new(convert(&unary.expr)?))),
        ParsedExpr::VectorSelector(selector) => Ok(Expr::Instant(convert_selector(selector)?)),
        ParsedExpr::MatrixSelector(_) => Err(unsupported(
            "a bare range selector returns a range vector; wrap it in a function such as rate()",
        )),
        ParsedExpr::Aggregate(aggregate) => convert_aggregate(aggregate),
        ParsedExpr::Call(call) => convert_call(call),
        ParsedExpr::Binary(binary) => convert_binary(binary),
        ParsedExpr::Subquery(_) => Err(unsupported("subqueries")),
        ParsedExpr::StringLiteral(_) => Err(unsupported("string literals")),
        ParsedExpr::Extension(_) => Err(unsupported("extensions")),
    }
}

fn convert_selector(selector: &parser::VectorSelector) -> Result<Selector, Unsupported> {
    if selector.offset.is_some() || selector.at.is_some() {
        return Err(unsupported("offset and @ modifiers"));
    }
    if !selector.matchers.or_matchers.is_empty() {
        return Err(unsupported("'or' inside a selector"));
    }
    let mut metric = selector.name.clone();
    let mut matchers = Vec::new();
    for matcher in &selector.matchers.matchers {
        let kind = MatchKind::from_parsed(&matcher.op);
        if matcher.name == "__name__" && kind == MatchKind::Equal && metric.is_none() {
            metric = Some(matcher.value.clone());
            continue;
        }
        matchers.push(Matcher::new(&matcher.name, kind, &matcher.value));
    }
    if metric.is_none() {
        return Err(unsupported("selectors without a metric name"));
    }
    Ok(Selector { metric, matchers })
}

fn convert_aggregate(aggregate: &parser::AggregateExpr) -> Result<Expr, Unsupported> {
    let operator = match aggregate.op.id() {
        token::T_SUM => AggregateOperator::Sum,
        token::T_MAX => AggregateOperator::Max,
        token::T_MIN => AggregateOperator::Min,
        token::T_AVG => AggregateOperator::Avg,
        token::T_COUNT => AggregateOperator::Count,
        _ => return Err(unsupported(format!("the aggregation '{}'", aggregate.op))),
    };
    let grouping = match &aggregate.modifier {
        None => Grouping::All,
        Some(LabelModifier::Include(labels)) => Grouping::By(labels.labels.clone()),
        Some(LabelModifier::Exclude(labels)) => Grouping::Without(labels.labels.clone()),
    };
    Ok(Expr::Aggregate {
        operator,
        grouping,
        inner: Box::new(convert(&aggregate.expr)?),
    })
}

fn convert_call(call: &parser::Call) -> Result<Expr, Unsupported> {
    let name = call.func.name;
    let arguments = &call.args.args;
    if let Some(function) = RangeFunction::from_name(name) {
        let matrix = match arguments.first().map(|argument| argument.as_ref()) {
            Some(ParsedExpr::MatrixSelector(matrix)) => matrix,
            Some(ParsedExpr::Subquery(_)) => return Err(unsupported("subqueries")),
            _ => {
                return Err(unsupported(format!(
                    "{name}() over anything but a range selector"
                )));
            }
        };
        // The compiler's own plans carry offsets (a range before the
        // window); hand-written queries are refused them when the spec is
        // loaded, so an offset here is one summit-slo wrote.
        let offset = match &matrix.vs.offset {
            None => Duration::ZERO,
            Some(parser::Offset::Pos(offset)) => *offset,
            Some(parser::Offset::Neg(_)) => return Err(unsupported("negative offsets")),
        };
        let mut selector = matrix.vs.clone();
        selector.offset = None;
        return Ok(Expr::Range {
            function,
            selector: convert_selector(&selector)?,
            range: matrix.range,
            offset,
        });
    }
    let function = match name {
        "vector" => None,
        "histogram_quantile" => Some(Function::HistogramQuantile),
        "scalar" => Some(Function::Scalar),
        "abs" => Some(Function::Abs),
        "clamp_min" => Some(Function::ClampMin),
        "clamp_max" => Some(Function::ClampMax),
        _ => return Err(unsupported(format!("the function {name}()"))),
    };
    let converted = arguments
        .iter()
        .map(|argument| convert(argument))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(function) = function else {
        let inner = converted
            .into_iter()
            .next()
            .ok_or_else(|| unsupported("vector()"))?;
        return Ok(Expr::Vector(Box::new(inner)));
    };
    Ok(Expr::Call {
        function,
        arguments: converted,
    })
}

fn convert_binary(binary: &parser::BinaryExpr) -> Result<Expr, Unsupported> {
    let operator = match binary.op.id() {
        token::T_ADD => BinaryOperator::Add,
        token::T_SUB => BinaryOperator::Subtract,
        token::T_MUL => BinaryOperator::Multiply,
        token::T_DIV => BinaryOperator::Divide,
        token::T_EQLC => BinaryOperator::Equal,
        token::T_NEQ => BinaryOperator::NotEqual,
        token::T_LSS => BinaryOperator::Less,
        token::T_LTE => BinaryOperator::LessOrEqual,
        token::T_GTR => BinaryOperator::Greater,
        token::T_GTE => BinaryOperator::GreaterOrEqual,
        token::T_LAND => BinaryOperator::And,
        token::T_LOR => BinaryOperator::Or,
        token::T_LUNLESS => BinaryOperator::Unless,
        _ => return Err(unsupported(format!("the operator '{}'", binary.op))),
    };
    let (matching, return_bool) = match &binary.modifier {
        None => (Matching::AllLabels, false),
        Some(modifier) => {
            if !matches!(
                modifier.card,
                parser::VectorMatchCardinality::OneToOne
                    | parser::VectorMatchCardinality::ManyToMany
            ) {
                return Err(unsupported("group_left and group_right"));
            }
            let matching = match &modifier.matching {
                None => Matching::AllLabels,
                Some(LabelModifier::Include(labels)) => Matching::On(labels.labels.clone()),
                Some(LabelModifier::Exclude(labels)) => Matching::Ignoring(labels.labels.clone()),
            };
            (matching, modifier.return_bool)
        }
    };
    Ok(Expr::Binary {
        operator,
        left: Box::new(convert(&binary.lhs)?),
        right: Box::new(convert(&binary.rhs)?),
        matching,
        return_bool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_queries_round_trip_through_the_plan() {
        let cases = [
            r#"sum(rate(http_requests_total{job="checkout", code=~"5.."}[5m])) / sum(rate(http_requests_total{job="checkout"}[5m]))"#,
            r#"histogram_quantile(0.99, sum by (le, route) (increase(h_bucket[600s])))"#,
            r#"(sum(increase(e_total[600s])) or vector(0)) / sum(increase(t_total[600s]))"#,
            r#"max without (pod) (max_over_time(queue_depth[10m]))"#,
            r#"scalar(sum(up{job="x"})) * 2"#,
            r#"sum(x_total) > bool 3"#,
        ];
        for text in cases {
            let plan = parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            let again = parse(&plan.to_string()).expect("rendered plans parse");
            assert_eq!(plan, again, "{text} -> {plan}");
        }
    }

    #[test]
    fn queries_outside_the_subset_say_what_is_missing() {
        let cases = [
            ("rate(x[5m:1m])", "subqueries"),
            ("topk(3, x)", "the aggregation"),
            ("predict_linear(x[5m], 60)", "the function predict_linear()"),
            ("x[5m]", "bare range selector"),
            ("x offset 5m", "offset"),
            ("rate(x[5m] offset -1m)", "negative offsets"),
            ("a * on (x) group_left b", "group_left"),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text);
            assert!(error.0.contains(expected), "{text}: {error}");
        }
    }
}
