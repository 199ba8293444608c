//! Reads a helpdesk through its public API and writes a deskferry bundle.
