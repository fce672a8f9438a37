"""Masking and UTF-8 helpers of ferrobahn._core against plain-Python references."""

from __future__ import annotations

import os
import random

import pytest

from ferrobahn import _core


def naive_mask(data: bytes, key: bytes, offset: int = 0) -> bytes:
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 31, 32, 33, 1023, 1024, 1025, 70_001])
def test_mask_equals_naive(n: int) -> None:
    data = random.randbytes(n)
    key = random.randbytes(4)
    for offset in range(5):
        assert _core.apply_mask(data, key, offset) == naive_mask(data, key, offset)
    assert _core.apply_mask(_core.apply_mask(data, key), key) == data


def test_mask_key_must_be_4_bytes() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        _core.apply_mask(b"abc", b"\x00" * 3)


UTF8_CASES = [
    (b"", True),
    ("κόσμε".encode(), True),
    ("\U0010ffff\ufffe".encode(), True),
    (b"\xed\xa0\x80", False),  # surrogate
    (b"\xc0\xaf", False),  # overlong '/'
    (b"\xf4\x90\x80\x80", False),  # above U+10FFFF
    (b"\xfe", False),
    (b"\xe2\x82", False),  # truncated
]


@pytest.mark.parametrize(("data", "valid"), UTF8_CASES)
def test_validate_utf8(data: bytes, valid: bool) -> None:
    assert _core.validate_utf8(data) is valid


def test_incremental_validator_across_every_split() -> None:
    text = "a€𐍈κόσμε".encode()
    for cut in range(len(text) + 1):
        v = _core.Utf8Validator()
        first = v.feed(text[:cut])
        assert first[0]
        assert v.feed(text[cut:]) == (True, True)
    v = _core.Utf8Validator()
    assert v.feed(b"\xe2\x82") == (True, False)
    assert v.feed(b"\xac") == (True, True)
    assert v.feed(b"\xf4") == (True, False)
    assert v.feed(b"\x90") == (False, False)
    v.reset()
    assert v.feed(b"ok") == (True, True)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_does_not_replay_mask_keys() -> None:
    _core.encode_message(b"", False, mask=True)  # the parent now holds a batch
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report the next key and leave at once
        os.write(write_end, _core.encode_message(b"", False, mask=True)[2:6])
        os._exit(0)
    os.close(write_end)
    child_key = os.read(read_end, 4)
    os.waitpid(pid, 0)
    parent_key = _core.encode_message(b"", False, mask=True)[2:6]
    assert child_key != parent_key
