from scripted import ADDRESSES, columns

from analyzer.api import analyze_columns

C, S = 1000, 5000


def roles(script, **kw):
    r = analyze_columns(columns(script, **kw), ADDRESSES)
    row = r.connections.iloc[0]
    return str(row["role_source"]), int(row["client_port"]), int(row["server_port"])


def test_syn_sender_is_client():
    assert roles([("s", "A", S, C, 0), ("c", "S", C, 0, 0)], cport=40000, sport=80)[0] in \
        ("syn", "port")


def test_synack_receiver_is_client_when_syn_missing():
    assert roles([("s", "SA", S, C + 1, 0), ("c", "A", C + 1, S + 1, 0)]) == \
        ("synack", 40000, 80)


def test_well_known_port_is_server_when_no_handshake():
    # the first packet comes from the server, yet port 80 decides
    assert roles([("s", "PA", S, C, 10), ("c", "A", C, S + 10, 0)]) == ("port", 40000, 80)


def test_first_packet_decides_without_other_evidence():
    assert roles([("s", "PA", S, C, 10)], cport=5000, sport=6000) == ("first_packet", 6000, 5000)
