//! Verifies a deskferry bundle and replays it into a target helpdesk.
