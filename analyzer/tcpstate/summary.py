"""One word per connection for humans: how the connection stands at the end of the capture.

``CLOSED`` (FINs both ways), ``RESET``, ``REFUSED`` (SYN answered by RST), ``HALF-OPEN``
(handshake never completed: SYN without answer, or SYN-ACK never acknowledged),
``HALF-CLOSED`` (one side sent FIN, the other has not: a normal state in which data may
still flow the other way — never a fault by itself), ``ESTABLISHED`` (open at the end),
``MIDSTREAM`` (no handshake and no close seen) and ``CLOSING`` for the remaining mixes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.tcpstate.states import State

__all__ = ["SUMMARY_STATES", "summary_states"]

SUMMARY_STATES = ("CLOSED", "RESET", "REFUSED", "HALF-OPEN", "HALF-CLOSED", "ESTABLISHED",
                  "MIDSTREAM", "CLOSING")

_DONE = [State.CLOSED.value, State.TIME_WAIT.value]
_FIN_SENT = [State.FIN_WAIT_1.value, State.FIN_WAIT_2.value, State.CLOSING.value,
             State.TIME_WAIT.value, State.LAST_ACK.value]


def summary_states(conns: pd.DataFrame, final: np.ndarray) -> pd.Categorical:
    """Summary word per connection from its counts and both endpoints' final states."""
    client, server = final[:, 0], final[:, 1]
    rst = (conns["rst_c2s"] + conns["rst_s2c"]).to_numpy() > 0
    fins = (conns["fin_c2s"].to_numpy() > 0) & (conns["fin_s2c"].to_numpy() > 0)
    done = np.isin(client, _DONE) & np.isin(server, _DONE)
    syn, synack = conns["syn_count"].to_numpy(), conns["synack_count"].to_numpy()
    est = (client == "ESTABLISHED") & (server == "ESTABLISHED")
    conditions = [
        rst & (synack == 0) & (syn > 0) & (conns["rst_s2c"].to_numpy() > 0),
        fins & done & ~rst,
        rst & ((client == "CLOSED") | np.isin(server, ["CLOSED", "LISTEN"])),
        fins & done,
        (client == "SYN_SENT") | (server == "SYN_RECEIVED"),
        (np.isin(client, _FIN_SENT) & (server == "CLOSE_WAIT"))
        | (np.isin(server, _FIN_SENT) & (client == "CLOSE_WAIT")),
        est & (syn == 0) & (synack == 0),
        est,
    ]
    choices = ["REFUSED", "CLOSED", "RESET", "CLOSED", "HALF-OPEN", "HALF-CLOSED",
               "MIDSTREAM", "ESTABLISHED"]
    words = np.select(conditions, choices, default="CLOSING")
    return pd.Categorical(words, categories=list(SUMMARY_STATES))
