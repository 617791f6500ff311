//! X.509 certificates for party keys, so that standard PDF tools can name the
//! person behind each PDF signature.
//!
//! A party's certificate is issued when it joins, either by its own key (a
//! self-signed certificate) or by its organization's certificate authority,
//! and travels in the `Join` entry as a chain: the party's certificate first,
//! then the CA's. Everything is Ed25519 and DER, and nothing reads a clock:
//! the validity starts at the `Join`'s claimed time and never ends (RFC 5280
//! §4.1.2.5's 99991231235959Z), because the signature's meaning is fixed by
//! the log, not by an expiry date. The subject's name must be the party's
//! name in the envelope's terms (the rules check it); an issuer's name is only
//! a claim, which is why reports show the root certificate's fingerprint.

use std::time::Duration;

use const_oid::AssociatedOid;
use const_oid::db::rfc4519;
use const_oid::db::rfc8410::ID_ED_25519;
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Tag};
use thiserror::Error;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use crate::keys::{PublicKey, SecretKey, Signature};
use crate::model::Contact;

/// Longest certificate accepted in a chain, in bytes.
pub const MAX_CERTIFICATE_BYTES: usize = 8 * 1024;
/// Most certificates in a chain: the party's, and its organization's CA.
pub const MAX_CHAIN: usize = 2;

/// `telephoneNumber` (X.520), for parties reached by phone.
const TELEPHONE_NUMBER: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("2.5.4.20");

/// Why a certificate chain is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// No certificate, too many, or one too large.
    #[error("a party's certificate chain must hold 1 to {MAX_CHAIN} certificates of at most {MAX_CERTIFICATE_BYTES} bytes")]
    Shape,
    /// Not DER X.509.
    #[error("a certificate cannot be read: {0}")]
    Malformed(String),
    /// Not an Ed25519 certificate, or signed with something else.
    #[error("a certificate is not Ed25519")]
    NotEd25519,
    /// The certificate is for another key.
    #[error("the certificate is for another key than the party's")]
    WrongKey,
    /// The issuer's signature does not verify, or the issuer is not the next in the chain.
    #[error("the certificate is not signed by its issuer")]
    BadIssuerSignature,
    /// The key usage does not allow signing documents (non-repudiation).
    #[error("the certificate does not allow signing documents (no non-repudiation key usage)")]
    NotForSigning,
    /// The issuing certificate is not a certificate authority.
    #[error("the issuing certificate is not a certificate authority")]
    NotACa,
}

fn malformed(error: der::Error) -> CertificateError {
    CertificateError::Malformed(error.to_string())
}

/// Who signs a party's certificate.
#[derive(Debug, Clone, Copy)]
pub enum Issuer<'a> {
    /// The party's own key: a self-signed certificate.
    Itself(&'a SecretKey),
    /// The organization's certificate authority: its certificate (DER) and key.
    Authority {
        /// The CA's certificate, DER.
        certificate: &'a [u8],
        /// The CA's key.
        key: &'a SecretKey,
    },
}

/// What a checked chain says, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The party's certificate subject's common name.
    pub subject: String,
    /// The issuer's common name.
    pub issuer: String,
    /// Whether the party's own key signed it.
    pub self_signed: bool,
    /// SHA-256 fingerprint of the chain's root (the CA's certificate, or the
    /// party's own if self-signed): what a person compares with the
    /// certificate they chose to trust. The names alone prove nothing.
    pub root_fingerprint: String,
}

/// Issues a party's certificate chain (the party's certificate, then the CA's
/// if a CA issued it). `since_ms` is the Unix time (ms) it is valid from.
pub fn issue(key: &PublicKey, name: &str, contact: &Contact, issuer: Issuer<'_>, since_ms: u64) -> Result<Vec<Vec<u8>>, CertificateError> {
    let (issuer_name, issuer_key, chain_tail) = match issuer {
        Issuer::Itself(own) => (None, own, None),
        Issuer::Authority { certificate, key } => {
            let ca = Certificate::from_der(certificate).map_err(malformed)?;
            (Some(ca.tbs_certificate.subject.clone()), key, Some(certificate.to_vec()))
        }
    };
    let tbs = party_tbs(key, name, contact, issuer_name, &issuer_key.public(), since_ms)?;
    let mut chain = vec![sign_certificate(tbs, issuer_key)?];
    chain.extend(chain_tail);
    Ok(chain)
}

/// A party's self-signed certificate, in two halves for a key that signs
/// elsewhere (the browser's guest signer, whose key never leaves WebCrypto):
/// sign [`UnsignedCertificate::to_sign`], then give the value to
/// [`UnsignedCertificate::signed`]. The same certificate [`issue`] makes
/// with [`Issuer::Itself`].
pub fn self_signed(key: &PublicKey, name: &str, contact: &Contact, since_ms: u64) -> Result<UnsignedCertificate, CertificateError> {
    Ok(UnsignedCertificate(party_tbs(key, name, contact, None, key, since_ms)?))
}

/// A certificate waiting for its signature (see [`self_signed`]).
#[derive(Debug, Clone)]
pub struct UnsignedCertificate(TbsCertificate);

impl UnsignedCertificate {
    /// The bytes the key signs: the DER of the to-be-signed certificate.
    pub fn to_sign(&self) -> Result<Vec<u8>, CertificateError> {
        self.0.to_der().map_err(malformed)
    }

    /// The certificate (DER) with `signature`, which must be the key's
    /// signature over [`UnsignedCertificate::to_sign`].
    pub fn signed(self, signature: &Signature) -> Result<Vec<u8>, CertificateError> {
        let key = PublicKey::from_bytes(
            self.0
                .subject_public_key_info
                .subject_public_key
                .raw_bytes()
                .try_into()
                .map_err(|_| CertificateError::Malformed("not an Ed25519 key".into()))?,
        );
        key.verify(&self.to_sign()?, signature).map_err(|_| CertificateError::BadIssuerSignature)?;
        certificate_with(self.0, signature)
    }
}

/// The to-be-signed certificate of a party: issued by `issuer_name` (its
/// own name when `None`: self-signed) whose key is `issuer_key`.
fn party_tbs(
    key: &PublicKey,
    name: &str,
    contact: &Contact,
    issuer_name: Option<Name>,
    issuer_key: &PublicKey,
    since_ms: u64,
) -> Result<TbsCertificate, CertificateError> {
    let mut subject = vec![attribute(rfc4519::CN, Tag::Utf8String, name)?];
    let mut extensions = vec![
        extension(&BasicConstraints { ca: false, path_len_constraint: None }, true)?,
        extension(&KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation), true)?,
        extension(&SubjectKeyIdentifier(key_id(key)?), false)?,
    ];
    match contact {
        Contact::Email(address) => {
            // Internationalized addresses do not fit an IA5String; the name still identifies the party.
            if let Ok(address) = Ia5String::new(address) {
                extensions.push(extension(&SubjectAltName(vec![GeneralName::Rfc822Name(address)]), false)?);
            }
        }
        Contact::Phone(number) => subject.push(attribute(TELEPHONE_NUMBER, Tag::PrintableString, number)?),
    }
    let subject = RdnSequence(subject);
    let issuer_name = issuer_name.unwrap_or_else(|| subject.clone());
    extensions.push(extension(&authority_key_id(issuer_key)?, false)?);
    let serial = serial_number(&[key.as_bytes(), issuer_key.as_bytes(), &since_ms.to_be_bytes()])?;
    tbs(serial, issuer_name, subject, key, since_ms, extensions)
}

/// Issues an organization's self-signed CA certificate for `key`.
pub fn issue_authority(key: &SecretKey, organization: &str, since_ms: u64) -> Result<Vec<u8>, CertificateError> {
    let public = key.public();
    let name =
        RdnSequence(vec![attribute(rfc4519::CN, Tag::Utf8String, organization)?, attribute(rfc4519::O, Tag::Utf8String, organization)?]);
    let extensions = vec![
        extension(&BasicConstraints { ca: true, path_len_constraint: Some(0) }, true)?,
        extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
        extension(&SubjectKeyIdentifier(key_id(&public)?), false)?,
    ];
    let serial = serial_number(&[public.as_bytes(), b"authority", &since_ms.to_be_bytes()])?;
    sign_certificate(tbs(serial, name.clone(), name, &public, since_ms, extensions)?, key)
}

/// Checks a party's chain: readable, Ed25519, for `key`, allowed to sign
/// documents, and signed by its issuer (itself, or the CA that follows it).
pub fn check_chain(chain: &[Vec<u8>], key: &PublicKey) -> Result<CertificateSummary, CertificateError> {
    if chain.is_empty() || chain.len() > MAX_CHAIN || chain.iter().any(|c| c.len() > MAX_CERTIFICATE_BYTES) {
        return Err(CertificateError::Shape);
    }
    let certificates = chain.iter().map(|der| Certificate::from_der(der).map_err(malformed)).collect::<Result<Vec<_>, _>>()?;
    let party = &certificates[0];
    if public_key_of(party)? != *key {
        return Err(CertificateError::WrongKey);
    }
    let usage = party.tbs_certificate.get::<KeyUsage>().map_err(malformed)?;
    if !usage.is_some_and(|(_, usage)| usage.0.contains(KeyUsages::NonRepudiation)) {
        return Err(CertificateError::NotForSigning);
    }
    let issuer = certificates.get(1).unwrap_or(party);
    if party.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(CertificateError::BadIssuerSignature);
    }
    verify_signature(party, &public_key_of(issuer)?)?;
    if certificates.len() > 1 {
        let is_ca = issuer.tbs_certificate.get::<BasicConstraints>().map_err(malformed)?.is_some_and(|(_, c)| c.ca);
        let signs_certificates =
            issuer.tbs_certificate.get::<KeyUsage>().map_err(malformed)?.is_some_and(|(_, usage)| usage.0.contains(KeyUsages::KeyCertSign));
        // A CA that is the party itself (same key or same certificate) is no
        // authority, and a chain with a repeated certificate cannot go into a CMS.
        if !is_ca || !signs_certificates || public_key_of(issuer)? == *key || chain[0] == chain[1] {
            return Err(CertificateError::NotACa);
        }
        verify_signature(issuer, &public_key_of(issuer)?)?;
    }
    Ok(summary(chain, party))
}

/// What a chain already checked by [`check_chain`] (every `Join` in a folded
/// state was) says, without checking its signatures again.
pub fn describe(chain: &[Vec<u8>]) -> Option<CertificateSummary> {
    let party = Certificate::from_der(chain.first()?).ok()?;
    Some(summary(chain, &party))
}

fn summary(chain: &[Vec<u8>], party: &Certificate) -> CertificateSummary {
    let root = chain.last().map(Vec::as_slice).unwrap_or_default();
    CertificateSummary {
        subject: common_name(&party.tbs_certificate.subject),
        issuer: common_name(&party.tbs_certificate.issuer),
        self_signed: chain.len() == 1,
        root_fingerprint: fingerprint(root),
    }
}

/// The SHA-256 fingerprint of a DER certificate, as PDF tools and browsers show it (`AB:CD:…`).
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// A DER certificate as PEM text, the form people hand to PDF tools as a trust root.
pub fn to_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str("-----END CERTIFICATE-----\n");
    text
}

/// Whether `der` is a readable certificate for `key`.
pub fn certifies(der: &[u8], key: &PublicKey) -> bool {
    Certificate::from_der(der).ok().and_then(|c| public_key_of(&c).ok()) == Some(*key)
}

/// The Ed25519 key a certificate certifies.
pub(crate) fn public_key_of(certificate: &Certificate) -> Result<PublicKey, CertificateError> {
    let spki = &certificate.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != ID_ED_25519 || spki.algorithm.parameters.is_some() {
        return Err(CertificateError::NotEd25519);
    }
    let bytes: [u8; 32] = spki.subject_public_key.as_bytes().and_then(|b| b.try_into().ok()).ok_or(CertificateError::NotEd25519)?;
    Ok(PublicKey::from_bytes(bytes))
}

/// The first common name of a distinguished name, or the whole name.
pub(crate) fn common_name(name: &Name) -> String {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == rfc4519::CN)
        .and_then(|atv| std::str::from_utf8(atv.value.value()).ok().map(str::to_owned))
        .unwrap_or_else(|| name.to_string())
}

fn verify_signature(certificate: &Certificate, issuer: &PublicKey) -> Result<(), CertificateError> {
    if certificate.signature_algorithm != ed25519_algorithm() || certificate.tbs_certificate.signature != ed25519_algorithm() {
        return Err(CertificateError::NotEd25519);
    }
    let tbs = certificate.tbs_certificate.to_der().map_err(malformed)?;
    let value: [u8; 64] = certificate.signature.as_bytes().and_then(|b| b.try_into().ok()).ok_or(CertificateError::BadIssuerSignature)?;
    issuer.verify(&tbs, &Signature::from_bytes(value)).map_err(|_| CertificateError::BadIssuerSignature)
}

pub(crate) fn ed25519_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: ID_ED_25519, parameters: None }
}

fn tbs(
    serial_number: SerialNumber,
    issuer: Name,
    subject: Name,
    key: &PublicKey,
    since_ms: u64,
    extensions: Vec<Extension>,
) -> Result<TbsCertificate, CertificateError> {
    let since = Duration::from_secs(since_ms / 1000);
    // RFC 5280: UTCTime through 2049, GeneralizedTime after.
    let not_before = match UtcTime::from_unix_duration(since) {
        Ok(time) => Time::UtcTime(time),
        Err(_) => Time::GeneralTime(GeneralizedTime::from_unix_duration(since).map_err(malformed)?),
    };
    let forever = der::DateTime::new(9999, 12, 31, 23, 59, 59).map_err(malformed)?;
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number,
        signature: ed25519_algorithm(),
        issuer,
        validity: Validity { not_before, not_after: Time::GeneralTime(GeneralizedTime::from_date_time(forever)) },
        subject,
        subject_public_key_info: SubjectPublicKeyInfoOwned {
            algorithm: ed25519_algorithm(),
            subject_public_key: BitString::from_bytes(key.as_bytes()).map_err(malformed)?,
        },
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

fn sign_certificate(tbs: TbsCertificate, issuer: &SecretKey) -> Result<Vec<u8>, CertificateError> {
    let signature = issuer.sign(&tbs.to_der().map_err(malformed)?);
    certificate_with(tbs, &signature)
}

fn certificate_with(tbs: TbsCertificate, signature: &Signature) -> Result<Vec<u8>, CertificateError> {
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ed25519_algorithm(),
        signature: BitString::from_bytes(signature.as_bytes()).map_err(malformed)?,
    };
    certificate.to_der().map_err(malformed)
}

fn attribute(oid: der::oid::ObjectIdentifier, tag: Tag, text: &str) -> Result<RelativeDistinguishedName, CertificateError> {
    let value = Any::new(tag, text.as_bytes()).map_err(malformed)?;
    let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }]).map_err(malformed)?;
    Ok(RelativeDistinguishedName(set))
}

fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> Result<Extension, CertificateError> {
    Ok(Extension { extn_id: T::OID, critical, extn_value: OctetString::new(value.to_der().map_err(malformed)?).map_err(malformed)? })
}

/// A key identifier: the first 20 bytes of the key's BLAKE3 hash (RFC 7093 allows any such method).
fn key_id(key: &PublicKey) -> Result<OctetString, CertificateError> {
    OctetString::new(&blake3::hash(key.as_bytes()).as_bytes()[..20]).map_err(malformed)
}

fn authority_key_id(key: &PublicKey) -> Result<AuthorityKeyIdentifier, CertificateError> {
    Ok(AuthorityKeyIdentifier { key_identifier: Some(key_id(key)?), authority_cert_issuer: None, authority_cert_serial_number: None })
}

/// A positive 16-byte serial number derived from `parts`, so that issuing is deterministic.
fn serial_number(parts: &[&[u8]]) -> Result<SerialNumber, CertificateError> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"countersign/certificate-serial/1\0");
    for part in parts {
        hasher.update(part);
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anna() -> SecretKey {
        SecretKey::from_seed([7; 32])
    }

    #[test]
    fn a_certificate_signed_elsewhere_is_the_one_issue_makes_and_takes_only_its_key() -> Result<(), CertificateError> {
        let contact = Contact::Phone("+15550100".into());
        let issued = issue(&anna().public(), "Anna", &contact, Issuer::Itself(&anna()), 1_800_000_000_000)?;
        let unsigned = self_signed(&anna().public(), "Anna", &contact, 1_800_000_000_000)?;
        let value = anna().sign(&unsigned.to_sign()?);
        assert!(matches!(
            unsigned.clone().signed(&SecretKey::from_seed([8; 32]).sign(&unsigned.to_sign()?)),
            Err(CertificateError::BadIssuerSignature)
        ));
        assert_eq!(vec![unsigned.signed(&value)?], issued);
        Ok(())
    }

    #[test]
    fn a_self_signed_certificate_names_the_party_and_checks_out() -> Result<(), CertificateError> {
        let key = anna();
        let chain = issue(&key.public(), "Anna Sales", &Contact::Email("anna@acme.test".into()), Issuer::Itself(&key), 1_700_000_000_000)?;
        assert_eq!(chain.len(), 1);
        let summary = check_chain(&chain, &key.public())?;
        assert_eq!((summary.subject.as_str(), summary.issuer.as_str(), summary.self_signed), ("Anna Sales", "Anna Sales", true));
        assert_eq!(summary.root_fingerprint, fingerprint(&chain[0]));
        assert_eq!(summary.root_fingerprint.len(), 32 * 3 - 1);
        assert_eq!(check_chain(&chain, &SecretKey::from_seed([8; 32]).public()), Err(CertificateError::WrongKey));
        Ok(())
    }

    #[test]
    fn a_ca_issued_chain_checks_and_a_forged_one_does_not() -> Result<(), CertificateError> {
        let ca_key = SecretKey::from_seed([9; 32]);
        let ca = issue_authority(&ca_key, "Acme Ltd", 1_700_000_000_000)?;
        let party = anna().public();
        let phone = Contact::Phone("+15550100".into());
        let chain = issue(&party, "Dmitri Director", &phone, Issuer::Authority { certificate: &ca, key: &ca_key }, 1_700_000_000_000)?;
        assert_eq!(chain.len(), 2);
        let summary = check_chain(&chain, &party)?;
        assert_eq!((summary.subject.as_str(), summary.issuer.as_str(), summary.self_signed), ("Dmitri Director", "Acme Ltd", false));
        assert_eq!(summary.root_fingerprint, fingerprint(&ca), "the CA's fingerprint is what a client compares");

        // The same certificate "issued" by another key that claims the CA's name.
        let impostor = SecretKey::from_seed([10; 32]);
        let fake_ca = issue_authority(&impostor, "Acme Ltd", 1_700_000_000_000)?;
        let forged = vec![chain[0].clone(), fake_ca];
        assert_eq!(check_chain(&forged, &party), Err(CertificateError::BadIssuerSignature));

        // A CA certificate does not sign documents itself.
        assert_eq!(check_chain(std::slice::from_ref(&ca), &ca_key.public()), Err(CertificateError::NotForSigning));
        // A party certificate cannot act as a CA for another.
        let other = issue(&party, "X", &phone, Issuer::Itself(&anna()), 1)?;
        let stacked = vec![issue(&ca_key.public(), "Y", &phone, Issuer::Itself(&ca_key), 1)?[0].clone(), other[0].clone()];
        assert!(check_chain(&stacked, &ca_key.public()).is_err());
        Ok(())
    }

    #[test]
    fn a_party_cannot_be_its_own_ca_or_repeat_a_certificate() -> Result<(), CertificateError> {
        // A self-signed certificate claiming to be both a CA and a signer, given twice.
        let key = anna();
        let ca_like = issue_authority(&key, "Anna Sales", 1)?;
        let own = issue(
            &key.public(),
            "Anna Sales",
            &Contact::Email("anna@acme.test".into()),
            Issuer::Authority { certificate: &ca_like, key: &key },
            1,
        )?;
        assert_eq!(check_chain(&own, &key.public()), Err(CertificateError::NotACa));
        let repeated = issue(&key.public(), "Anna Sales", &Contact::Email("anna@acme.test".into()), Issuer::Itself(&key), 1)?;
        let twice = vec![repeated[0].clone(), repeated[0].clone()];
        assert!(check_chain(&twice, &key.public()).is_err());
        Ok(())
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(check_chain(&[vec![0x30, 0x03, 1, 2]], &anna().public()), Err(CertificateError::Malformed(_))));
        assert_eq!(check_chain(&[], &anna().public()), Err(CertificateError::Shape));
    }
}
