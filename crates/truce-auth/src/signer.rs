//! The submitter's side: signing a request.

use truce_note::{ED25519_SIGNATURE_LEN, KeyName, NoteSigner, Verifier};

use crate::canonical::{self, NONCE_LEN, Nonce, RequestError, canonical_request};
use crate::header::AuthorizationHeader;

/// Signs requests with a submitter's Ed25519 note key.
///
/// The key's name is the identity the server registered; it must be printable
/// ASCII without `,`, `"` or `\` so that it fits in the header unquoted.
#[derive(Debug, Clone)]
pub struct RequestSigner {
    signer: NoteSigner,
}

impl RequestSigner {
    /// Wraps a note signer (made with [`NoteSigner::from_skey`] or
    /// [`NoteSigner::from_seed`]).
    ///
    /// # Errors
    ///
    /// [`RequestError::KeyName`] when the key name cannot be carried in a header.
    pub fn new(signer: NoteSigner) -> Result<Self, RequestError> {
        canonical::check_header_key_name(signer.name())?;
        Ok(Self { signer })
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        self.signer.name()
    }

    /// The verifier the server registers for this key.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// Signs a request: `timestamp_ms` is the submitter's clock in Unix
    /// milliseconds, `nonce` 16 fresh random bytes (never reused with this key).
    ///
    /// # Errors
    ///
    /// [`RequestError`] when the method, the path or the timestamp cannot be
    /// put in canonical form.
    pub fn sign(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        timestamp_ms: i64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<AuthorizationHeader, RequestError> {
        let nonce = Nonce::new(nonce);
        let text = canonical_request(
            method,
            path_and_query,
            self.signer.name(),
            self.signer.key_id(),
            timestamp_ms,
            &nonce,
            body,
        )?;
        let note_signature = self.signer.sign_text(&text);
        let produced = note_signature.signature();
        debug_assert_eq!(produced.len(), ED25519_SIGNATURE_LEN);
        let mut signature = [0u8; ED25519_SIGNATURE_LEN];
        for (slot, byte) in signature.iter_mut().zip(produced) {
            *slot = *byte;
        }
        AuthorizationHeader::new(
            self.signer.name().clone(),
            self.signer.key_id(),
            timestamp_ms,
            nonce,
            signature,
        )
    }

    /// [`RequestSigner::sign`], formatted as the value of the `Authorization`
    /// header.
    ///
    /// # Errors
    ///
    /// As [`RequestSigner::sign`].
    pub fn authorization(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        timestamp_ms: i64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, RequestError> {
        self.sign(method, path_and_query, body, timestamp_ms, nonce)
            .map(|header| header.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_that_do_not_fit_a_header_are_refused() {
        let signer = NoteSigner::from_seed(KeyName::new("a,b").unwrap(), &[1; 32]);
        assert!(matches!(
            RequestSigner::new(signer),
            Err(RequestError::KeyName { .. })
        ));
    }

    #[test]
    fn bad_requests_are_refused_before_signing() {
        let signer =
            RequestSigner::new(NoteSigner::from_seed(KeyName::new("a").unwrap(), &[1; 32]))
                .unwrap();
        assert!(matches!(
            signer.authorization("GET", "reports", b"", 0, [0; 16]),
            Err(RequestError::Path { .. })
        ));
        assert_eq!(
            signer.authorization("GET", "/", b"", -1, [0; 16]),
            Err(RequestError::Timestamp { timestamp_ms: -1 })
        );
        assert_eq!(signer.name().as_str(), "a");
        assert_eq!(signer.verifier().name().as_str(), "a");
    }
}
