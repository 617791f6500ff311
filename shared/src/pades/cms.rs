//! The CMS SignedData inside a PDF signature's `/Contents` (RFC 5652), as
//! PAdES baseline (ETSI EN 319 142-1) and ISO/TS 32002 ask for Ed25519:
//!
//! ```text
//! ContentInfo { signedData, SignedData { v1, {sha512}, {id-data, detached},
//!   certificates: the signer's chain,
//!   SignerInfo { v1, issuerAndSerialNumber, sha512,
//!     signedAttrs { contentType = id-data,
//!                   messageDigest = SHA-512 of the signed byte ranges,
//!                   signingCertificateV2 = SHA-256 of the signer's certificate },
//!     id-Ed25519, Ed25519(key, DER(signedAttrs)) } } }
//! ```
//!
//! No signing-time attribute: PAdES puts the claimed time in the signature
//! dictionary's `/M`. Everything is DER and Ed25519 is deterministic, so the
//! only bytes that need the key are the 64 of the signature value; every other
//! byte is a function of the digest and the certificates.

use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::db::rfc5912::ID_SHA_512;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos};

use crate::pades::certificate::ed25519_algorithm;

/// `id-aa-signingCertificateV2` (RFC 5035).
const ID_AA_SIGNING_CERTIFICATE_V2: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// ESS `SigningCertificateV2` (RFC 5035), without policies.
#[derive(Debug, Clone, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// ESS `ESSCertIDv2`; the hash algorithm is left at its default, SHA-256.
#[derive(Debug, Clone, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// ESS `IssuerSerial`.
#[derive(Debug, Clone, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// A signature's signed attributes.
pub(crate) type Attributes = SetOfVec<Attribute>;

fn sha512_algorithm() -> AlgorithmIdentifierOwned {
    // RFC 5754 §2: the parameters are absent.
    AlgorithmIdentifierOwned { oid: ID_SHA_512, parameters: None }
}

/// The signed attributes of a signature over a document whose signed byte
/// ranges have SHA-512 `digest`, by the holder of `signer` (DER).
pub(crate) fn signed_attributes(digest: &[u8; 64], signer: &[u8]) -> der::Result<SetOfVec<Attribute>> {
    let certificate = Certificate::from_der(signer)?;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(signer).as_slice())?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(certificate.tbs_certificate.issuer.clone())],
                serial_number: certificate.tbs_certificate.serial_number.clone(),
            },
        }],
    };
    let attribute = |oid, value: Any| -> der::Result<Attribute> { Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? }) };
    SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?,
        attribute(ID_MESSAGE_DIGEST, Any::encode_from(&OctetString::new(digest.as_slice())?)?)?,
        attribute(ID_AA_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
    ])
}

/// The bytes the signer's key signs: the DER of the attributes as a SET (RFC 5652 §5.4).
pub(crate) fn message_of(attributes: &SetOfVec<Attribute>) -> der::Result<Vec<u8>> {
    attributes.to_der()
}

/// The whole CMS `ContentInfo` for `/Contents`: the chain (signer first in
/// `chain`; DER sorts the certificate set, and the SignerInfo names the signer),
/// the signed attributes and the 64-byte Ed25519 signature value.
pub(crate) fn signed_data(chain: &[Vec<u8>], attributes: SetOfVec<Attribute>, value: &[u8; 64]) -> der::Result<Vec<u8>> {
    let certificates =
        chain.iter().map(|der| Certificate::from_der(der).map(CertificateChoices::Certificate)).collect::<Result<Vec<_>, _>>()?;
    let signer = match certificates.first() {
        Some(CertificateChoices::Certificate(certificate)) => certificate,
        _ => return Err(der::Tag::Sequence.value_error()),
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.tbs_certificate.issuer.clone(),
            serial_number: signer.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha512_algorithm(),
        signed_attrs: Some(attributes),
        signature_algorithm: ed25519_algorithm(),
        signature: OctetString::new(value.as_slice())?,
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha512_algorithm()])?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None },
        certificates: Some(CertificateSet(SetOfVec::try_from(certificates)?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? }.to_der()
}

/// The Ed25519 signature value inside a `/Contents` CMS, if it is one.
pub(crate) fn signature_value(contents: &[u8]) -> Option<[u8; 64]> {
    let info = ContentInfo::from_der(contents).ok()?;
    if info.content_type != ID_SIGNED_DATA {
        return None;
    }
    let signed_data: SignedData = info.content.decode_as().ok()?;
    let signer = signed_data.signer_infos.0.as_slice().first()?;
    signer.signature.as_bytes().try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use crate::model::Contact;
    use crate::pades::certificate::{Issuer, issue};

    #[test]
    fn the_value_signs_the_attributes_and_comes_back_out() -> Result<(), Box<dyn std::error::Error>> {
        let key = SecretKey::from_seed([3; 32]);
        let chain = issue(&key.public(), "Carl Client", &Contact::Phone("+15550100".into()), Issuer::Itself(&key), 1_700_000_000_000)?;
        let attributes = signed_attributes(&[7; 64], &chain[0])?;
        let message = message_of(&attributes)?;
        assert_eq!(message[0], 0x31, "signed attributes are signed as a SET");
        let value = *key.sign(&message).as_bytes();
        let zero = signed_data(&chain, attributes.clone(), &[0; 64])?;
        let cms = signed_data(&chain, attributes, &value)?;
        assert_eq!(zero.len(), cms.len(), "the size does not depend on the value");
        assert_eq!(signature_value(&cms), Some(value));
        assert_eq!(signature_value(b"not a cms"), None);
        Ok(())
    }
}
