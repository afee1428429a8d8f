//! systemd's service notifications (`Type=notify`): READY when every listener is open,
//! RELOADING while a SIGHUP reload runs, STOPPING on shutdown, and a STATUS line an
//! operator sees in `systemctl status`. Without `NOTIFY_SOCKET` (not started by systemd)
//! nothing is sent.

use sd_notify::NotifyState;

/// Tells the service manager jkgate is serving, with `status` for `systemctl status`.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Tells the service manager a reload has begun. systemd 253 and newer want the
/// monotonic time with it (`Type=notify-reload`); older ones ignore it.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// Tells the service manager jkgate is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("systemd notification not sent: {e}");
    }
}
