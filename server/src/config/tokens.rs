//! `INGEST_TOKEN` and `ADMIN_TOKEN`: at least [`MIN_TOKEN_CHARS`]
//! characters, checked when the settings are parsed.

/// Tokens shorter than this stop start-up: a short token is guessed.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Checks `INGEST_TOKEN` and `ADMIN_TOKEN`: an empty or short token stops
/// start-up with a message naming the variable and never showing the value.
#[derive(Debug, Clone, Copy)]
pub struct TokenParser;

impl clap::builder::TypedValueParser for TokenParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let problem = match value.to_str() {
            Some(token) if token.chars().count() >= MIN_TOKEN_CHARS => {
                return Ok(token.to_owned());
            }
            Some("") => "is empty".to_owned(),
            Some(token) => format!("has {} characters", token.chars().count()),
            None => "is not UTF-8 text".to_owned(),
        };
        let env = arg.and_then(clap::Arg::get_env).map_or_else(
            || "the token".to_owned(),
            |e| e.to_string_lossy().into_owned(),
        );
        let flag = arg
            .and_then(clap::Arg::get_long)
            .map(|l| format!(" (--{l})"))
            .unwrap_or_default();
        Err(clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            format!(
                "{env}{flag} {problem}: use at least {MIN_TOKEN_CHARS} characters \
                 (`openssl rand -hex 16` makes 32), or unset it to turn it off\n"
            ),
        )
        .with_cmd(cmd))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::ServeConfig;

    fn parse(args: &[&str]) -> Result<ServeConfig, String> {
        ServeConfig::parse_from(args).map_err(|e| e.to_string())
    }

    #[test]
    fn an_empty_or_short_token_is_refused_naming_the_variable() {
        for flag in ["--admin-token", "--ingest-token"] {
            let env = flag
                .trim_start_matches("--")
                .replace('-', "_")
                .to_uppercase();
            for value in ["", "short-secret", "fifteen-chars!!"] {
                let err = parse(&[flag, value]).unwrap_err();
                assert!(err.contains(&env) && err.contains("16"), "{err}");
                if !value.is_empty() {
                    assert!(!err.contains(value), "the token is shown: {err}");
                }
            }
            let c = parse(&[flag, "sixteen-chars!!!"]).unwrap();
            let token = if env == "ADMIN_TOKEN" {
                c.access.admin_token
            } else {
                c.access.ingest_token
            };
            assert_eq!(token.as_deref(), Some("sixteen-chars!!!"));
        }
        let c = parse(&[]).unwrap();
        assert_eq!(c.access.admin_token, None);
        assert_eq!(c.access.ingest_token, None);
        assert_eq!(c.access.auth_max_failures, 10);
        assert_eq!(c.access.auth_failure_window, 60);
        assert_eq!(c.metrics_bind, None);
    }
}
