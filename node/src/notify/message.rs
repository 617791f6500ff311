//! The messages a node sends, each as plain text and HTML for email and as
//! one short text for SMS: an invitation, "your turn", a reminder, the
//! completed document (final PDF attached), a decline and a void.

use countersign_shared::invite::Invitation;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

pub use crate::envelopes::MessageKind as Kind;

/// A file sent with an email (not with a text).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Set for an image shown inside the HTML (`cid:` reference).
    pub inline_id: Option<String>,
    /// The bytes (kept in their own file in the queue, not in the JSON).
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// One message to one person, and how its delivery goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    /// Random id.
    pub id: String,
    /// The envelope it is about.
    pub envelope: String,
    /// What it is.
    pub kind: Kind,
    /// Email address or phone number.
    pub to: String,
    /// The person's name.
    pub to_name: String,
    /// Email subject.
    pub subject: String,
    /// Email text.
    pub text: String,
    /// Email HTML.
    pub html: String,
    /// The text for SMS (short).
    pub sms: String,
    /// Files sent with the email.
    pub attachments: Vec<Attachment>,
    /// When it was queued (Unix ms).
    pub created_ms: u64,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not before this time (Unix ms).
    pub next_at_ms: u64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// After this time (Unix ms) the message is useless and is dropped (codes).
    #[serde(default)]
    pub expires_ms: Option<u64>,
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An email address.
    Email,
    /// A phone number.
    Sms,
}

impl Message {
    /// The channel its address calls for.
    pub fn channel(&self) -> Channel {
        if self.to.contains('@') { Channel::Email } else { Channel::Sms }
    }
}

/// Who is told, about what document.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Their name.
    pub name: String,
    /// Their email or phone.
    pub contact: String,
}

/// The document a message is about.
#[derive(Debug, Clone)]
pub struct About {
    /// The envelope id.
    pub envelope: String,
    /// The title.
    pub title: String,
    /// Who sent it.
    pub sender: String,
}

fn message(about: &About, to: &Recipient, kind: Kind, subject: String, text: String, html: Markup, sms: String) -> Message {
    Message {
        id: crate::party::random_hex()[..24].to_owned(),
        envelope: about.envelope.clone(),
        kind,
        to: to.contact.clone(),
        to_name: to.name.clone(),
        subject,
        text,
        html: frame(html).into_string(),
        sms,
        attachments: Vec::new(),
        created_ms: crate::clock::now_ms(),
        attempts: 0,
        next_at_ms: 0,
        last_error: None,
        expires_ms: None,
    }
}

fn frame(body: Markup) -> Markup {
    html! {
        html {
            body style="font-family: system-ui, sans-serif; color: #1c2333; line-height: 1.5" {
                (body)
                p style="color: #5b6478; font-size: 13px" { "Sent by Countersign, peer-to-peer document signing." }
            }
        }
    }
}

/// Why an invitation is sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteFor {
    /// It is their turn to sign.
    Signing,
    /// Others sign first; the sender shares the document for reading, and
    /// the party hears again when it is their turn.
    Reading,
    /// They follow the document without signing.
    Following,
}

/// "Please sign" (or "read now, sign later"): the link, its QR code (email), what to do.
pub fn invitation(about: &About, to: &Recipient, link: &str, qr_png: Option<Vec<u8>>, expires: &str, why: InviteFor) -> Message {
    let (subject, ask, lead) = match why {
        InviteFor::Signing => (
            format!("{} asks you to sign “{}”", about.sender, about.title),
            "asks you to sign",
            format!("{} asks you to sign", about.sender),
        ),
        InviteFor::Reading => (
            format!("{} shares “{}” with you, to sign later", about.sender, about.title),
            "shares, for you to read now and sign later,",
            format!("{} shares, for you to sign later,", about.sender),
        ),
        InviteFor::Following => (
            format!("{} shares “{}” with you", about.sender, about.title),
            "shares with you, to follow as it is signed,",
            format!("{} shares with you", about.sender),
        ),
    };
    let when = match why {
        InviteFor::Signing => "Open this link (or scan the QR code) to sign",
        InviteFor::Reading => "Others sign first: you are told when it is your turn. Open this link (or scan the QR code) to read it now",
        InviteFor::Following => "You have nothing to sign. Open this link (or scan the QR code) to follow it",
    };
    let text = format!(
        "Hello {name},\n\n{sender} {ask} “{title}”.\n\n\
         {when}; it opens in the Countersign app when you have it:\n\n{link}\n\n\
         The link is for you only and works once, until {expires}.\n",
        name = to.name,
        sender = about.sender,
        title = about.title,
    );
    let html = html! {
        p { "Hello " (to.name) "," }
        p { strong { (about.sender) } " " (ask) " " strong { "“" (about.title) "”" } "." }
        p { (when) ". It opens in the Countersign app when you have it." }
        p { a href=(link) style="word-break: break-all" { (link) } }
        @if qr_png.is_some() { p { img src="cid:invite-qr" alt="QR code of the invitation" width="200" height="200"; } }
        p style="color: #5b6478" { "The link is for you only and works once, until " (expires) "." }
    };
    let sms = text_message(&lead, &about.title, &short_link(link));
    let mut message = message(about, to, Kind::Invitation, subject, text, html, sms);
    if let Some(png) = qr_png {
        message.attachments.push(Attachment {
            name: "invitation-qr.png".into(),
            mime: "image/png".into(),
            inline_id: Some("invite-qr".into()),
            bytes: png,
        });
    }
    message
}

/// "Please sign" to a colleague: the document is on their board already
/// (their node took it from the sender's), so no link.
pub fn on_board(about: &About, to: &Recipient) -> Message {
    let subject = format!("{} asks you to sign “{}”", about.sender, about.title);
    let line = format!("{} asks you to sign “{}”. It is on your Countersign board: open the Countersign app.", about.sender, about.title);
    let text = format!("Hello {},\n\n{line}\n", to.name);
    let html = html! { p { "Hello " (to.name) "," } p { (line) } };
    let sms = format!("{} asks you to sign \"{}\" in your Countersign app.", about.sender, short(&about.title));
    message(about, to, Kind::Invitation, subject, text, html, sms)
}

/// "Your turn to sign", to a party who holds the document already (they
/// joined, or were sent it to read): the ones before them have signed.
pub fn your_turn(about: &About, to: &Recipient, link: Option<&str>) -> Message {
    let subject = format!("Your turn to sign “{}”", about.title);
    let how = match link {
        Some(link) => format!("Open your invitation link to sign:\n\n{link}\n"),
        None => "Open it in your Countersign app.\n".to_owned(),
    };
    let text = format!(
        "Hello {},\n\nEveryone before you has signed “{}” from {}: it is your turn to sign.\n\n{how}",
        to.name, about.title, about.sender
    );
    let html = html! {
        p { "Hello " (to.name) "," }
        p { "Everyone before you has signed “" (about.title) "” from " (about.sender) ": it is your turn to sign." }
        @if let Some(link) = link {
            p { "Open your invitation link to sign:" }
            p { a href=(link) style="word-break: break-all" { (link) } }
        } @else {
            p { "Open it in your Countersign app." }
        }
    };
    let sms = match link {
        Some(link) => text_message("Your turn to sign", &about.title, &short_link(link)),
        None => format!("Your turn to sign \"{}\" in your Countersign app.", short(&about.title)),
    };
    message(about, to, Kind::YourTurn, subject, text, html, sms)
}

/// "Still waiting for you": with the link again when they have not joined.
pub fn reminder(about: &About, to: &Recipient, link: Option<&str>) -> Message {
    let subject = format!("Reminder: please sign “{}”", about.title);
    let how = match link {
        Some(link) => format!("Open your invitation link to sign:\n\n{link}\n"),
        None => "Open it in your Countersign app: it is your turn.\n".to_owned(),
    };
    let text = format!("Hello {},\n\n“{}” from {} is waiting for your signature.\n\n{how}", to.name, about.title, about.sender);
    let html = html! {
        p { "Hello " (to.name) "," }
        p { "“" (about.title) "” from " (about.sender) " is waiting for your signature." }
        @if let Some(link) = link {
            p { "Open your invitation link to sign:" }
            p { a href=(link) style="word-break: break-all" { (link) } }
        } @else {
            p { "Open it in your Countersign app: it is your turn." }
        }
    };
    let sms = match link {
        Some(link) => text_message("Reminder: please sign", &about.title, &short_link(link)),
        None => format!("Reminder: please sign \"{}\" in your Countersign app.", short(&about.title)),
    };
    message(about, to, Kind::Reminder, subject, text, html, sms)
}

/// The completed document: final PDF attached, its hash, the verifier link.
pub fn completion(about: &About, to: &Recipient, final_pdf: Vec<u8>, verifier_link: &str) -> Message {
    let hash = countersign_shared::Hash::of(&final_pdf).to_string();
    let subject = format!("Signed by everyone: “{}”", about.title);
    let text = format!(
        "Hello {},\n\n“{}” is signed by everyone. The final PDF is attached.\n\n\
         Its BLAKE3 hash: {hash}\nAnyone can check it at {verifier_link}\n",
        to.name, about.title
    );
    let html = html! {
        p { "Hello " (to.name) "," }
        p { "“" (about.title) "” is signed by everyone. The final PDF is attached." }
        p { "Its BLAKE3 hash: " code { (hash) } }
        p { "Anyone can check it at " a href=(verifier_link) { (verifier_link) } "." }
    };
    let sms = format!("\"{}\" is signed by everyone. Your Countersign app has the final PDF.", short(&about.title));
    let mut message = message(about, to, Kind::Completion, subject, text, html, sms);
    let name = format!("{}-signed.pdf", safe_file_name(&about.title));
    message.attachments.push(Attachment { name, mime: "application/pdf".into(), inline_id: None, bytes: final_pdf });
    message
}

/// Someone declined (with their reason), or the sender voided the envelope.
pub fn stopped(about: &About, to: &Recipient, kind: Kind, who: &str, reason: &str) -> Message {
    let (subject, line) = if kind == Kind::Voided {
        (format!("Withdrawn: “{}”", about.title), format!("{who} withdrew “{}”: {reason}", about.title))
    } else {
        (format!("Declined: “{}”", about.title), format!("{who} declined to sign “{}”: {reason}", about.title))
    };
    let text = format!("Hello {},\n\n{line}\n\nNobody can sign it any more.\n", to.name);
    let html = html! { p { "Hello " (to.name) "," } p { (line) } p { "Nobody can sign it any more." } };
    let sms = format!("Countersign: {}", short(&line));
    message(about, to, kind, subject, text, html, sms)
}

/// "It works": the settings page's test message, from `sender`'s node.
pub fn test(sender: &str, to: &Recipient) -> Message {
    let about = About { envelope: String::new(), title: String::new(), sender: sender.to_owned() };
    let line = format!("This is a test message from the Countersign node of {sender}: its settings work.");
    let html = html! { p { (line) } };
    message(&about, to, Kind::Test, "Countersign test message".to_owned(), format!("{line}\n"), html, line.clone())
}

/// A one-time code, texted on its own (never with the link).
pub fn code(about: &About, to: &Recipient, code: &str, valid_minutes: f64) -> Message {
    let minutes = valid_minutes.ceil().max(1.0);
    let line =
        format!("Your Countersign code for \"{}\": {code}. It is valid for {minutes} minutes. Do not share it.", short(&about.title));
    let html = html! { p { (line) } };
    message(about, to, Kind::Code, format!("Your code: {code}"), format!("{line}\n"), html, line.clone())
}

/// At most 60 characters, for SMS.
/// The longest text message sent as one SMS (GSM 7-bit).
pub const SMS_LIMIT: usize = 160;

/// `{lead} "{title}": {link}`, in one SMS where the title allows: the title
/// is shortened, then the lead dropped, before the message runs long.
fn text_message(lead: &str, title: &str, link: &str) -> String {
    let with = |lead: &str, title: &str| format!("{lead} \"{title}\": {link}");
    let fits = |text: &String| text.chars().count() <= SMS_LIMIT;
    let whole = with(lead, title);
    if fits(&whole) {
        return whole;
    }
    const SHORTEST_TITLE: usize = 16;
    let room = SMS_LIMIT.saturating_sub(with(lead, "").chars().count());
    if room > SHORTEST_TITLE {
        return with(lead, &cut(title, room));
    }
    let room = SMS_LIMIT.saturating_sub(with("Please sign", "").chars().count()).max(SHORTEST_TITLE);
    with("Please sign", &cut(title, room))
}

/// A title cut to `max` characters, ending in "..." (GSM 7-bit has no "…").
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}...", text.chars().take(max.saturating_sub(3)).collect::<String>())
    }
}

/// The short form of a full web invitation link, for a text message; any
/// other link as it is.
fn short_link(link: &str) -> String {
    match (Invitation::parse(link), link.split_once(countersign_shared::invite::WEB_PATH)) {
        (Ok(invitation), Some((verifier, _))) => invitation.short().to_web_link(verifier),
        _ => link.to_owned(),
    }
}

fn short(text: &str) -> String {
    if text.chars().count() <= 60 { text.to_owned() } else { format!("{}…", text.chars().take(59).collect::<String>()) }
}

fn safe_file_name(title: &str) -> String {
    let name: String = title.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '-' }).collect();
    let name = name.trim_matches('-');
    if name.is_empty() { "document".into() } else { name.chars().take(60).collect() }
}

#[cfg(test)]
mod tests {
    use countersign_shared::encoding::DecodeError;
    use countersign_shared::invite::InvitationLink;

    use super::*;

    fn about() -> About {
        About { envelope: "ab".into(), title: "Consulting <agreement>".into(), sender: "Sally Sender".into() }
    }

    fn web_link(addresses: usize) -> (String, Invitation) {
        let invitation = Invitation {
            envelope: countersign_shared::EnvelopeId::from_bytes([5; 32]),
            slot: 1,
            secret: countersign_shared::invite::InviteSecret([6; 16]),
            expires_at: 1_800_000_000_000,
            inviter: countersign_shared::SecretKey::from_seed([7; 32]).public(),
            addresses: vec!["/ip4/192.0.2.10/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(); addresses],
        };
        (invitation.to_web_link("https://verify.countersign.app"), invitation)
    }

    #[test]
    fn an_invitation_carries_the_link_everywhere_and_escapes_the_title_in_html() {
        let to = Recipient { name: "Dmitri".into(), contact: "d@acme.test".into() };
        let (link, _) = web_link(2);
        let m = invitation(&about(), &to, &link, Some(vec![1, 2]), "2026-12-12", InviteFor::Signing);
        assert!(m.text.contains(&link) && m.html.contains(&format!("href=\"{link}\"")), "{}", m.html);
        assert!(m.html.contains("Consulting &lt;agreement&gt;"), "{}", m.html);
        assert_eq!(m.channel(), Channel::Email);
        assert_eq!(m.attachments[0].inline_id.as_deref(), Some("invite-qr"));
    }

    #[test]
    fn a_text_invitation_is_one_sms_with_the_short_link_that_opens_the_same_invitation() -> Result<(), DecodeError> {
        let to = Recipient { name: "Carl".into(), contact: "+15550100".into() };
        let (link, full) = web_link(3);
        assert!(link.len() > SMS_LIMIT, "the full link alone is {} characters", link.len());
        let about = About { title: "Supply contract 118".into(), sender: "Acme Ltd".into(), ..about() };
        let m = invitation(&about, &to, &link, None, "2026-12-12", InviteFor::Signing);
        assert_eq!(
            m.sms,
            format!("Acme Ltd asks you to sign \"Supply contract 118\": {}", full.short().to_web_link("https://verify.countersign.app"))
        );
        assert!(m.sms.chars().count() <= SMS_LIMIT, "{} characters: {}", m.sms.chars().count(), m.sms);
        let sent = m.sms.split_whitespace().last().unwrap_or_default();
        assert!(sent.starts_with("https://verify.countersign.app/join#"), "{sent}");
        assert_eq!(InvitationLink::parse(sent)?, InvitationLink::Short(full.short()));
        for (title, sender) in [("A".repeat(300), "Sally Sender".to_owned()), ("Договор".into(), "S".repeat(200))] {
            let about = About { title, sender, ..about.clone() };
            for why in [InviteFor::Signing, InviteFor::Reading, InviteFor::Following] {
                let m = invitation(&about, &to, &link, None, "soon", why);
                assert!(m.sms.chars().count() <= SMS_LIMIT && m.sms.ends_with(sent), "{} characters: {}", m.sms.chars().count(), m.sms);
            }
            let m = your_turn(&about, &to, Some(&link));
            assert!(m.sms.chars().count() <= SMS_LIMIT && m.sms.ends_with(sent), "{} characters: {}", m.sms.chars().count(), m.sms);
            let m = reminder(&about, &to, Some(&link));
            assert!(m.sms.chars().count() <= SMS_LIMIT && m.sms.ends_with(sent), "{} characters: {}", m.sms.chars().count(), m.sms);
        }
        Ok(())
    }

    #[test]
    fn an_sms_stays_short() {
        let long = About { title: "A".repeat(300), ..about() };
        let to = Recipient { name: "Carl".into(), contact: "+15550100".into() };
        let m = reminder(&long, &to, None);
        assert_eq!(m.channel(), Channel::Sms);
        assert!(m.sms.chars().count() < 160, "{}", m.sms.len());
    }
}
