"""The SSE decoder (WHATWG event-stream rules), fed bytes the way a network delivers them."""

from __future__ import annotations

import time

import pytest

from atdak_cli.client._sse import ServerSentEvent, SSEDecoder, iter_events


def feed_pieces(pieces: list[bytes]) -> list[ServerSentEvent]:
    return list(iter_events(pieces))


def data_of(events: list[ServerSentEvent]) -> list[str]:
    return [e.data for e in events]


def every_split(blob: bytes) -> list[list[bytes]]:
    """``blob`` cut in two at every position, and one byte at a time."""
    cuts = [[blob[:i], blob[i:]] for i in range(len(blob) + 1)]
    return [*cuts, [blob[i : i + 1] for i in range(len(blob))]]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_ending_dispatches_the_same_events_at_every_split(eol: bytes) -> None:
    blob = b"data: one" + eol + eol + b"data: two" + eol + eol
    for pieces in every_split(blob):
        assert data_of(feed_pieces(pieces)) == ["one", "two"], pieces


def test_crlf_split_between_cr_and_lf_is_one_line_end_not_two() -> None:
    decoder = SSEDecoder()
    # "data: a\r" | "\n\r\n": were the CR taken alone, the LF would end an empty line and
    # dispatch too early, but the result must be the same single event either way.
    assert decoder.feed(b"data: a\r") == []
    assert data_of(decoder.feed(b"\ndata: b\r\n\r\n")) == ["a\nb"]


def test_cr_framed_event_is_dispatched_by_the_read_that_ends_it() -> None:
    # A server framing with CR alone: its event must not wait for the next read (issue 14).
    decoder = SSEDecoder()
    assert data_of(decoder.feed(b"data: x\r\r")) == ["x"]
    assert data_of(decoder.feed(b"data: y\r\r")) == ["y"]
    assert decoder.close() == []


def test_lf_after_a_cr_that_ended_the_last_read_is_skipped_once() -> None:
    decoder = SSEDecoder()
    assert data_of(decoder.feed(b"data: a\r\n\r")) == ["a"]
    # This LF completes the CRLF split across the reads: it is not an empty line...
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\n") == []
    # ...but a second LF is one.
    assert data_of(decoder.feed(b"\n")) == ["b"]


def test_lf_after_text_that_followed_a_cr_ends_a_line() -> None:
    """Found by the fuzz test: a CR, then more text, then an LF at the start of the next
    read. That LF ends the text's line; it is not the second half of a CRLF."""
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 9\rretry: 9") == []
    events = decoder.feed(b"\ndata: [\n") + decoder.close()
    assert [(e.data, e.retry) for e in events] == [("[", 9)]


def test_lf_is_skipped_after_a_cr_even_across_an_empty_read() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == []  # still the CRLF's LF, not an empty line
    assert data_of(decoder.feed(b"data: \xe2\x82\xac\r\r")) == ["a\n\u20ac"]


def test_leading_bom_is_dropped_and_the_first_event_kept() -> None:
    events = feed_pieces([b"\xef\xbb\xbfdata: first\n\n", b"data: second\n\n"])
    assert data_of(events) == ["first", "second"]


def test_bom_split_across_chunks_is_still_dropped() -> None:
    events = feed_pieces([b"\xef", b"\xbb", b"\xbfdata: first\n\n"])
    assert data_of(events) == ["first"]


def test_only_a_leading_bom_is_dropped() -> None:
    events = feed_pieces([b"data: a\n\n", b"data: \xef\xbb\xbfb\n\n"])
    assert data_of(events) == ["a", "\ufeffb"]


def test_comments_are_ignored() -> None:
    events = feed_pieces([b": keep-alive\n\n:\n\ndata: x\n: between\n\n"])
    assert data_of(events) == ["x"]


def test_multi_line_data_is_joined_with_newlines() -> None:
    events = feed_pieces([b"data: line 1\ndata: line 2\ndata:\ndata:  spaced\n\n"])
    assert data_of(events) == ["line 1\nline 2\n\n spaced"]


def test_field_without_colon_is_a_field_with_empty_value() -> None:
    events = feed_pieces([b"data\n\n", b"data: y\n\n"])
    assert data_of(events) == ["", "y"]


def test_event_id_retry_blocks_without_data_are_not_dispatched() -> None:
    events = feed_pieces([b"event: ping\nid: 3\nretry: 1000\n\n", b"data: real\n\n"])
    assert data_of(events) == ["real"]
    # the event type of the dataless block does not leak into the next event
    assert events[0].event == "message"
    # but id and retry are remembered (WHATWG: last event ID, reconnection time)
    assert events[0].id == "3"
    assert events[0].retry == 1000


def test_event_field_names_the_event() -> None:
    events = feed_pieces([b"event: error\ndata: {}\n\ndata: next\n\n"])
    assert [(e.event, e.data) for e in events] == [("error", "{}"), ("message", "next")]


def test_empty_data_line_dispatches_an_empty_event() -> None:
    assert data_of(feed_pieces([b"data:\n\n"])) == [""]


def test_unknown_fields_and_bad_retry_are_ignored() -> None:
    events = feed_pieces([b"foo: bar\nretry: soon\nretry: 12a\ndata: ok\n\n"])
    assert data_of(events) == ["ok"]
    assert events[0].retry is None


def test_retry_and_id_fields_are_bounded() -> None:
    # int() refuses more than 4300 digits (ValueError): a retry that long is ignored.
    long_retry = b"retry: " + b"9" * 5000 + b"\n"
    long_id = b"id: " + b"i" * 100_000 + b"\n"
    events = feed_pieces([b"retry: 250\nid: 7\ndata: a\n\n", long_retry + long_id + b"data: b\n\n"])
    assert data_of(events) == ["a", "b"]
    assert (events[1].retry, events[1].id) == (250, "7")  # the last usable values


def test_llama_cpp_error_field_is_dispatched_as_an_error_event() -> None:
    # llama.cpp's legacy in-band error: a field named `error`, which WHATWG would ignore.
    events = feed_pieces([b'data: {"a":1}\n\nerror: {"message":"ctx full"}\n\n'])
    assert [(e.event, e.data) for e in events] == [
        ("message", '{"a":1}'),
        ("error", '{"message":"ctx full"}'),
    ]


def test_error_field_beside_data_comes_after_the_data() -> None:
    events = feed_pieces([b'error: {"x":1}\ndata: ok\n\n'])
    assert [(e.event, e.data) for e in events] == [("message", "ok"), ("error", '{"x":1}')]


def test_id_with_nul_is_ignored() -> None:
    events = feed_pieces([b"id: a\x00b\ndata: x\n\n"])
    assert events[0].id is None


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c"])
def test_unicode_line_separators_inside_data_do_not_split_the_line(char: str) -> None:
    payload = '{"content":"a' + char + 'b"}'
    events = feed_pieces([f"data: {payload}\n\n".encode()])
    assert data_of(events) == [payload]


def test_multibyte_characters_split_across_chunks_are_reassembled() -> None:
    blob = "data: 世界 👋\n\n".encode()
    for pieces in every_split(blob):
        assert data_of(feed_pieces(pieces)) == ["世界 👋"]


def test_invalid_utf8_becomes_replacement_characters_without_losing_the_event() -> None:
    events = feed_pieces([b"data: ok \xff\xfe end\n\n", b"data: next\n\n"])
    assert data_of(events) == ["ok \ufffd\ufffd end", "next"]


def test_truncated_utf8_at_end_of_stream_is_replaced_not_raised() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: cut \xe4\xb8") == []
    assert data_of(decoder.close()) == ["cut \ufffd"]


def test_unterminated_last_event_is_dispatched_at_close() -> None:
    assert data_of(feed_pieces([b"data: a\n\ndata: [DONE]"])) == ["a", "[DONE]"]


def test_incomplete_block_is_not_dispatched_before_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert data_of(decoder.feed(b"\n")) == ["a"]


def test_space_after_colon_is_removed_once() -> None:
    assert data_of(feed_pieces([b"data:  two spaces\n\ndata:none\n\n"])) == [" two spaces", "none"]


def test_large_event_in_one_byte_pieces() -> None:
    text = "x" * 20_000
    blob = f"data: {text}\n\n".encode()
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for i in range(0, len(blob), 7):
        events += decoder.feed(blob[i : i + 7])
    events += decoder.close()
    assert data_of(events) == [text]


def _decode_in_reads(blob: bytes, read_size: int) -> float:
    """Seconds to decode ``blob`` fed ``read_size`` bytes at a time (the best of three)."""
    best = float("inf")
    for _ in range(3):
        decoder = SSEDecoder()
        started = time.perf_counter()
        events = [
            e for i in range(0, len(blob), read_size) for e in decoder.feed(blob[i : i + read_size])
        ]
        best = min(best, time.perf_counter() - started)
        assert [len(e.data) for e in events] == [len(blob) - 8]
    return best


def test_one_long_line_costs_time_linear_in_its_reads() -> None:
    # 8 MiB in 512 reads of 16 KiB against 8 reads of 1 MiB. Re-joining the pending line on
    # every read made the small reads ~20 times slower (issue 14); linear, they cost the same
    # give or take the per-read overhead. The ratio is generous: the machine may be busy.
    blob = b"data: " + b"x" * (8 * 1024 * 1024) + b"\n\n"
    small_reads = _decode_in_reads(blob, 16 * 1024)
    large_reads = _decode_in_reads(blob, 1024 * 1024)
    assert small_reads < 4 * large_reads + 0.02, (small_reads, large_reads)
