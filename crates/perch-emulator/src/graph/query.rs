//! OData query options as Graph's Teams endpoints accept them: parsing `$top`, `$expand`,
//! `$select`, `$filter` and the paging tokens, and refusing every option an endpoint does not
//! support with OData's 400 message. Names are matched case-insensitively; parameters without
//! a leading `$` are ignored, as OData does.

use crate::error::GraphError;

/// The `$`-prefixed query options of one request, names lower-cased.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pairs: Vec<(String, String)>,
}

impl Options {
    /// Parses a raw query string (`None` for no query).
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .filter(|(k, _)| k.starts_with('$'))
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// The value of an option (`name` lower-case, with its `$`).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The name of the first option, if any.
    pub(crate) fn first_name(&self) -> Option<String> {
        self.pairs.first().map(|(k, _)| k.clone())
    }

    /// Whether an option is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// 400 for any option not in `allowed` (or given twice).
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<(), GraphError> {
        for (i, (name, _)) in self.pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                return Err(not_allowed(name));
            }
            if self.pairs[..i].iter().any(|(k, _)| k == name) {
                return Err(GraphError::bad_request(format!(
                    "Query option '{name}' was specified more than once, but it must be specified at most once."
                )));
            }
        }
        Ok(())
    }

    /// `$top` within `1..=max`, or `default` when absent.
    pub(crate) fn top(&self, default: usize, max: usize) -> Result<usize, GraphError> {
        match self.get("$top") {
            None => Ok(default),
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(GraphError::bad_request(format!(
                    "Invalid page size specified: '{raw}'. Must be between 1 and {max} inclusive."
                ))),
            },
        }
    }

    /// `$expand=replies` (the only expansion on messages) → true; anything else 400.
    pub(crate) fn expand_replies(&self) -> Result<bool, GraphError> {
        match self.get("$expand") {
            None => Ok(false),
            Some(raw) => {
                let mut any = false;
                for item in raw.split(',').map(str::trim) {
                    if item.eq_ignore_ascii_case("replies") {
                        any = true;
                    } else {
                        return Err(GraphError::bad_request(format!(
                            "Parsing OData Select and Expand failed: Could not find a property named '{item}' on type 'microsoft.graph.chatMessage'."
                        )));
                    }
                }
                Ok(any)
            }
        }
    }

    /// `$select` as a list of property names checked against `known` (400 for others).
    pub(crate) fn select(
        &self,
        known: &[&str],
        type_name: &str,
    ) -> Result<Option<Vec<String>>, GraphError> {
        let Some(raw) = self.get("$select") else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match known.iter().find(|k| k.eq_ignore_ascii_case(item)) {
                Some(k) => out.push((*k).to_owned()),
                None => {
                    return Err(GraphError::bad_request(format!(
                        "Parsing OData Select and Expand failed: Could not find a property named '{item}' on type '{type_name}'."
                    )))
                }
            }
        }
        if out.is_empty() {
            return Err(GraphError::bad_request("The $select option is empty."));
        }
        Ok(Some(out))
    }
}

/// OData's refusal of an unsupported query option.
pub(crate) fn not_allowed(name: &str) -> GraphError {
    let bare = name.trim_start_matches('$');
    let mut pretty = String::new();
    let mut chars = bare.chars();
    if let Some(first) = chars.next() {
        pretty.extend(first.to_uppercase());
        pretty.push_str(chars.as_str());
    }
    GraphError::bad_request(format!(
        "Query option '{pretty}' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings."
    ))
}
