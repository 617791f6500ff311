//! The API's description (OpenAPI 3.1), served at `/api/openapi.json`.

use serde_json::{Value, json};

/// The OpenAPI document. The report's schema is version 3 (`schema: 3`;
/// version 2 added `pdf_signatures`, version 3 each party's `identity` and
/// the report's `identity_summary`).
pub(super) fn document() -> Value {
    let party = json!({
        "type": "object",
        "properties": {
            "position": {"type": "integer", "description": "place in the signing order, from 1"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["company_signer", "client", "viewer"]},
            "contact": {"type": "object", "description": "{\"email\": …} or {\"phone\": …}"},
            "key": {"type": ["string", "null"], "description": "the party's ed25519 public key, hex"},
            "fingerprint": {"type": ["string", "null"]},
            "signed": {"type": "boolean"},
            "claimed_time": {"type": ["string", "null"], "description": "as claimed by the signer, UTC"},
            "claimed_time_ms": {"type": ["integer", "null"]},
            "claimed_time_backdated": {"type": "boolean", "description": "the signature claims a time before what it follows: the signer's clock was wrong"},
            "entry": {"type": ["string", "null"], "description": "id of the party's Sign entry"},
            "values": {"type": "array", "items": {"type": "object", "properties": {
                "label": {"type": "string"}, "kind": {"type": "string"}, "page": {"type": "integer"}, "value": {"type": "string"}}}},
            "identity": {"type": ["object", "null"], "description": "how the party's identity is known, once they joined", "properties": {
                "level": {"type": "string", "enum": ["key_only", "certificate"], "description": "key_only: the name is as the sender typed it; certificate: issued by a certificate authority"},
                "authority": {"type": ["string", "null"], "description": "the authority's name, as its own certificate claims it"},
                "root_fingerprint": {"type": "string", "description": "SHA-256 (AB:CD:…) of the root certificate; names prove nothing, compare this"},
                "trusted": {"type": "boolean", "description": "the root is one this verifier is configured to trust"},
                "phone_confirmed": {"type": ["string", "null"], "description": "the phone the sender's node confirmed by a code before the party joined"},
                "description": {"type": "string"}
            }}
        }
    });
    let pdf_signature = json!({
        "type": "object",
        "description": "a standard PDF signature (PAdES, Ed25519) of one signing step, made with the signer's own key",
        "properties": {
            "position": {"type": "integer", "description": "place in the signing order, from 1"},
            "field": {"type": "string", "description": "the signature field's name"},
            "signer": {"type": "string", "description": "the signing party's name, from the log"},
            "certificate_subject": {"type": ["string", "null"], "description": "common name of the signer's certificate"},
            "certificate_issuer": {"type": ["string", "null"], "description": "common name of its issuer, as the certificate claims it: the signer itself or the organization's CA"},
            "certificate_root_fingerprint": {"type": ["string", "null"], "description": "SHA-256 fingerprint (AB:CD:…) of the root certificate (the CA's, or the signer's own); compare it with the certificate you trust"},
            "claimed_time": {"type": ["string", "null"], "description": "signing time in the signature, as claimed by the signer, UTC"},
            "certification": {"type": "boolean", "description": "true for the first: it certifies the document, allowing only form filling and signing after it"},
            "covers_bytes": {"type": "integer", "description": "the signature covers the file from byte 0 to here"},
            "valid": {"type": "boolean", "description": "the value verifies with the signer's key over exactly these bytes"}
        }
    });
    let report = json!({
        "type": "object",
        "required": ["schema", "verdict", "summary", "identity_summary", "file_hash", "file_len", "parties", "pdf_signatures", "reasons"],
        "properties": {
            "schema": {"type": "integer", "const": 3},
            "verdict": {"type": "string", "enum": ["valid", "invalid", "unreadable"], "description": "the document's integrity and signing order; never who the signers are"},
            "summary": {"type": "string", "description": "one line for people: integrity and order"},
            "identity_summary": {"type": "string", "description": "one line for people: how the signers' identities are known"},
            "file_hash": {"type": "string", "description": "BLAKE3 of the uploaded file, hex"},
            "file_len": {"type": "integer"},
            "envelope": {"type": ["string", "null"]},
            "title": {"type": ["string", "null"]},
            "document_hash": {"type": ["string", "null"], "description": "BLAKE3 of the original document the parties fixed"},
            "status": {"type": ["object", "null"]},
            "parties": {"type": "array", "items": party},
            "pdf_signatures": {"type": "array", "items": pdf_signature, "description": "the PDF signatures found, in signing order; checked against the log"},
            "reasons": {"type": "array", "items": {"type": "string"}, "description": "every reason the file fails; empty when valid"}
        }
    });
    let error = json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "report": report.clone()}
    });
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Countersign verifier", "version": "1", "description": "Checks that a PDF is a complete, intact, correctly ordered Countersign document. Uploads are checked in memory and never stored or logged."},
        "paths": {
            "/api/v1/verify": {"post": {
                "summary": "Verify a signed PDF",
                "requestBody": {"required": true, "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}
                }},
                "responses": {
                    "200": {"description": "A Countersign document: the report (its verdict may be invalid)", "content": {"application/json": {"schema": report}}},
                    "408": {"description": "The upload or the check took too long (a check past its deadline is stopped)"},
                    "429": {"description": "This client address has too many checks going", "content": {"application/json": {"schema": error.clone()}}},
                    "503": {"description": "Uploads fill the memory set aside for them; try again", "content": {"application/json": {"schema": error.clone()}}},
                    "413": {"description": "Over the upload limit", "content": {"application/json": {"schema": error.clone()}}},
                    "422": {"description": "Not a PDF, encrypted, cut short, or no Countersign log", "content": {"application/json": {"schema": error}}}
                }
            }},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}}
        }
    })
}
