"""Why synack and Wireshark disagree: one explanation per class of disagreement.

Each explanation was written after looking at the packets of real examples in
../shared/captures (named in the text); docs/crosscheck.md prints them next to the counts.
A rule matches a class by the check's name (or any check) and a fragment of the class text;
the first matching rule wins. ``verdict`` says who is right: ``synack``, ``tshark``,
``neither``, ``both`` (two definitions, both defensible) or ``input`` (the capture itself).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True)
class Explanation:
    verdict: str
    text: str


DUPLICATE = Explanation("synack", (
    "The frame is a second capture of the same packet: same direction, sequence and "
    "acknowledgement numbers, flags, length, window and IP ID, microseconds to a few "
    "milliseconds after the first. ppa1-ftp-crack.pcap holds its whole capture twice (from "
    "frame 9,866 on the packets repeat with identical timestamps and IP IDs); "
    "arkime-wireshark-retrans.pcap, arkime-mongo.pcap and ndpi-rtsp.pcapng show packets two to "
    "four times with the same IP ID and TTL (a SYN 'retransmitted' 5 µs later with the same IP "
    "ID). No TCP sender produces that, so nothing was sent twice: synack's duplicate_packet "
    "check is right. tshark has no notion of a duplicated capture and reads each copy as a "
    "retransmission, a fast or spurious retransmission, a duplicate ACK, a keep-alive or an "
    "out-of-order segment."))

RULES: list[tuple[str, str, Explanation]] = [
    ("", "(synack: duplicate capture)", DUPLICATE),
    ("duplicate ACK", "synack yes, tshark no (tshark: keep_alive)", Explanation("neither", (
        "ppa1-ftp-crack.pcap frames 10,337 and 10,339 are copies of frames 472 and 474 (the "
        "capture repeats itself). synack's duplicate_packet check knows they are copies, but "
        "the timing stage's duplicate-ACK counter (analyzer/timing/context.py) counts the copy "
        "of an ACK as a duplicate ACK; tshark calls the copy a keep-alive. It is neither: the "
        "same ACK captured twice."))),
    ("duplicate ACK", "synack yes, tshark no (tshark: no flag)", Explanation("neither", (
        "arkime-wireshark-retrans.pcap frame 46 repeats frame 45 4 µs later with the same IP "
        "ID: synack's duplicate-ACK counter counts the copy (see above); tshark flags nothing "
        "on it. It is the same ACK captured twice."))),
    ("duplicate ACK", "tshark yes, synack no (synack: pure ACK)", Explanation("synack", (
        "RFC 5681 §2 calls an ACK a duplicate only while the receiver of the ACK has data "
        "outstanding. suri-bug-5881-01.pcap frames 36–38 repeat ACK 2583, which already covers "
        "everything the peer sent; they carry D-SACK blocks reporting segments received twice. "
        "ndpi-KakaoTalk_chat.pcap stream 1 repeats an ACK that lies beyond the peer's FIN; "
        "ndpi-tls_with_huge_ch.pcapng and ndpi-sites.pcapng repeat ACKs answering a re-sent "
        "SYN-ACK or a keep-alive; ws-http.pcap frame 37 answers a spurious retransmission; "
        "ppa1-http-fault-post.pcap frames 14–15 are the server's ACKs after its own data, "
        "with nothing of the client's outstanding. tshark flags every repeated ACK with the "
        "same number and "
        "window; synack counts only those that can signal a loss (and can trigger fast "
        "retransmit)."))),
    ("keep-alive", "(synack: pure ACK)", Explanation("tshark", (
        "Zero-length segments at SND.NXT−1 with everything acknowledged: the keep-alive probes "
        "Linux and Windows send (ndpi-anydesk.pcapng frame 157: seq 5866 when 5867 was next, "
        "answered by the peer's ACK; ppa3-http_espn_fail.pcapng frames 512 and 559, 45 s "
        "apart). tshark is right. synack's timing stage recognises only keep-alives that carry "
        "one byte (analyzer/timing/segments.py `_keepalive` requires the segment to occupy "
        "sequence space, though its docstring says 'one byte or none'), so zero-byte ones stay "
        "unlabelled; harmless for retransmission counts (a zero-length segment is never a "
        "retransmission candidate), but a gap to close. In ppa3-tcp_zerowindowdead.pcapng the "
        "same zero-byte probes (frames 3, 5, 7: peer window 0, intervals 3.4 s, 6.8 s, 13.5 s "
        "doubling) are really zero-window probes of the persist timer, which tshark calls "
        "keep-alives: neither tool names those right."))),
    ("", "synack yes, tshark no (tshark: out_of_order)", Explanation("synack", (
        "tshark calls a segment out-of-order when it fills a gap shortly after the gap "
        "appeared; the packets show resends. suri-TLPW1-tcp-80-49309.pcap frame 23 (seq 8193) "
        "comes 0.9 s after frame 20 opened the hole, with RTT ≈ 0.4 s, and the server's IP ID "
        "(0x7a17) is higher than that of every segment before it: it was sent after them, so "
        "it is a retransmission whose original was lost before the capture point (synack: "
        "'original not captured'; the SACK blocks that follow confirm the recovery). "
        "suri-bug-5881-01.pcap frame 17 re-sends bytes 518–1958 that frames 14–15 carried "
        "5.5 ms earlier in other segment sizes (repacketized), and the peer's D-SACK in frame "
        "30 reports them received twice: a spurious retransmission, as synack says. "
        "sample_pcaps/15_busy.pcap, recorded from the Linux stack with 2 % loss and no "
        "reordering at all, gets nine such 'out-of-order' segments from tshark."))),
    ("out-of-order", "(synack: retransmission kind", Explanation("synack", (
        "The same frames as 'retransmission: synack yes, tshark no (tshark: out_of_order)': "
        "the IP IDs, SACK and D-SACK blocks show resends, not reordering."))),
    ("fast retransmission", "synack yes, tshark no (tshark: retransmission)", Explanation(
        "synack", (
            "tshark calls a resend 'fast' only when it repeats exactly the sequence number "
            "that two or more duplicate ACKs asked for, right after them. Loss recovery "
            "resends more than that: the following holes reported by SACK blocks (RFC 6675), "
            "and segments sent on each ACK during recovery (ppa1-email-troubles.pcap frames "
            "299–330, suri-syn_retransmit_with_ts.pcap frames 129–130: 'a SACK block above "
            "it'). synack classifies by the trigger (duplicate ACKs, SACK, ACK clock in "
            "recovery vs. a timer) per RFC 5681/6675/8985, so it calls those fast; tshark "
            "leaves them plain retransmissions. Both see a retransmission; synack's kind is "
            "the more precise."))),
    ("fast retransmission", "synack yes, tshark no (tshark: out_of_order)", Explanation(
        "synack", "See 'retransmission: synack yes, tshark no (tshark: out_of_order)'.")),
    ("spurious retransmission", "synack yes, tshark no (tshark: retransmission)", Explanation(
        "synack", (
            "synack has evidence that the original had arrived: a D-SACK reporting the copy "
            "(RFC 2883; suri-bug-5881-01.pcap frame 18, ndpi-sites.pcapng frame 259), an older "
            "TCP timestamp echoed by the ACK that covers the copy (Eifel, RFC 3522; "
            "suri-bug-5881-01.pcap frame 29), or the peer's ACK of the original seen shortly "
            "before the copy (ndpi-tls_with_huge_ch.pcapng frame 9, "
            "suri-tcp-fastopen-10-syn-data.pcap frame 3). tshark only calls a resend spurious "
            "when its data had been acknowledged before, and does not read D-SACK or "
            "timestamps."))),
    ("spurious retransmission", "synack yes, tshark no (tshark: out_of_order)", Explanation(
        "synack", "See 'retransmission: synack yes, tshark no (tshark: out_of_order)'.")),
    ("spurious retransmission", "tshark yes, synack no (synack: retransmission kind", Explanation(
        "both", (
            "The data had been acknowledged at the capture point long before the resend "
            "(ppa1-ftp-crack.pcap frame 4634: 230 ms after the original; "
            "ndpi-KakaoTalk_chat.pcap frame 319). tshark calls every resend of acknowledged "
            "data spurious. synack notes that an ACK seen that long before the resend cannot "
            "have reached the sender (it would have stopped the timer): the ACK was lost "
            "after the capture point, so from the sender's side the resend was needed "
            "(`ack_lost` in result.retransmissions) — an RTO or tail-loss probe, not a "
            "spurious one. Two definitions of 'spurious'; synack's says what the sender "
            "knew."))),
    ("retransmission", "tshark yes, synack no (synack: RST)", Explanation("synack", (
        "ppa1-gnutella.pcap: each of the client's repeated SYNs is answered by a new RST+ACK "
        "(frames 31, 36, 38, 40 answer SYNs 14, 35, 37, 39, ~110 ms after each). tshark sees "
        "the same sequence number again and calls the RST a retransmission; an RST occupies no "
        "sequence space and is never retransmitted by TCP — each one answers a SYN."))),
    ("retransmission", "tshark yes, synack no (synack: new data)", Explanation("synack", (
        "arkime-tcp_handshake_synthetic.pcap stream 3 (crafted): the server's bare ACK "
        "(frame 12, seq ISN+1) arrives before its SYN-ACK (frame 13, seq ISN), so tshark takes "
        "the SYN-ACK for a resend of a lower sequence number. It is the first and only "
        "SYN-ACK."))),
    ("", "synack yes, tshark no (tshark: reused_ports)", Explanation("synack", (
        "suri-bug-7657-01.pcap: one SYN (ISN 4291095205, frames 13, 20, 24) is sent three "
        "times, 1.024 s apart, among 21 injected SYNs on the same ports with other ISNs. "
        "tshark opens a new stream for "
        "each copy ('reused ports'); synack keeps the copies in their connection and calls "
        "them RTO retransmissions."))),
    ("reused ports", "(synack: retransmission kind", Explanation("synack", (
        "A repeated SYN or SYN-ACK with the connection's own ISN: a retransmission "
        "(suri-bug-7657-01.pcap frames 20 and 24, see above; "
        "suri-tcp-fastopen-10-syn-data.pcap frames 15 and 22: the server's SYN-ACK with its "
        "first ISN, re-sent by its timer 1.02 s and 2.05 s after the previous copy, while "
        "another SYN-ACK with a second ISN (frames 14, 17) is also around). tshark flags "
        "'reused ports' when a SYN or SYN-ACK does not fit the session it tracks and starts a "
        "new one."))),
    ("reused ports", "(synack: new data", Explanation("both", (
        "A SYN-ACK with a different ISN in an existing connection (ndpi-KakaoTalk_chat.pcap "
        "frame 46: ISN 1712195420 after 1612884805 in frame 42; "
        "arkime-tcp_handshake_synthetic.pcap frame 20; suri-tcp-fastopen-10-syn-data.pcap "
        "frame 14). tshark starts a new session; synack keeps one connection (the client's "
        "SYN and ISN did not change) and reports the SYN-ACK through its handshake checks "
        "(synack_resent_with_different_seq_or_ack) — the finding is named in synack's "
        "reason. ndpi-rtsp.pcapng frame 301 and ndpi-KakaoTalk_chat.pcap frame 42 are the "
        "first SYN-ACK after a retransmitted SYN of a connection tshark had already seen."))),
    ("ACKed unseen segment", "synack yes, tshark no", Explanation("synack", (
        "One-sided captures (ndpi-http_asymmetric.pcapng, suri-http-onesided-nosyn.pcap, "
        "suri-tcp-async-server-only.pcap, tcpdump-ipoib.pcap): one direction's data never "
        "appears, yet the other side acknowledges it. synack's segment_not_captured check "
        "reports the one-sided capture and names the first acknowledging frames; tshark flags "
        "none of these ACKs (it has no sequence state for a direction it never saw). "
        "suri-TLPW1-tcp-80-49309.pcap frame 55 acknowledges bytes of a hole the capture "
        "never filled."))),
    ("ACKed unseen segment", "tshark yes, synack no (synack: pure ACK)", Explanation(
        "synack", (
            "ndpi-http_ipv6.pcap frames 2 and 31: the capture starts with a keep-alive (zero "
            "bytes at SND.NXT−1, frame 1) and its answer acknowledges SND.NXT, one above the "
            "keep-alive's sequence number; tshark takes that for an ACK of a missed segment. "
            "synack counts the keep-alive's sequence number as seen, so there is no gap. "
            "ppa1-email-troubles.pcap frame 332 acknowledges 275041, and frames 330–331 "
            "carried every byte up to it: tshark lost track after the retransmissions before. "
            "The crafted streams of arkime-tcp_handshake_synthetic.pcap acknowledge ISN+1 "
            "values no segment carried."))),
    ("ACKed unseen segment", "tshark yes, synack no", Explanation("synack", (
        "Special cases of the class above: a repeated ACK beyond a FIN (ndpi-KakaoTalk_chat.pcap "
        "frame 310), and suri-tcp-fastopen-10-syn-data.pcap frame 18, whose ACK 97572841 "
        "acknowledges the SYN-ACKs with ISN 97572840 (frames 14 and 17) while tshark tracks "
        "the first ISN 3212050950: the acknowledged sequence number was in the capture."))),
    ("lost segment", "tshark yes, synack no", Explanation("synack", (
        "arkime-tcp_handshake_synthetic.pcap frame 24 (crafted) is a pure ACK whose sequence "
        "number is beyond what its sender sent; an empty segment carries no data, so synack "
        "sees no missing segment before it."))),
    ("connections", "one synack connection holds several tshark streams", Explanation(
        "synack", "suri-bug-7657-01.pcap: see 'retransmission: synack yes, tshark no "
        "(tshark: reused_ports)' — one SYN sent three times is one connection.")),
    ("packets", "TCP for tshark, not in synack's table", Explanation("both", (
        "tcpdump-tcp_header_heapoverflow.pcap: a 46-byte snaplen leaves 12 bytes of the TCP "
        "header; tshark shows the ports, synack records a truncated_tcp_header anomaly instead "
        "of a row without sequence numbers."))),
    ("handshake RTT", "tshark has an initial RTT, synack none", Explanation("both", (
        "tshark's iRTT is taken at the first segment with ACK after the SYN, whatever it is: "
        "the RST+ACK refusing the connection (ppa1-gnutella.pcap, 98 streams; "
        "ppa1-evilprogram.pcap, 57; ppa3-synscan.pcapng), an ACK when no SYN-ACK was captured "
        "(arkime-no-syn-ack.pcap), or a split handshake (suri-split-handshake-*.pcap). synack "
        "measures a handshake RTT only for SYN → SYN-ACK → ACK it saw; a refused connection "
        "has an RTT sample but no handshake."))),
    ("handshake RTT", "values differ", Explanation("neither", (
        "The handshake was retransmitted (ndpi-tls_with_huge_ch.pcapng: SYNs at 0, 1.03 and "
        "3.04 s, SYN-ACKs at 1.17, 2.18 and 3.18 s; suri-tcp-fastopen-10-syn-data.pcap; "
        "suri-bug-5881-01.pcap). tshark measures from the last SYN to the ACK (2.2 ms: the ACK "
        "answers a SYN-ACK sent 2 s before, not that SYN); synack's connections table spans "
        "the last SYN before the first SYN-ACK to the ACK (2014 ms). By Karn's rule neither is "
        "an RTT sample, and synack's timing stage does not use it (RTT from ACK samples, "
        "handshake ignored when resent). In ndpi-rtsp.pcapng stream 4 the first attempt is "
        "refused (SYN frames 289–292, RST+ACK 293): tshark's iRTT (1.18 ms) is SYN → RST, "
        "synack's (1.03 ms) the handshake that succeeds later on the same ports (frames "
        "300–305). tcpdump-timestamp_invalid_nano.pcap has invalid timestamps (clamped by "
        "synack)."))),
    ("completeness", "ACK: tshark only", Explanation("both", (
        "tshark's ACK bit is set by a data-less ACK, not by a completed handshake: "
        "arkime-no-syn-ack.pcap shows SYN+ACK+DATA without any SYN-ACK; ndpi-KakaoTalk_chat.pcap "
        "stream 1 shows ACK+FIN with no handshake at all. synack's ACK bit means the "
        "handshake's third segment (ACK of the SYN-ACK) was seen."))),
    ("completeness", "ACK: synack only", Explanation("synack", (
        "ndpi-sites.pcapng: the client's third handshake segment carries the request (frame 3: "
        "ACK with 381 bytes). The handshake is complete; tshark sets ACK only for an ACK "
        "without data, so it shows SYN+SYN-ACK+DATA (a probe capture SYN, SYN-ACK, ACK+data "
        "gives tshark 4.0 the same 11)."))),
    ("completeness", "SYN: synack only", Explanation("synack", (
        "arkime-tcp_handshake_synthetic.pcap stream 12 (crafted): the SYN-ACK (frame 42) comes "
        "before the SYN (frame 43); tshark's bits depend on order, synack's on what was "
        "seen."))),
    ("completeness", "synack only", Explanation("both", (
        "tshark's completeness stays 0 for streams it picks up mid-way with only a few "
        "segments (one data segment in tcpdump-bigtcp-ipv4.pcap, a single RST with data in "
        "tcpdump-tcp_rst_data.pcap, the tunnelled or reassembled segments of "
        "suri-ipv6_over_ipv4.pcap and suri-frag-eth-vlan-ipv6-tcp.pcap); a probe capture with "
        "one ACK, FIN or data segment gives 0 too. synack reports what the connection "
        "showed."))),
]

UNEXPLAINED = Explanation("open", "Not yet explained.")


def explain(check: str, cls: str) -> Explanation:
    """The explanation of disagreement class ``cls`` of ``check``."""
    for rule_check, fragment, why in RULES:
        if (not rule_check or check.startswith(rule_check)) and fragment in cls:
            return why
    return UNEXPLAINED
