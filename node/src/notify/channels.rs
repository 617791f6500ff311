//! Delivering one message: email over SMTP (lettre), a text through an HTTP
//! SMS gateway (ureq), or, for a channel that is not configured, a file in
//! the outbox folder (`<data-dir>/outbox/`, `.eml` and `.txt`) for a person
//! to forward, so the product works offline too.

use std::path::Path;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as MailAttachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{SmtpTransport, Transport as _};

use crate::datadir::write_atomic;
use crate::notify::config::{EmailConfig, NotifyConfig, Security, SmsConfig};
use crate::notify::message::{Channel, Message};

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where a message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Handed to the SMTP server.
    Email,
    /// Accepted by the SMS gateway.
    Sms,
    /// Written to the outbox folder (this file).
    Outbox(String),
}

/// Why a message did not go, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// For a person.
    pub reason: String,
    /// Trying again cannot help (a bad address, a refusal): stop retrying.
    pub permanent: bool,
}

impl Failure {
    fn retry(reason: impl Into<String>) -> Failure {
        Failure { reason: reason.into(), permanent: false }
    }

    fn give_up(reason: impl Into<String>) -> Failure {
        Failure { reason: reason.into(), permanent: true }
    }
}

/// Delivers `message` as `config` says; the failure says why it did not go.
pub fn deliver(message: &Message, config: &NotifyConfig, outbox: &Path) -> Result<Delivered, Failure> {
    if message.attachments.iter().any(|a| a.bytes.is_empty()) {
        return Err(Failure::give_up("an attachment of this message is missing from the queue folder"));
    }
    match (message.channel(), &config.email, &config.sms) {
        (Channel::Email, Some(email), _) => send_email(message, email, config.smtp_password()).map(|()| Delivered::Email),
        (Channel::Email, None, _) => {
            let bytes =
                build_email(message, "Countersign <countersign@localhost>").map_err(|e| Failure::give_up(e.to_string()))?.formatted();
            to_outbox(outbox, &format!("{}.eml", message.id), &bytes)
        }
        (Channel::Sms, _, Some(sms)) => send_sms(message, sms, config.sms_auth()).map(|()| Delivered::Sms),
        (Channel::Sms, _, None) => {
            let text = format!("To: {} ({})\n\n{}\n", message.to, message.to_name, message.sms);
            to_outbox(outbox, &format!("{}.txt", message.id), text.as_bytes())
        }
    }
}

fn to_outbox(outbox: &Path, name: &str, bytes: &[u8]) -> Result<Delivered, Failure> {
    std::fs::create_dir_all(outbox).map_err(|e| Failure::retry(format!("cannot create the outbox {}: {e}", outbox.display())))?;
    let path = outbox.join(name);
    write_atomic(&path, bytes, true).map_err(|e| Failure::retry(e.to_string()))?;
    Ok(Delivered::Outbox(path.display().to_string()))
}

/// Why an email cannot be made (never worth another try).
#[derive(Debug, thiserror::Error)]
enum EmailError {
    /// `from` in the email settings.
    #[error("the sender address '{0}' is not valid: {1}")]
    Sender(String, lettre::address::AddressError),
    /// The party's contact.
    #[error("'{0}' is not an email address: {1}")]
    Recipient(String, lettre::address::AddressError),
    /// An attachment's MIME type.
    #[error("bad attachment type {0}: {1}")]
    AttachmentType(String, lettre::message::header::ContentTypeErr),
    /// lettre refused the whole.
    #[error("the email cannot be built: {0}")]
    Build(lettre::error::Error),
}

/// The email: text and HTML alternatives, inline images, then attachments.
fn build_email(message: &Message, from: &str) -> Result<lettre::Message, EmailError> {
    let from: Mailbox = from.parse().map_err(|e| EmailError::Sender(from.to_owned(), e))?;
    let address = message.to.parse().map_err(|e| EmailError::Recipient(message.to.clone(), e))?;
    let to = Mailbox::new(Some(message.to_name.clone()), address);
    let alternative = MultiPart::alternative_plain_html(message.text.clone(), message.html.clone());
    let mut related = MultiPart::related().multipart(alternative);
    let mut files: Vec<SinglePart> = Vec::new();
    for attachment in &message.attachments {
        let mime = ContentType::parse(&attachment.mime).map_err(|e| EmailError::AttachmentType(attachment.mime.clone(), e))?;
        match &attachment.inline_id {
            Some(id) => related = related.singlepart(MailAttachment::new_inline(id.clone()).body(attachment.bytes.clone(), mime)),
            None => files.push(MailAttachment::new(attachment.name.clone()).body(attachment.bytes.clone(), mime)),
        }
    }
    let mut mixed = MultiPart::mixed().multipart(related);
    for file in files {
        mixed = mixed.singlepart(file);
    }
    lettre::Message::builder()
        // The same id on every attempt: a copy sent twice (a crash between
        // sending and filing it) is recognised by mail clients as one.
        .message_id(Some(format!("<{}@countersign.invalid>", message.id)))
        .from(from)
        .to(to)
        .subject(message.subject.clone())
        .multipart(mixed)
        .map_err(EmailError::Build)
}

fn send_email(message: &Message, config: &EmailConfig, password: Option<String>) -> Result<(), Failure> {
    let email = build_email(message, &config.from).map_err(|e| Failure::give_up(e.to_string()))?;
    let builder = match config.security {
        Security::Starttls => SmtpTransport::starttls_relay(&config.host),
        Security::Tls => SmtpTransport::relay(&config.host),
        Security::None => Ok(SmtpTransport::builder_dangerous(&config.host)),
    }
    .map_err(|e| Failure::retry(format!("the SMTP server {} cannot be used: {e}", config.host)))?;
    let mut builder = builder.port(config.port).timeout(Some(TIMEOUT));
    if let Some(user) = &config.user {
        builder = builder.credentials(Credentials::new(user.clone(), password.unwrap_or_default()));
    }
    builder.build().send(&email).map(drop).map_err(|e| {
        // A 5xx answer is the server's final word (no such mailbox, too large…).
        let reason = format!("the SMTP server {}:{} did not take it: {e}", config.host, config.port);
        Failure { reason, permanent: e.is_permanent() }
    })
}

/// The gateway's request body: `config.body` with `{to}` and `{text}`
/// filled in, inside the JSON template's strings for a JSON body, form-encoded
/// otherwise.
fn sms_body(config: &SmsConfig, to: &str, text: &str) -> Result<String, Failure> {
    let fill = |template: &str, encode: &dyn Fn(&str) -> String| template.replace("{to}", &encode(to)).replace("{text}", &encode(text));
    if !config.is_json() {
        return Ok(fill(&config.body, &|value| form_urlencoded::byte_serialize(value.as_bytes()).collect()));
    }
    let mut template: serde_json::Value =
        serde_json::from_str(&config.body).map_err(|e| Failure::give_up(format!("the SMS body in notify.toml is not JSON ({e})")))?;
    fill_strings(&mut template, &|value| fill(value, &|text| text.to_owned()));
    Ok(template.to_string())
}

/// Replaces every string inside `value` by `fill` of it.
fn fill_strings(value: &mut serde_json::Value, fill: &dyn Fn(&str) -> String) {
    match value {
        serde_json::Value::String(text) => *text = fill(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| fill_strings(item, fill)),
        serde_json::Value::Object(entries) => entries.values_mut().for_each(|item| fill_strings(item, fill)),
        _ => {}
    }
}

fn send_sms(message: &Message, config: &SmsConfig, auth: Option<String>) -> Result<(), Failure> {
    let body = sms_body(config, &message.to, &message.sms)?;
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(false).build().into();
    let mut request = match config.method.to_uppercase().as_str() {
        "PUT" => agent.put(&config.url),
        _ => agent.post(&config.url),
    }
    .header("Content-Type", &config.content_type);
    if let Some(auth) = auth {
        request = request.header("Authorization", &auth);
    }
    let response = request.send(body.as_bytes()).map_err(|e| Failure::retry(format!("the SMS gateway cannot be reached: {e}")))?;
    let status = response.status().as_u16();
    let reason = format!("the SMS gateway answered {status}");
    match status {
        200..=299 => Ok(()),
        // A refusal (bad number, bad key) stays a refusal; busy and server errors pass.
        408 | 429 => Err(Failure::retry(reason)),
        400..=499 => Err(Failure::give_up(reason)),
        _ => Err(Failure::retry(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gateway that answers every request with `status`.
    fn gateway(status: u16) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                let _ = std::io::Read::read(&mut stream, &mut buffer);
                let _ = std::io::Write::write_all(
                    &mut stream,
                    format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
                );
            }
        });
        url
    }

    fn about() -> About {
        About { envelope: "ab".into(), title: "Agreement".into(), sender: "Sally".into() }
    }

    /// Carl's invitation, by text message.
    fn text_to_carl(about: &About) -> Message {
        invitation(
            about,
            &Recipient { name: "Carl".into(), contact: "+15550100".into() },
            "countersign://join/Y",
            None,
            "soon",
            InviteFor::Signing,
        )
    }

    #[test]
    fn a_refusal_is_final_and_a_busy_gateway_is_retried() {
        let text = text_to_carl(&about());
        let outbox = std::env::temp_dir();
        for (status, permanent) in [(400, true), (401, true), (429, false), (503, false)] {
            let config = NotifyConfig {
                sms: Some(SmsConfig {
                    url: gateway(status),
                    method: "POST".into(),
                    content_type: "application/json".into(),
                    body: "{}".into(),
                }),
                ..NotifyConfig::default()
            };
            let failure = deliver(&text, &config, &outbox).unwrap_err();
            assert_eq!(failure.permanent, permanent, "{status}: {}", failure.reason);
        }
    }
    use crate::notify::message::{About, InviteFor, Recipient, invitation};

    #[test]
    fn the_gateways_body_carries_any_text_as_it_is() {
        let text = "Sign \"Offer\" for 5 €:\nhttps://v.example/join#a+b&c=d";
        let sms = |content_type: &str, body: &str| SmsConfig {
            url: "https://sms.example/send".into(),
            method: "POST".into(),
            content_type: content_type.into(),
            body: body.into(),
        };
        let json =
            sms_body(&sms("application/json", r#"{"to": "{to}", "message": {"text": "{text}", "tags": ["{to}"]}}"#), "+15550100", text)
                .unwrap();
        let read: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(read["message"]["text"], text);
        assert_eq!(read["to"], "+15550100");
        assert_eq!(read["message"]["tags"][0], "+15550100");
        let form = sms_body(&sms("application/x-www-form-urlencoded", "to={to}&text={text}"), "+15550100", text).unwrap();
        let read: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes()).into_owned().collect();
        assert_eq!(read, [("to".to_owned(), "+15550100".to_owned()), ("text".to_owned(), text.to_owned())]);
    }

    #[test]
    fn without_settings_messages_land_in_the_outbox() {
        let outbox = std::env::temp_dir().join(format!("countersign-outbox-{}", crate::party::random_hex()));
        let email = invitation(
            &about(),
            &Recipient { name: "Dmitri".into(), contact: "d@acme.test".into() },
            "countersign://join/X",
            Some(vec![0x89]),
            "soon",
            InviteFor::Signing,
        );
        let Delivered::Outbox(path) = deliver(&email, &NotifyConfig::default(), &outbox).unwrap() else { panic!("not the outbox") };
        let eml = std::fs::read_to_string(&path).unwrap();
        assert!(path.ends_with(".eml") && eml.contains("Subject:") && eml.contains("countersign://join/X") && eml.contains("invite-qr"));
        let text = text_to_carl(&about());
        let Delivered::Outbox(path) = deliver(&text, &NotifyConfig::default(), &outbox).unwrap() else { panic!("not the outbox") };
        assert!(std::fs::read_to_string(path).unwrap().contains("To: +15550100"));
    }
}
