//! A string that must never be printed by accident.

use std::fmt;

use zeroize::Zeroize;

/// Secret text (a token, a key, a private key in PEM).
///
/// `Debug` prints `<redacted>` and there is no `Display`, so the value can only leave
/// through [`Secret::expose`], which makes every use easy to find. The memory is wiped
/// on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret value itself; call only where the value is meant to be written out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("hunter2-very-secret".to_owned());
        let debug = format!("{secret:?} {:#?}", Some(&secret));
        assert!(!debug.contains("hunter2"), "{debug}");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }
}
