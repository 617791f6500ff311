//! The API's description (OpenAPI 3.1), served at `/api/openapi.json`.

use serde_json::{Value, json};

/// The OpenAPI document. The report's schema is version 1 (`schema: 1`).
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
            "entry": {"type": ["string", "null"], "description": "id of the party's Sign entry"},
            "values": {"type": "array", "items": {"type": "object", "properties": {
                "label": {"type": "string"}, "kind": {"type": "string"}, "page": {"type": "integer"}, "value": {"type": "string"}}}}
        }
    });
    let report = json!({
        "type": "object",
        "required": ["schema", "verdict", "summary", "file_hash", "file_len", "parties", "reasons"],
        "properties": {
            "schema": {"type": "integer", "const": 1},
            "verdict": {"type": "string", "enum": ["valid", "invalid", "unreadable"]},
            "summary": {"type": "string", "description": "one line for people"},
            "file_hash": {"type": "string", "description": "BLAKE3 of the uploaded file, hex"},
            "file_len": {"type": "integer"},
            "envelope": {"type": ["string", "null"]},
            "title": {"type": ["string", "null"]},
            "document_hash": {"type": ["string", "null"], "description": "BLAKE3 of the original document the parties fixed"},
            "status": {"type": ["object", "null"]},
            "parties": {"type": "array", "items": party},
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
                    "408": {"description": "The request took too long"},
                    "413": {"description": "Over the upload limit", "content": {"application/json": {"schema": error.clone()}}},
                    "422": {"description": "Not a PDF, encrypted, cut short, or no Countersign log", "content": {"application/json": {"schema": error}}}
                }
            }},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}}
        }
    })
}
