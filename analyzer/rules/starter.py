"""The commented starter rules file written by ``synack check --init``."""

from __future__ import annotations

__all__ = ["STARTER_RULES"]

STARTER_RULES = '''\
# synack rules: what the TCP traffic recorded during a test run must look like.
#   synack check capture.pcap --rules synack-rules.toml
# Exit code 0: every rule holds; 1: a rule is broken; 2: usage or input error
# (including a mistake in this file: the message names the line).
# Every key is optional. The keys at the top level judge every connection of the capture;
# a [[scope]] judges only the connections it selects. Reference: docs/ci.md.

version = 1

# --- findings (see `synack checks` for every id and its severity) --------------------
# Findings of these severities break the build (default: ["error"]; [] turns it off).
forbid_severities = ["error"]
# Ids never judged by forbid_severities (when you forbid warnings, say).
allow_findings = []
# Ids that must not occur at all, whatever their severity.
forbid_findings = ["syn_no_reply", "synack_no_ack", "peer_vanished"]

# At most N findings of one id (or as a table: [findings.retransmission] then max = 10):
# findings.retransmission.max = 10

# --- connections ----------------------------------------------------------------------
# At least this many connections: catches a capture of the wrong interface or port.
min_connections = 1
# Every connection ends with a FIN each way and no RST.
require_clean_close = true
# Connections whose handshake never completed (SYN or SYN-ACK never answered).
max_half_open = 0
# SYN / SYN-ACK retransmissions per connection.
max_syn_retries = 0
# max_synack_retries = 0
# Retransmitted segments / all segments (0.01 = 1 %).
max_retransmission_rate = 0.01
# Handshake round-trip time budgets in milliseconds (p1-p99 and max).
# handshake_rtt_ms = { p50 = 1, p95 = 5, max = 50 }
# Only the client may enter TIME_WAIT, i.e. the client closes first ("client" or "server").
# time_wait_side = "client"

# --- scopes: rules for some connections only --------------------------------------------
# Selectors: server_port (80, "8000-8099", [80, 443]), client_port, host (either end),
# server, client (IP or CIDR: "10.0.0.0/8", "fd00::/8"), capture (a glob), conn (ids).
# [[scope]]
# name = "database"
# server_port = 5432
# handshake_rtt_ms = { p95 = 2 }
# time_wait_side = "client"

# --- known, accepted noise ----------------------------------------------------------------
# An ignored finding is judged by no rule; "rule = ..." exempts connections from a
# connection rule instead. A reason is required.
# [[ignore]]
# finding = "syn_no_reply"
# server_port = 9
# reason = "the test probes a closed discard port on purpose"
#
# [[ignore]]
# rule = "require_clean_close"
# server = "10.0.0.7"
# reason = "the health checker resets its connections"
'''
