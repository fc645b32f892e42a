//! `--select SERVICE/NAME`: choosing SLOs by pattern, and refusing an empty
//! choice.

use crate::spec::{ServiceSpec, Slo};

/// Picks the SLOs matching any pattern (all of them when there are no
/// patterns). An empty result is an error naming the patterns and how many
/// SLOs they were tried against.
pub fn select(services: &[ServiceSpec], patterns: &[String]) -> Result<Vec<Slo>, String> {
    let all: Vec<&Slo> = services.iter().flat_map(|service| &service.slos).collect();
    let chosen: Vec<Slo> = all
        .iter()
        .filter(|slo| patterns.is_empty() || patterns.iter().any(|pattern| matches(pattern, slo)))
        .map(|slo| (*slo).clone())
        .collect();
    // A pattern that matches nothing is a typo even when another pattern
    // matches: the SLO the user meant would silently go unjudged.
    let unmatched: Vec<String> = patterns
        .iter()
        .filter(|pattern| !all.iter().any(|slo| matches(pattern, slo)))
        .map(|pattern| format!("'{pattern}'"))
        .collect();
    if !chosen.is_empty() && !unmatched.is_empty() {
        return Err(format!(
            "--select {} matched none of the {} SLOs; every pattern must select something",
            unmatched.join(", "),
            all.len()
        ));
    }
    if chosen.is_empty() {
        let filter = if patterns.is_empty() {
            "the SLO files".to_string()
        } else {
            let quoted: Vec<String> = patterns
                .iter()
                .map(|pattern| format!("'{pattern}'"))
                .collect();
            format!("filter {}", quoted.join(", "))
        };
        return Err(format!(
            "no SLOs selected ({filter} matched 0 of {}); refusing to pass an empty gate",
            all.len()
        ));
    }
    Ok(chosen)
}

fn matches(pattern: &str, slo: &Slo) -> bool {
    match pattern.split_once('/') {
        Some((service, name)) => glob(service, &slo.service) && glob(name, &slo.name),
        None => glob(pattern, &slo.name) || glob(pattern, &slo.service),
    }
}

/// Matches `*` (any run) and `?` (one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        let cases = [
            ("payments-*", "payments-latency", true),
            ("payments-*", "checkout-latency", false),
            ("*", "anything", true),
            ("graphql-latency-p9?", "graphql-latency-p95", true),
            ("*-p95", "graphql-latency-p95", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(glob(pattern, text), expected, "{pattern} ~ {text}");
        }
    }
}
