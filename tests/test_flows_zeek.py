"""Tests for analyzer.flows.zeek: Zeek's conn_state and history, per Zeek's own definitions.

Every expected value is derived by hand from Zeek's source (file/function cited at each test)
or copied from a Zeek btest baseline (testing/btest/Baseline/...). The Zeek traces behind the
baselines are binary and none of them is in /work/shared/captures (SOURCES.csv lists no
zeek/zeek file), so for baselines whose trace name or history spells out the packet sequence
the packets are re-scripted here to produce that sequence; the expected strings are Zeek's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.flows.zeek import zeek_columns

FLAG = {"S": 0x02, "A": 0x10, "F": 0x01, "R": 0x04, "P": 0x08}
C, S = 1_000_000, 7_000_000          # client / server ISNs
HS = [("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)]
DTYPES = {"conn_id": "int64", "src": "int32", "dst": "int32", "sport": "uint16",
          "dport": "uint16", "seq": "uint32", "ack": "uint32", "flags": "uint16",
          "payload_len": "int32", "window": "uint16", "csum_ok": "int8", "ts_ns": "int64"}


def rows(script: list[tuple], conn: int = 1, cport: int = 40000, sport: int = 80) -> list[dict]:
    """Steps (direction c/s, flags, seq, ack, payload[, window[, csum_ok]])."""
    out = []
    for i, step in enumerate(script):
        d, fl, seq, ack, ln = step[:5]
        c2s = d == "c"
        out.append({"conn_id": conn, "src": 2 * conn if c2s else 2 * conn + 1,
                    "dst": 2 * conn + 1 if c2s else 2 * conn,
                    "sport": cport if c2s else sport, "dport": sport if c2s else cport,
                    "seq": seq % 2**32, "ack": ack % 2**32,
                    "flags": sum(FLAG[f] for f in fl), "payload_len": ln,
                    "window": step[5] if len(step) > 5 else 65535,
                    "csum_ok": step[6] if len(step) > 6 else 1, "ts_ns": i})
    return out


def frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=list(DTYPES)).astype(DTYPES)


def zeek(script: list[tuple], **kw: int) -> tuple[str, str, bool]:
    r = zeek_columns(frame(rows(script, **kw))).iloc[0]
    return r.conn_state, r.history, bool(r.zeek_orig_is_first_sender)


def exchange(c: int = C + 1, s: int = S + 1, n: int = 100, m: int = 50) -> list[tuple]:
    """Client sends n bytes, server acks and answers m bytes, client acks."""
    return [("c", "PA", c, s, n), ("s", "A", s, c + n, 0), ("s", "PA", s, c + n, m),
            ("c", "A", c + n, s + m, 0)]


CLOSE = [("c", "FA", C + 101, S + 51, 0), ("s", "FA", S + 51, C + 102, 0),
         ("c", "A", C + 102, S + 52, 0)]


# ---- every conn_state value (main.zeek conn_state(), endpoint states from
# ---- TCPSessionAdapter::UpdateInactiveState/UpdateSYN_SentState/UpdateEstablishedState)
@pytest.mark.parametrize(("script", "state", "history"), [
    # S0: orig SYN_SENT, resp INACTIVE.
    ([("c", "S", C, 0, 0)], "S0", "S"),
    # S1: the SYN-ACK makes both ESTABLISHED; no close.
    (HS, "S1", "ShA"),
    # SF: both FINs -> both CLOSED.
    (HS + exchange() + CLOSE, "SF", "ShADadFf"),
    # REJ: resp RST while orig is SYN_SENT.
    ([("c", "S", C, 0, 0), ("s", "RA", 0, C + 1, 0)], "REJ", "Sr"),
    # S2: orig FIN, resp still ESTABLISHED.
    ([*HS, ("c", "FA", C + 1, S + 1, 0)], "S2", "ShAF"),
    # S3: resp FIN, orig still ESTABLISHED.
    ([*HS, ("s", "FA", S + 1, C + 1, 0)], "S3", "ShAf"),
    # RSTO: orig RST after establishment.
    ([*HS, ("c", "RA", C + 1, S + 1, 0)], "RSTO", "ShAR"),
    # RSTR: resp RST after data both ways.
    ([*HS, ("c", "PA", C + 1, S + 1, 10), ("s", "PA", S + 1, C + 11, 10),
      ("s", "R", S + 11, 0, 0)], "RSTR", "ShADdr"),
    # RSTOS0: SYN then RST from orig; history matches /^?S[^HAFGIQ]*R.*/.
    ([("c", "S", C, 0, 0), ("c", "R", C + 1, 0, 0)], "RSTOS0", "SR"),
    # SH: SYN then FIN from orig, resp INACTIVE.
    ([("c", "S", C, 0, 0), ("c", "F", C + 1, 0, 0)], "SH", "SF"),
    # OTH: mid-stream data only (orig PARTIAL, resp INACTIVE).
    ([("c", "PA", C, S, 10)], "OTH", "D"),
])
def test_each_conn_state(script: list[tuple], state: str, history: str) -> None:
    assert zeek(script)[:2] == (state, history)


def test_shr_and_rstrh_start_with_a_syn_ack_from_a_server_port() -> None:
    # TCP.cc WantConnection: first packet is a SYN-ACK from likely server port 80 to a
    # non-server port -> FlipRoles ('^'); the SYN-ACK is then the responder's ('h').
    synack = ("s", "SA", S, C + 1, 0)
    assert zeek([synack, ("s", "FA", S + 1, C + 1, 0)]) == ("SHR", "^hf", False)
    assert zeek([synack, ("s", "R", S + 1, 0, 0)]) == ("RSTRH", "^hr", False)


def test_both_reset_is_rej_only_without_data() -> None:
    # main.zeek: rs == RESET and os == RESET -> REJ iff orig and resp size are 0
    # (TCP_Endpoint::Size()); otherwise RSTR.
    assert zeek([("c", "S", C, 0, 0), ("s", "RA", 0, C + 1, 0),
                 ("c", "R", C + 1, 0, 0)])[:2] == ("REJ", "SrR")
    assert zeek([*HS, ("c", "PA", C + 1, S + 1, 10), ("s", "PA", S + 1, C + 11, 10),
                 ("s", "R", S + 11, 0, 0), ("c", "R", C + 11, 0, 0)])[:2] == \
        ("RSTR", "ShADdrR")


def test_fin_then_rst_then_peer_fin_is_a_normal_close() -> None:
    # UpdateClosedState: orig RST after its FIN -> RESET (peer not CLOSED); then the resp FIN
    # in UpdateEstablishedState turns a peer that went CLOSED -> RESET back into CLOSED.
    script = HS + exchange() + [("c", "FA", C + 101, S + 51, 0), ("c", "R", C + 102, 0, 0),
                                ("s", "FA", S + 51, C + 102, 0)]
    assert zeek(script)[:2] == ("SF", "ShADadFRf")


# ---- Zeek btest baselines -------------------------------------------------------------
@pytest.mark.parametrize(("script", "expected"), [
    # Baseline/scripts.base.protocols.conn.conn_state-RST-behavior/out, traces
    # single-rst, syn-then-rst, syn-then-ack-then-rst, syn-then-stuff-then-rst (zeek -C):
    ([("c", "R", C, 0, 0)], ("OTH", "R")),
    ([("c", "S", C, 0, 0), ("c", "R", C + 1, 0, 0)], ("RSTOS0", "SR")),
    ([("c", "S", C, 0, 0), ("s", "A", S, C + 1, 0), ("c", "R", C + 1, 0, 0)],
     ("RSTOS0", "SaR")),
    ([("c", "S", C, 0, 0), ("s", "A", S, C + 1, 0), ("c", "F", C + 1, 0, 0),
      ("c", "R", C + 2, 0, 0)], ("OTH", "SaFR")),
])
def test_baseline_conn_state_rst_behavior(script: list[tuple], expected: tuple) -> None:
    assert zeek(script)[:2] == expected


def test_baseline_missing_syn_port_flip() -> None:
    # Baseline/core.tcp.missing-syn/conn.log (also core.history-flip): 141.42.64.125:56730 ->
    # 125.190.109.199:80, SF, history ^hADdFaf: the capture starts with the SYN-ACK from 80.
    script = [("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0),
              ("c", "PA", C + 1, S + 1, 98), ("s", "PA", S + 1, C + 99, 1400),
              ("c", "FA", C + 99, S + 1401, 0), ("s", "A", S + 1401, C + 100, 0),
              ("s", "FA", S + 1401, C + 100, 0), ("c", "A", C + 100, S + 1402, 0)]
    assert zeek(script, cport=56730, sport=80) == ("SF", "^hADdFaf", False)


def test_baseline_flip_without_syn_both_ports_likely() -> None:
    # Baseline/core.tcp.flip-without-syn/conn.log: 141.142.228.5:6669 <-> 192.150.187.43:80,
    # SF, ^hADadFf. 6669 (IRC) and 80 are both likely server ports and a SYN-ACK is never
    # flipped by ports (WantConnection); PR #2191 flips once an ACK follows the SYN-ACK.
    script = [("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0),
              ("c", "PA", C + 1, S + 1, 136), ("s", "A", S + 1, C + 137, 0),
              ("s", "PA", S + 1, C + 137, 5007), ("c", "FA", C + 137, S + 5008, 0),
              ("s", "FA", S + 5008, C + 138, 0), ("c", "A", C + 138, S + 5009, 0)]
    assert zeek(script, cport=6669, sport=80) == ("SF", "^hADadFf", False)


def test_baseline_tcp_dups_scaled_retransmissions() -> None:
    # Baseline/core.tcp.tcp-dups/out (ssh-dups.pcap, every segment duplicated):
    # ShADTadtTtFf -- the 10th duplicate of each side adds a second T/t
    # (Connection::ScaledHistoryEntry, TCP_Endpoint::DidRxmit).
    script, c, s = list(HS), C + 1, S + 1
    for _ in range(10):
        script += [("c", "PA", c, s, 48), ("c", "PA", c, s, 48), ("s", "A", s, c + 48, 0)]
        c += 48
        script += [("s", "PA", s, c, 64), ("s", "PA", s, c, 64), ("c", "A", c, s + 64, 0)]
        s += 64
    script += [("c", "FA", c, s, 0), ("s", "FA", s, c + 1, 0), ("c", "A", c + 1, s + 1, 0)]
    assert zeek(script, cport=53206, sport=22) == ("SF", "ShADTadtTtFf", True)


def test_baseline_rxmit_history_gaps() -> None:
    # Baseline/core.tcp.rxmit-history/conn-1.log (retransmit-fast009.trace): RSTO,
    # ShADaGdgtR with missed bytes: acks for data the capture never saw give G then g
    # (TCP_Reassembler::Undelivered -> TCP_Endpoint::Gap), a resent segment t, orig RST.
    script = [*HS, ("c", "PA", C + 1, S + 1, 100), ("s", "A", S + 1, C + 101, 0),
              ("c", "PA", C + 201, S + 1, 100), ("s", "A", S + 1, C + 301, 0),
              ("s", "PA", S + 1, C + 301, 100), ("s", "PA", S + 201, C + 301, 100),
              ("c", "A", C + 301, S + 301, 0), ("s", "PA", S + 201, C + 301, 100),
              ("c", "RA", C + 301, S + 301, 0)]
    assert zeek(script)[:2] == ("RSTO", "ShADaGdgtR")


def test_documented_bad_checksum_syn() -> None:
    # docs.zeek.org advanced/devel/conn "Checksum Behavior" (Traces/tcp/syn-bad.pcap):
    # a lone SYN with a bad checksum logs history C, conn_state OTH (packet not analysed).
    assert zeek([("c", "S", C, 0, 0, 65535, 0)], cport=59856) == ("OTH", "C", True)


# ---- history letters (TCPSessionAdapter.cc update_history, TCP_Endpoint.cc) ------------
def test_a_and_d_once_per_direction() -> None:
    # CheckHistory(HIST_ACK_PKT/HIST_DATA_PKT): recorded at most once per role.
    script = HS + exchange() + exchange(C + 101, S + 51) + exchange(C + 201, S + 101)
    assert zeek(script)[1] == "ShADad"


def test_repeated_fin_only_with_a_new_sequence_number() -> None:
    # 'F' again only if rel_seq + len differs from hist_last_FIN: a resent FIN adds nothing,
    # a FIN carrying 5 more bytes does.
    fin = ("c", "FA", C + 1, S + 1, 0)
    assert zeek([*HS, fin, fin, ("c", "FA", C + 1, S + 1, 5)])[:2] == ("S2", "ShAFF")


def test_syn_retransmissions_add_no_letter() -> None:
    # Same ISN: rel_seq 0 == hist_last_SYN; new ISN: init_endpoint re-inits start_seq, so
    # rel_seq is 0 again (SYN_seq_jump) and still no second 'S'.
    syn = ("c", "S", C, 0, 0)
    assert zeek([syn, syn, ("c", "S", C + 5000, 0, 0)])[:2] == ("S0", "S")


@pytest.mark.parametrize(("n", "expected"), [(9, "T"), (10, "TT"), (100, "TTT")])
def test_retransmission_letters_scale_by_powers_of_ten(n: int, expected: str) -> None:
    # ScaledHistoryEntry: a letter at the 1st, 10th, 100th event.
    script = HS + [("c", "PA", C + 1, S + 1, 10)] + [("c", "PA", C + 1, S + 1, 10)] * n
    assert zeek(script)[1] == "ShAD" + expected


def test_reordered_segment_counts_as_retransmission() -> None:
    # update_last_seq: a data packet ending at or below last_seq calls DidRxmit.
    script = [*HS, ("c", "PA", C + 101, S + 1, 100), ("c", "PA", C + 1, S + 1, 100)]
    assert zeek(script)[1] == "ShADT"


def test_syn_with_data_is_flagged_as_retransmission() -> None:
    # TFO: init_endpoint sets last_seq one past the SYN's data, so update_last_seq sees
    # delta_last == 0 with len > 0 and calls DidRxmit.
    assert zeek([("c", "S", C, 0, 20)])[:2] == ("S0", "ST")


def test_rst_with_payload_is_flagged_as_retransmission() -> None:
    # get_segment_len: RST payload is not sequence space, so delta_last <= 0 with len > 0.
    assert zeek([*HS, ("c", "RA", C + 1, S + 1, 30)])[:2] == ("RSTO", "ShART")


def test_zero_window_rules() -> None:
    # update_window (after update_history, so the pure ACK's 'a' comes first): W/w unless
    # on a RST, after a RST, or after the peer's FIN.
    zero_ack = ("s", "A", S + 1, C + 1, 0, 0)
    assert zeek([*HS, zero_ack])[1] == "ShAaw"
    assert zeek([*HS, ("c", "FA", C + 1, S + 1, 0), ("s", "A", S + 1, C + 2, 0, 0)])[1] == \
        "ShAFa"
    assert zeek([*HS, ("s", "RA", S + 1, C + 1, 0, 0)])[1] == "ShAr"


def test_bad_checksum_packets_count_but_are_ignored() -> None:
    # TCPAnalyzer::ValidateChecksum: ChecksumError (C/c) and the packet goes no further, so
    # a SYN-ACK with a bad checksum leaves the connection in S0.
    script = [("c", "S", C, 0, 0), ("s", "SA", S, C + 1, 0, 65535, 0)]
    assert zeek(script)[:2] == ("S0", "Sc")
    good = zeek_columns(frame(rows(script)), ignore_checksums=True).iloc[0]   # zeek -C
    assert (good.conn_state, good.history) == ("S1", "Sh")


def test_multi_flag_letters_once() -> None:
    # bits_set > 1: FIN+RST -> 'I' (HIST_FIN_RST_PKT), SYN+FIN -> 'Q' (HIST_MULTI_FLAG_PKT).
    assert zeek([*HS, ("c", "FRA", C + 1, S + 1, 0), ("c", "FRA", C + 1, S + 1, 0)])[1] == \
        "ShAI"
    assert zeek([("c", "SF", C, 0, 0)])[1] == "Q"


def test_midstream_from_server_port_is_flipped() -> None:
    # WantConnection: first packet not a SYN, source port 80 likely, destination not.
    assert zeek([("s", "PA", S, C, 10), ("c", "A", C, S + 10, 0)]) == ("OTH", "^dA", False)


def test_syn_synack_reversal_flips_after_the_syn() -> None:
    # UpdateInactiveState: a SYN from the responder while the originator is SYN_ACK_SENT is
    # a SYN/SYN-ACK reversal: its 's' is recorded, then FlipRoles appends '^'.
    script = [("s", "SA", S, C + 1, 0), ("c", "S", C, 0, 0), ("c", "A", C + 1, S + 1, 0)]
    assert zeek(script, cport=40000, sport=40001) == ("S1", "Hs^A", False)


def test_gap_needs_an_established_connection() -> None:
    # TCP_Reassembler::Gap only calls TCP_Endpoint::Gap when both endpoints are established
    # or cleanly closing; a partial (mid-stream) connection gets no G.
    script = [("c", "PA", C, S, 100), ("s", "A", S, C + 300, 0)]
    assert zeek(script)[1] == "Da"


def test_reordering_is_not_a_gap_but_loss_is() -> None:
    reordered = [*HS, ("c", "PA", C + 101, S + 1, 100), ("c", "PA", C + 1, S + 1, 100),
                 ("s", "A", S + 1, C + 201, 0)]
    lost = [*HS, ("c", "PA", C + 101, S + 1, 100), ("s", "A", S + 1, C + 201, 0)]
    assert zeek(reordered)[1] == "ShADTa"
    assert zeek(lost)[1] == "ShADaG"


# ---- the table as a whole ---------------------------------------------------------------
def test_interleaved_connections_match_separate_runs() -> None:
    scripts = {1: HS + exchange() + CLOSE, 2: [("c", "S", C, 0, 0)],
               3: [("s", "SA", S, C + 1, 0), ("s", "R", S + 1, 0, 0)],
               4: HS + [("c", "PA", C + 1, S + 1, 10)] * 12}
    recs = [r for cid, sc in scripts.items() for r in rows(sc, conn=cid, cport=40000 + cid)]
    order = np.argsort([r["ts_ns"] * 10 + r["conn_id"] for r in recs], kind="stable")
    together = zeek_columns(frame([recs[i] for i in order]))
    assert list(together.index) == [1, 2, 3, 4]
    for cid, sc in scripts.items():
        alone = zeek_columns(frame(rows(sc, conn=cid, cport=40000 + cid))).loc[cid]
        assert together.loc[cid].tolist() == alone.tolist()


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 18])
def test_chunks_of_connections_change_nothing(monkeypatch: pytest.MonkeyPatch,
                                              chunk: int) -> None:
    """Connections are worked on in chunks of about CHUNK_ROWS packets (never split): any
    chunk size, also one smaller than a connection, gives the same table."""
    import analyzer.flows.zeek as zeek_module

    scripts = {1: HS + exchange() + CLOSE, 2: [("c", "S", C, 0, 0)],
               3: HS + [("c", "PA", C + 1, S + 1, 10)] * 12, 4: HS + exchange()}
    recs = [r for cid, sc in scripts.items() for r in rows(sc, conn=cid, cport=40000 + cid)]
    whole = zeek_columns(frame(recs))
    monkeypatch.setattr(zeek_module, "CHUNK_ROWS", chunk)
    pd.testing.assert_frame_equal(zeek_columns(frame(recs)), whole)


def test_empty_input() -> None:
    out = zeek_columns(frame([]))
    assert out.empty
    assert list(out.columns) == ["conn_state", "history", "zeek_orig_is_first_sender"]
