//! The settings page's requests: read and save the node's settings and its
//! email and SMS channels, send a test message, create the company's CA.

use super::*;
use crate::app::requests::{AuthorityView, SettingsView};
use crate::notify::config::{Channels, NotifyConfig};
use crate::settings::Settings;

impl App {
    pub(super) fn settings_view(&self) -> Result<SettingsView, NodeError> {
        let data = self.envelopes.data();
        let settings = Settings::load(data).map_err(internal)?;
        let config = self.notifier.config();
        let authority = crate::authority::load(data).map_err(internal)?.and_then(|authority| {
            let described = countersign_shared::pades::certificate::describe(std::slice::from_ref(&authority.certificate))?;
            Some(AuthorityView { name: described.subject, fingerprint: described.root_fingerprint })
        });
        Ok(SettingsView {
            settings,
            email: config.email.clone(),
            sms: config.sms.clone(),
            smtp_password_saved: config.smtp_password().is_some(),
            sms_auth_saved: config.sms_auth().is_some(),
            authority,
        })
    }

    pub(super) fn save_settings(&self, settings: &Settings) -> Result<(), NodeError> {
        if let Some(problem) = settings.problems().into_iter().next() {
            return Err(NodeError::invalid(problem.message));
        }
        settings.save(self.envelopes.data()).map_err(internal)
    }

    pub(super) fn save_channels(&self, channels: &Channels) -> Result<(), NodeError> {
        let config = NotifyConfig::save_channels(self.envelopes.data(), channels).map_err(|e| NodeError::invalid(e.to_string()))?;
        self.notifier.replace_config(config);
        Ok(())
    }

    /// Sends a test message to `to` with the settings in force, off the
    /// application's task (a mail server may take its time).
    pub(super) fn send_test_message(&self, to: &str, reply: Reply<String>) {
        if let Err(e) = Contact::parse(to) {
            let _ = reply.send(Err(NodeError::invalid(e.to_string())));
            return;
        }
        let (message, config) = (self.notifier.test_message(to), self.notifier.config().clone());
        let set_up = match message.channel() {
            crate::notify::message::Channel::Email => config.email.is_some(),
            crate::notify::message::Channel::Sms => config.sms.is_some(),
        };
        if !set_up {
            let what = if to.contains('@') { "email" } else { "SMS" };
            let _ = reply.send(Err(NodeError::refused(format!("{what} is not set up yet: fill in and save its settings first"))));
            return;
        }
        let outbox = self.envelopes.data().path("outbox");
        let to = to.to_owned();
        tokio::task::spawn_blocking(move || {
            let answer = match crate::notify::channels::deliver(&message, &config, &outbox) {
                Ok(crate::notify::channels::Delivered::Email) => Ok(format!("Sent to {to} by email. Check that it arrived.")),
                Ok(crate::notify::channels::Delivered::Sms) => Ok(format!("The SMS gateway took the text to {to}. Check that it arrived.")),
                Ok(crate::notify::channels::Delivered::Outbox(_)) => Err(NodeError::refused("it went to the outbox folder instead")),
                Err(failure) => Err(NodeError::unavailable(format!("not sent: {}", failure.reason))),
            };
            let _ = reply.send(answer);
        });
    }

    /// Creates the company's CA and puts it to use at once.
    pub(super) fn create_authority(&mut self, organization: &str) -> Result<(), NodeError> {
        let data = self.envelopes.data().clone();
        crate::authority::create(&data, organization).map_err(|e| NodeError::invalid(e.to_string()))?;
        let authority = crate::authority::load(&data).map_err(internal)?.ok_or_else(|| internal("the new CA cannot be read back"))?;
        self.envelopes.party_mut().set_authority(authority);
        Ok(())
    }
}
