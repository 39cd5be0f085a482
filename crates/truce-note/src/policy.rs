//! A cosigning policy: a checkpoint counts only with the log's signature and
//! enough cosignatures from each group of witnesses (e.g. one group per party
//! to a ceasefire, so that neither side's witnesses alone can vouch for a
//! split view of the log).

use std::collections::BTreeSet;
use std::fmt;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::key::{KeyId, KeyName, Verifier};
use crate::note::{self, Note, NoteError, NoteVerifyError, VerifiedNote, VerifiedSignature};

/// Why a policy cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyConfigError {
    /// A group has an empty name.
    #[error("a witness group needs a name")]
    EmptyGroupName,
    /// Two groups share a name.
    #[error("two witness groups are named {group:?}")]
    DuplicateGroup {
        /// The name.
        group: String,
    },
    /// A group lists the same witness twice.
    #[error("group {group:?} lists witness {witness} twice")]
    DuplicateWitness {
        /// The group.
        group: String,
        /// The witness key name.
        witness: KeyName,
    },
    /// A group's threshold is 0.
    #[error("group {group:?} has threshold 0")]
    ZeroThreshold {
        /// The group.
        group: String,
    },
    /// A group's threshold exceeds its number of witnesses.
    #[error("group {group:?} needs {threshold} cosignatures but has {witnesses} witnesses")]
    ThresholdTooHigh {
        /// The group.
        group: String,
        /// The threshold.
        threshold: usize,
        /// The number of witnesses.
        witnesses: usize,
    },
    /// Two different keys of the policy share a name and key id.
    #[error("two different keys have name {name} and key id {key_id}")]
    AmbiguousKeys {
        /// The shared name.
        name: KeyName,
        /// The shared key id.
        key_id: KeyId,
    },
    /// The origin is not a valid checkpoint origin line.
    #[error("invalid origin: {0}")]
    Origin(CheckpointError),
}

/// A named set of witnesses of which at least `threshold` must cosign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessGroup {
    name: String,
    witnesses: Vec<Verifier>,
    threshold: usize,
}

impl WitnessGroup {
    /// A group; `threshold` must be between 1 and the number of witnesses,
    /// and no witness may be listed twice.
    pub fn new(
        name: &str,
        witnesses: Vec<Verifier>,
        threshold: usize,
    ) -> Result<Self, PolicyConfigError> {
        if name.is_empty() {
            return Err(PolicyConfigError::EmptyGroupName);
        }
        for (idx, witness) in witnesses.iter().enumerate() {
            if witnesses[..idx].contains(witness) {
                return Err(PolicyConfigError::DuplicateWitness {
                    group: name.to_owned(),
                    witness: witness.name().clone(),
                });
            }
        }
        if threshold == 0 {
            return Err(PolicyConfigError::ZeroThreshold {
                group: name.to_owned(),
            });
        }
        if threshold > witnesses.len() {
            return Err(PolicyConfigError::ThresholdTooHigh {
                group: name.to_owned(),
                threshold,
                witnesses: witnesses.len(),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            witnesses,
            threshold,
        })
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The witnesses' keys.
    pub fn witnesses(&self) -> &[Verifier] {
        &self.witnesses
    }

    /// How many of them must cosign.
    pub fn threshold(&self) -> usize {
        self.threshold
    }
}

/// One group's shortfall: fewer verified cosignatures than its threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupShortfall {
    /// The group.
    pub group: String,
    /// Cosignatures it needs.
    pub threshold: usize,
    /// Its witnesses whose cosignatures verified.
    pub present: Vec<KeyName>,
    /// Its witnesses whose cosignatures are absent.
    pub missing: Vec<KeyName>,
}

/// Everything a note lacks to satisfy a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// The log's key name, if its signature is absent.
    pub log: Option<KeyName>,
    /// The groups below their thresholds, in policy order.
    pub groups: Vec<GroupShortfall>,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(log) = &self.log {
            parts.push(format!("no signature from the log key {log}"));
        }
        for group in &self.groups {
            let missing: Vec<&str> = group.missing.iter().map(KeyName::as_str).collect();
            parts.push(format!(
                "group {:?} has {} of {} required cosignatures (missing: {})",
                group.group,
                group.present.len(),
                group.threshold,
                missing.join(", ")
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Why a note does not satisfy a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The bytes are not a signed note.
    #[error("malformed note: {0}")]
    Malformed(#[from] NoteError),
    /// A signature addressed to one of the policy's keys does not verify
    /// ([`NoteVerifyError::InvalidSignature`]).
    #[error(transparent)]
    Signature(NoteVerifyError),
    /// Signatures are missing.
    #[error("policy not satisfied: {0}")]
    Unsatisfied(Shortfall),
    /// The log signed a text that is not a checkpoint.
    #[error("the log signed something that is not a checkpoint: {0}")]
    NotACheckpoint(CheckpointError),
    /// The checkpoint is for another log.
    #[error("checkpoint origin {found:?}, expected {expected:?}")]
    WrongOrigin {
        /// The policy's origin.
        expected: String,
        /// The checkpoint's origin.
        found: String,
    },
}

/// The cosignatures one group contributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCosignatures {
    /// The group.
    pub group: String,
    /// Its witnesses whose cosignatures verified, in policy order (with
    /// timestamps for `cosignature/v1`).
    pub cosignatures: Vec<VerifiedSignature>,
}

/// A checkpoint that satisfied a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOk {
    checkpoint: Checkpoint,
    verified: VerifiedNote,
    groups: Vec<GroupCosignatures>,
}

impl PolicyOk {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The note with its verified and unknown signatures.
    pub fn verified(&self) -> &VerifiedNote {
        &self.verified
    }

    /// What each group contributed, in policy order.
    pub fn groups(&self) -> &[GroupCosignatures] {
        &self.groups
    }
}

/// "Valid only with the log's signature and the cosignatures of the
/// witnesses of every party": the log's key, the expected origin, and witness
/// groups with thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    origin: String,
    log: Verifier,
    groups: Vec<WitnessGroup>,
    /// Every distinct key of the policy, log first.
    known: Vec<Verifier>,
}

impl Policy {
    /// A policy for the log with this origin and key. With no groups it
    /// requires the log's signature only.
    pub fn new(
        origin: &str,
        log: Verifier,
        groups: Vec<WitnessGroup>,
    ) -> Result<Self, PolicyConfigError> {
        Checkpoint::new(origin, 0, truce_merkle::EMPTY_ROOT).map_err(PolicyConfigError::Origin)?;
        let mut names = BTreeSet::new();
        for group in &groups {
            if !names.insert(group.name.as_str()) {
                return Err(PolicyConfigError::DuplicateGroup {
                    group: group.name.clone(),
                });
            }
        }
        let mut known = vec![log.clone()];
        for witness in groups.iter().flat_map(|group| &group.witnesses) {
            if let Some(other) = known
                .iter()
                .find(|other| other.matches(witness.name(), witness.key_id()))
            {
                if other != witness {
                    return Err(PolicyConfigError::AmbiguousKeys {
                        name: witness.name().clone(),
                        key_id: witness.key_id(),
                    });
                }
            } else {
                known.push(witness.clone());
            }
        }
        Ok(Self {
            origin: origin.to_owned(),
            log,
            groups,
            known,
        })
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The log's key.
    pub fn log(&self) -> &Verifier {
        &self.log
    }

    /// The witness groups.
    pub fn groups(&self) -> &[WitnessGroup] {
        &self.groups
    }

    /// Parses the note and checks it ([`Policy::check_note`]).
    pub fn check(&self, note: &[u8]) -> Result<PolicyOk, PolicyError> {
        self.check_note(&Note::parse(note)?)
    }

    /// Checks a note:
    ///
    /// 1. every signature addressed to a key of the policy must verify (one
    ///    bad signature rejects the note); others are ignored;
    /// 2. the log's signature and each group's threshold of cosignatures must
    ///    be present, or [`PolicyError::Unsatisfied`] lists all that is missing;
    /// 3. only then is the text read: it must be a checkpoint of this origin.
    ///
    /// Cosignature timestamps are returned, not judged: this crate reads no
    /// clock.
    pub fn check_note(&self, note: &Note) -> Result<PolicyOk, PolicyError> {
        let verified = note::check_signatures(note, &self.known).map_err(PolicyError::Signature)?;

        let mut shortfall = Shortfall {
            log: (!verified.is_verified_by(&self.log)).then(|| self.log.name().clone()),
            groups: Vec::new(),
        };
        let mut contributions = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let mut cosignatures = Vec::new();
            let mut missing = Vec::new();
            for witness in &group.witnesses {
                match verified.find(witness) {
                    Some(signature) => cosignatures.push(signature.clone()),
                    None => missing.push(witness.name().clone()),
                }
            }
            if cosignatures.len() < group.threshold {
                shortfall.groups.push(GroupShortfall {
                    group: group.name.clone(),
                    threshold: group.threshold,
                    present: cosignatures.iter().map(|s| s.name().clone()).collect(),
                    missing,
                });
            }
            contributions.push(GroupCosignatures {
                group: group.name.clone(),
                cosignatures,
            });
        }
        if shortfall.log.is_some() || !shortfall.groups.is_empty() {
            return Err(PolicyError::Unsatisfied(shortfall));
        }

        let checkpoint =
            Checkpoint::from_text(verified.text()).map_err(PolicyError::NotACheckpoint)?;
        if checkpoint.origin() != self.origin {
            return Err(PolicyError::WrongOrigin {
                expected: self.origin.clone(),
                found: checkpoint.origin().to_owned(),
            });
        }
        Ok(PolicyOk {
            checkpoint,
            verified,
            groups: contributions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Cosigner, NoteSigner};
    use truce_merkle::leaf_hash;

    const ORIGIN: &str = "example.com/policy-log";

    fn name(text: &str) -> KeyName {
        KeyName::new(text).unwrap()
    }

    struct Parties {
        log: NoteSigner,
        a: Vec<Cosigner>,
        b: Vec<Cosigner>,
    }

    fn parties() -> Parties {
        Parties {
            log: NoteSigner::from_seed(name(ORIGIN), &[1; 32]),
            a: (0..3)
                .map(|i| Cosigner::from_seed(name(&format!("a{i}.example")), &[10 + i; 32]))
                .collect(),
            b: (0..2)
                .map(|i| Cosigner::from_seed(name(&format!("b{i}.example")), &[20 + i; 32]))
                .collect(),
        }
    }

    fn policy(parties: &Parties) -> Policy {
        let group = |label: &str, cosigners: &[Cosigner], threshold| {
            WitnessGroup::new(
                label,
                cosigners.iter().map(Cosigner::verifier).collect(),
                threshold,
            )
            .unwrap()
        };
        Policy::new(
            ORIGIN,
            parties.log.verifier(),
            vec![
                group("party-a", &parties.a, 2),
                group("party-b", &parties.b, 1),
            ],
        )
        .unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint::new(ORIGIN, 7, leaf_hash(b"root")).unwrap()
    }

    #[test]
    fn satisfied_with_log_and_both_parties() {
        let parties = parties();
        let policy = policy(&parties);
        let checkpoint = checkpoint();
        let mut note = checkpoint.sign(&parties.log);
        for (cosigner, time) in [
            (&parties.a[0], 10),
            (&parties.a[2], 11),
            (&parties.b[1], 12),
        ] {
            note.push_signature(cosigner.cosign(&checkpoint, time).unwrap())
                .unwrap();
        }
        let ok = policy.check(&note.to_bytes()).unwrap();
        assert_eq!(ok.checkpoint(), &checkpoint);
        assert_eq!(ok.groups().len(), 2);
        let a: Vec<_> = ok.groups()[0]
            .cosignatures
            .iter()
            .map(|s| (s.name().as_str(), s.timestamp()))
            .collect();
        assert_eq!(a, [("a0.example", Some(10)), ("a2.example", Some(11))]);
        assert_eq!(ok.groups()[1].cosignatures[0].timestamp(), Some(12));
    }

    #[test]
    fn shortfall_names_what_is_missing() {
        let parties = parties();
        let policy = policy(&parties);
        let checkpoint = checkpoint();
        let mut note = checkpoint.sign(&parties.log);
        note.push_signature(parties.a[1].cosign(&checkpoint, 5).unwrap())
            .unwrap();
        let Err(PolicyError::Unsatisfied(shortfall)) = policy.check_note(&note) else {
            panic!("accepted");
        };
        assert_eq!(shortfall.log, None);
        assert_eq!(
            shortfall.groups,
            vec![
                GroupShortfall {
                    group: "party-a".into(),
                    threshold: 2,
                    present: vec![name("a1.example")],
                    missing: vec![name("a0.example"), name("a2.example")],
                },
                GroupShortfall {
                    group: "party-b".into(),
                    threshold: 1,
                    present: vec![],
                    missing: vec![name("b0.example"), name("b1.example")],
                }
            ]
        );
        assert_eq!(
            shortfall.to_string(),
            "group \"party-a\" has 1 of 2 required cosignatures (missing: a0.example, a2.example); \
             group \"party-b\" has 0 of 1 required cosignatures (missing: b0.example, b1.example)"
        );

        // Cosignatures without the log's signature.
        let text = checkpoint.to_text();
        let cosigs: Vec<_> = [&parties.a[0], &parties.a[1], &parties.b[0]]
            .iter()
            .map(|c| c.cosign_text(&text, 1).unwrap())
            .collect();
        let unsigned = Note::new(&text, cosigs).unwrap();
        let Err(PolicyError::Unsatisfied(shortfall)) = policy.check_note(&unsigned) else {
            panic!("accepted");
        };
        assert_eq!(shortfall.log, Some(name(ORIGIN)));
        assert!(shortfall.groups.is_empty());

        // Nothing known at all.
        let stranger = NoteSigner::from_seed(name("stranger"), &[3; 32]);
        let Err(PolicyError::Unsatisfied(shortfall)) =
            policy.check_note(&checkpoint.sign(&stranger))
        else {
            panic!("accepted");
        };
        assert_eq!(shortfall.log, Some(name(ORIGIN)));
    }

    #[test]
    fn bad_cosignature_or_wrong_checkpoint_rejects() {
        let parties = parties();
        let policy = policy(&parties);
        let checkpoint = checkpoint();
        let mut note = checkpoint.sign(&parties.log);
        for cosigner in [&parties.a[0], &parties.a[1], &parties.b[0]] {
            note.push_signature(cosigner.cosign(&checkpoint, 1).unwrap())
                .unwrap();
        }
        assert!(policy.check_note(&note).is_ok());
        // A cosignature over another checkpoint from a known witness.
        let other = Checkpoint::new(ORIGIN, 8, leaf_hash(b"other")).unwrap();
        let mut bad = note.clone();
        bad.push_signature(parties.b[1].cosign(&other, 1).unwrap())
            .unwrap();
        assert_eq!(
            policy.check_note(&bad),
            Err(PolicyError::Signature(NoteVerifyError::InvalidSignature {
                name: name("b1.example"),
                key_id: parties.b[1].key_id()
            }))
        );

        // Other origin, properly signed by everyone.
        let elsewhere = Checkpoint::new("elsewhere.example", 7, leaf_hash(b"root")).unwrap();
        let mut note = elsewhere.sign(&parties.log);
        for cosigner in [&parties.a[0], &parties.a[1], &parties.b[0]] {
            note.push_signature(cosigner.cosign(&elsewhere, 1).unwrap())
                .unwrap();
        }
        assert!(matches!(
            policy.check_note(&note),
            Err(PolicyError::WrongOrigin { .. })
        ));

        // Everyone signed a text that is not a checkpoint.
        let text = "not a checkpoint\n";
        let mut note = parties.log.sign_note(text).unwrap();
        for cosigner in [&parties.a[0], &parties.a[1], &parties.b[0]] {
            note.push_signature(cosigner.cosign_text(text, 1).unwrap())
                .unwrap();
        }
        assert!(matches!(
            policy.check_note(&note),
            Err(PolicyError::NotACheckpoint(_))
        ));
    }

    #[test]
    fn configuration_errors() {
        let parties = parties();
        let verifiers: Vec<_> = parties.a.iter().map(Cosigner::verifier).collect();
        assert_eq!(
            WitnessGroup::new("", verifiers.clone(), 1),
            Err(PolicyConfigError::EmptyGroupName)
        );
        assert!(matches!(
            WitnessGroup::new("g", verifiers.clone(), 0),
            Err(PolicyConfigError::ZeroThreshold { .. })
        ));
        assert!(matches!(
            WitnessGroup::new("g", verifiers.clone(), 4),
            Err(PolicyConfigError::ThresholdTooHigh {
                threshold: 4,
                witnesses: 3,
                ..
            })
        ));
        let twice = vec![verifiers[0].clone(), verifiers[0].clone()];
        assert!(matches!(
            WitnessGroup::new("g", twice, 1),
            Err(PolicyConfigError::DuplicateWitness { .. })
        ));
        let group = WitnessGroup::new("g", verifiers, 1).unwrap();
        assert!(matches!(
            Policy::new(
                ORIGIN,
                parties.log.verifier(),
                vec![group.clone(), group.clone()]
            ),
            Err(PolicyConfigError::DuplicateGroup { .. })
        ));
        assert!(matches!(
            Policy::new("", parties.log.verifier(), vec![]),
            Err(PolicyConfigError::Origin(_))
        ));
        // A witness in two groups is fine, and the log alone is a policy.
        let other = WitnessGroup::new("h", group.witnesses().to_vec(), 3).unwrap();
        assert!(Policy::new(ORIGIN, parties.log.verifier(), vec![group, other]).is_ok());
        let log_only = Policy::new(ORIGIN, parties.log.verifier(), vec![]).unwrap();
        assert!(
            log_only
                .check_note(&checkpoint().sign(&parties.log))
                .is_ok()
        );
    }
}
