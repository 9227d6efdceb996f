//! [`Study`]: an indicator and its parameters, checked, parsed from text
//! (`sma:20`, `rsi:14`, `bb:20:2`, `macd:12:26:9`) or from named
//! parameters ([`StudyParams`], as the HTTP query gives them).

use std::fmt;
use std::str::FromStr;

/// The longest period a study may span: bounds the memory of each.
pub const MAX_PERIOD: usize = 500;

/// An indicator with checked parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Study {
    /// `ta.sma(close, period)`.
    Sma {
        /// Values averaged, 1 to [`MAX_PERIOD`].
        period: usize,
    },
    /// `ta.ema(close, period)`.
    Ema {
        /// Values averaged, 1 to [`MAX_PERIOD`].
        period: usize,
    },
    /// `ta.rsi(close, period)`.
    Rsi {
        /// Changes averaged, 1 to [`MAX_PERIOD`].
        period: usize,
    },
    /// `ta.bb(close, period, mult)`.
    Bb {
        /// Values averaged, 1 to [`MAX_PERIOD`].
        period: usize,
        /// Standard deviations from the basis: finite and above 0.
        mult: f64,
    },
    /// `ta.macd(close, fast, slow, signal)`.
    Macd {
        /// The fast average's period (default 12).
        fast: usize,
        /// The slow average's period (default 26).
        slow: usize,
        /// The signal average's period (default 9).
        signal: usize,
    },
}

/// Why a study was refused; the text names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StudyError {
    /// No indicator of that name.
    #[error("name: unknown indicator {0:?}; expected sma, ema, rsi, bb or macd")]
    UnknownName(String),
    /// A parameter the indicator needs is missing.
    #[error("{0}: missing; {1} needs it")]
    Missing(&'static str, &'static str),
    /// A period is not a whole number in range.
    #[error("{0}: must be a whole number from 1 to {MAX_PERIOD}, not {1:?}")]
    Period(&'static str, String),
    /// The multiplier is not a finite number above 0.
    #[error("mult: must be a finite number greater than 0, not {0:?}")]
    Mult(String),
    /// A parameter was given that the indicator does not take.
    #[error("{0}: {1} does not take it")]
    NotTaken(&'static str, &'static str),
    /// The text form has more parts than the indicator takes.
    #[error("{0}: too many parameters in {1:?}")]
    TooMany(&'static str, String),
}

/// Named parameters as text, as the HTTP query gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct StudyParams<'a> {
    /// `period` (sma, ema, rsi, bb).
    pub period: Option<&'a str>,
    /// `mult` (bb; default 2).
    pub mult: Option<&'a str>,
    /// `fast` (macd; default 12).
    pub fast: Option<&'a str>,
    /// `slow` (macd; default 26).
    pub slow: Option<&'a str>,
    /// `signal` (macd; default 9).
    pub signal: Option<&'a str>,
}

impl Study {
    /// The indicator `name` with `params`.
    ///
    /// # Errors
    ///
    /// [`StudyError`] naming the parameter that is missing, out of range,
    /// or not taken by the indicator.
    pub fn from_params(name: &str, params: &StudyParams<'_>) -> Result<Self, StudyError> {
        let name = match name {
            "sma" => "sma",
            "ema" => "ema",
            "rsi" => "rsi",
            "bb" => "bb",
            "macd" => "macd",
            other => return Err(StudyError::UnknownName(other.chars().take(40).collect())),
        };
        let takes = parameters(name);
        let given = [
            ("period", params.period),
            ("mult", params.mult),
            ("fast", params.fast),
            ("slow", params.slow),
            ("signal", params.signal),
        ];
        if let Some((param, _)) = given
            .iter()
            .find(|(p, v)| v.is_some() && !takes.contains(p))
        {
            return Err(StudyError::NotTaken(param, name));
        }
        let required = || {
            period(
                "period",
                params.period.ok_or(StudyError::Missing("period", name))?,
            )
        };
        let or =
            |param, text: Option<&str>, default| text.map_or(Ok(default), |t| period(param, t));
        Ok(match name {
            "sma" => Self::Sma {
                period: required()?,
            },
            "ema" => Self::Ema {
                period: required()?,
            },
            "rsi" => Self::Rsi {
                period: required()?,
            },
            "bb" => Self::Bb {
                period: required()?,
                mult: params.mult.map_or(Ok(2.0), mult)?,
            },
            _ => Self::Macd {
                fast: or("fast", params.fast, 12)?,
                slow: or("slow", params.slow, 26)?,
                signal: or("signal", params.signal, 9)?,
            },
        })
    }

    /// The indicator's name: `sma`, `ema`, `rsi`, `bb` or `macd`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Sma { .. } => "sma",
            Self::Ema { .. } => "ema",
            Self::Rsi { .. } => "rsi",
            Self::Bb { .. } => "bb",
            Self::Macd { .. } => "macd",
        }
    }
}

/// The parameters `name` takes, in the order Pine takes them.
fn parameters(name: &str) -> &'static [&'static str] {
    match name {
        "bb" => &["period", "mult"],
        "macd" => &["fast", "slow", "signal"],
        _ => &["period"],
    }
}

fn period(param: &'static str, text: &str) -> Result<usize, StudyError> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_PERIOD).contains(&n) => Ok(n),
        _ => Err(StudyError::Period(param, text.chars().take(40).collect())),
    }
}

fn mult(text: &str) -> Result<f64, StudyError> {
    match text.parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 => Ok(m),
        _ => Err(StudyError::Mult(text.chars().take(40).collect())),
    }
}

/// `name[:p1[:p2[:p3]]]`, the parameters in the order Pine takes them:
/// `sma:20`, `bb:20:2`, `macd` (12/26/9) or `macd:12:26:9`.
impl FromStr for Study {
    type Err = StudyError;

    fn from_str(text: &str) -> Result<Self, StudyError> {
        let mut parts = text.split(':');
        let name = parts.next().unwrap_or_default();
        let values: Vec<&str> = parts.collect();
        let order = parameters(name);
        if values.len() > order.len() {
            return Err(StudyError::TooMany(
                order[order.len() - 1],
                text.chars().take(40).collect(),
            ));
        }
        let mut params = StudyParams::default();
        for (param, value) in order.iter().zip(values) {
            let slot = match *param {
                "period" => &mut params.period,
                "mult" => &mut params.mult,
                "fast" => &mut params.fast,
                "slow" => &mut params.slow,
                _ => &mut params.signal,
            };
            *slot = Some(value);
        }
        Self::from_params(name, &params)
    }
}

/// The text form [`Study::from_str`] reads back.
impl fmt::Display for Study {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sma { period } | Self::Ema { period } | Self::Rsi { period } => {
                write!(f, "{}:{period}", self.name())
            }
            Self::Bb { period, mult } => write!(f, "bb:{period}:{mult}"),
            Self::Macd { fast, slow, signal } => write!(f, "macd:{fast}:{slow}:{signal}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_forms_with_pine_defaults() {
        assert_eq!("sma:20".parse(), Ok(Study::Sma { period: 20 }));
        assert_eq!("rsi:14".parse(), Ok(Study::Rsi { period: 14 }));
        assert_eq!(
            "bb:20:2.5".parse(),
            Ok(Study::Bb {
                period: 20,
                mult: 2.5
            })
        );
        assert_eq!(
            "bb:20".parse(),
            Ok(Study::Bb {
                period: 20,
                mult: 2.0
            })
        );
        let macd = Study::Macd {
            fast: 12,
            slow: 26,
            signal: 9,
        };
        assert_eq!("macd".parse(), Ok(macd));
        assert_eq!("macd:12:26:9".parse(), Ok(macd));
        for s in ["sma:20", "bb:20:2", "macd:12:26:9", "ema:500", "rsi:1"] {
            assert_eq!(s.parse::<Study>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn refusals_name_the_parameter() {
        let err = |s: &str| s.parse::<Study>().unwrap_err().to_string();
        assert!(err("wma:3").starts_with("name:"), "{}", err("wma:3"));
        assert!(err("sma").starts_with("period: missing"), "{}", err("sma"));
        for bad in ["sma:0", "sma:501", "sma:-1", "sma:2.5", "sma:x", "sma:"] {
            assert!(
                err(bad).starts_with("period: must be"),
                "{bad}: {}",
                err(bad)
            );
        }
        for bad in ["bb:20:0", "bb:20:-1", "bb:20:inf", "bb:20:NaN", "bb:20:x"] {
            assert!(err(bad).starts_with("mult:"), "{bad}: {}", err(bad));
        }
        assert!(err("macd:12:0:9").starts_with("slow:"));
        assert!(err("sma:20:2").contains("too many"));
        let p = StudyParams {
            period: Some("20"),
            mult: Some("2"),
            ..StudyParams::default()
        };
        assert_eq!(
            Study::from_params("sma", &p),
            Err(StudyError::NotTaken("mult", "sma"))
        );
    }
}
