"""Tests of the pydoc corpus: vocabulary, checksum, split and unigram baseline."""

import hashlib
import math
import shutil
import sys

import numpy as np
import pytest

from stablesgd_ref import corpus

PRINTABLE = "".join(chr(code) for code in range(0x20, 0x7F))


# Vocabulary


def test_vocabulary_has_100_ids():
    assert corpus.VOCAB_SIZE == 100
    assert len(PRINTABLE) == 95
    reserved = {corpus.PAD_ID, corpus.UNK_ID, corpus.BOS_ID, corpus.EOS_ID}
    assert len(reserved) == 4
    assert corpus.NEWLINE_ID not in reserved
    encoded = set(corpus.encode(PRINTABLE + "\n").tolist())
    assert len(encoded) == 96
    assert encoded.isdisjoint(reserved)
    assert encoded | reserved == set(range(100))


def test_encode_ids_match_table():
    # Hand-written from the module docstring: id = ord(c) - 27 for printable ASCII.
    assert corpus.encode(" ").tolist() == [5]
    assert corpus.encode("A").tolist() == [38]
    assert corpus.encode("a").tolist() == [70]
    assert corpus.encode("~").tolist() == [99]
    assert corpus.encode("\n").tolist() == [4]


def test_encode_returns_int64():
    ids = corpus.encode("def f(x):\n    return x\n")
    assert ids.dtype == np.int64
    assert ids.shape == (23,)


def test_printable_text_round_trips():
    text = PRINTABLE + "\n" + PRINTABLE[::-1] + "\n\n"
    assert corpus.decode(corpus.encode(text)) == text


def test_unknown_characters_map_to_unk():
    # Tab, carriage return, NUL, DEL, Latin-1, curly quote, em dash, non-BMP emoji.
    unknown = "\t\r\x00\x7f\xe9\u2019\u2014\U0001f600"
    ids = corpus.encode(unknown)
    assert ids.tolist() == [corpus.UNK_ID] * len(unknown)


def test_unknown_inside_text_keeps_positions():
    ids = corpus.encode("a\u2019b")
    assert ids.tolist() == [70, corpus.UNK_ID, 71]
    assert corpus.decode(ids) == "a\ufffdb"


def test_every_id_decodes_to_one_char():
    chars = [corpus.decode([i]) for i in range(corpus.VOCAB_SIZE)]
    assert all(len(char) == 1 for char in chars)
    assert len(set(chars)) == corpus.VOCAB_SIZE
    assert chars[corpus.UNK_ID] == "\ufffd"
    assert chars[corpus.PAD_ID] == "\u2400"
    assert chars[corpus.BOS_ID] == "\u2402"
    assert chars[corpus.EOS_ID] == "\u2403"


def test_decode_accepts_empty_input():
    assert corpus.decode([]) == ""


def test_decode_rejects_out_of_range_ids():
    with pytest.raises(ValueError, match="token id 100 is out of range 0..99"):
        corpus.decode([5, 100])
    with pytest.raises(ValueError, match="token id -1 is out of range 0..99"):
        corpus.decode(np.array([-1, 5]))


def test_decode_rejects_floats_and_2d():
    with pytest.raises(TypeError, match="integers"):
        corpus.decode(np.array([5.0]))
    with pytest.raises(ValueError, match="1-D"):
        corpus.decode(np.array([[5, 6]]))


def test_encode_rejects_bytes():
    with pytest.raises(TypeError, match="must be a str, got bytes"):
        corpus.encode(b"abc")


# Vendored file and checksum


def test_vendored_digest_matches_constant():
    data = corpus.PYDOC_EXCERPT_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == corpus.PYDOC_EXCERPT_SHA256


def test_vendored_file_is_plain_utf8():
    data = corpus.PYDOC_EXCERPT_PATH.read_bytes()
    assert 200_000 <= len(data) <= corpus.PYDOC_EXCERPT_MAX_BYTES
    assert b"\r" not in data
    text = data.decode("utf-8")
    assert text.startswith("=== assert ===\n\n")
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


def test_load_returns_vendored_text():
    text = corpus.load_pydoc_text()
    assert text == corpus.PYDOC_EXCERPT_PATH.read_text(encoding="utf-8")


def test_load_accepts_unchanged_copy(tmp_path):
    copy = tmp_path / "excerpt.txt"
    shutil.copyfile(corpus.PYDOC_EXCERPT_PATH, copy)
    assert corpus.load_pydoc_text(copy) == corpus.load_pydoc_text()


def test_load_rejects_changed_byte(tmp_path):
    data = bytearray(corpus.PYDOC_EXCERPT_PATH.read_bytes())
    position = len(data) // 2
    data[position] = ord("x") if data[position] != ord("x") else ord("y")
    changed = tmp_path / "excerpt.txt"
    changed.write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()

    with pytest.raises(ValueError) as excinfo:
        corpus.load_pydoc_text(changed)
    message = str(excinfo.value)
    assert str(changed) in message
    assert corpus.PYDOC_EXCERPT_SHA256 in message
    assert actual in message
    assert "Restore it" in message


def test_load_rejects_crlf_copy(tmp_path):
    data = corpus.PYDOC_EXCERPT_PATH.read_bytes().replace(b"\n", b"\r\n")
    changed = tmp_path / "excerpt_crlf.txt"
    changed.write_bytes(data)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        corpus.load_pydoc_text(changed)


def test_load_reports_missing_file(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        corpus.load_pydoc_text(missing)


@pytest.mark.skipif(
    sys.version.split()[0] != corpus.PYDOC_EXCERPT_PYTHON_VERSION,
    reason="pydoc topics differ between Python releases",
)
def test_build_reproduces_vendored_file():
    excerpt = corpus.build_excerpt_from_pydoc()
    assert excerpt.encode("utf-8") == corpus.PYDOC_EXCERPT_PATH.read_bytes()


def test_build_respects_max_bytes():
    excerpt = corpus.build_excerpt_from_pydoc(max_bytes=20_000)
    assert 0 < len(excerpt.encode("utf-8")) <= 20_000
    assert excerpt.startswith("=== assert ===\n\n")


@pytest.mark.skipif(
    sys.version.split()[0] != corpus.PYDOC_EXCERPT_PYTHON_VERSION,
    reason="pydoc topics differ between Python releases",
)
def test_build_skips_covered_topics():
    from pydoc_data.topics import topics

    excerpt = corpus.build_excerpt_from_pydoc(max_bytes=10**7)
    names = [line[4:-4] for line in excerpt.split("\n") if line.startswith("=== ")]
    assert names == sorted(names)
    # In CPython 3.11.7 each of these topics is a section of a larger topic
    # ("if" of "compound", "numeric-types" of "specialnames", for example).
    covered = [
        "augassign",
        "callable-types",
        "class",
        "context-managers",
        "customization",
        "dynamic-features",
        "else",
        "exceptions",
        "for",
        "function",
        "id-classes",
        "if",
        "in",
        "numeric-types",
        "sequence-types",
        "typesseq-mutable",
        "while",
        "with",
    ]
    assert sorted(set(topics) - set(names)) == covered


# Training and validation windows


def test_windows_are_consecutive_and_split():
    # Tokens equal to their positions show where each window comes from.
    positions = np.arange(1000)
    train, val = corpus.make_windows(
        positions, seq_len=5, n_train=200, n_val=50, seed=3, val_fraction=0.1
    )
    assert train.shape == (200, 6)
    assert val.shape == (50, 6)
    assert train.dtype == np.int64
    assert val.dtype == np.int64
    assert np.all(np.diff(train, axis=1) == 1)
    assert np.all(np.diff(val, axis=1) == 1)
    assert train.max() < 900
    assert val.min() >= 900
    assert val.max() <= 999
    assert len(np.unique(train[:, 0])) == 200
    assert len(np.unique(val[:, 0])) == 50


def test_windows_use_every_allowed_start():
    # 10 tokens with the last 2 for validation and windows of 2 tokens, so the
    # training starts are 0..6 and the only validation start is 8.
    train, val = corpus.make_windows(
        np.arange(10), seq_len=1, n_train=7, n_val=1, seed=0, val_fraction=0.2
    )
    assert sorted(train[:, 0].tolist()) == [0, 1, 2, 3, 4, 5, 6]
    assert val.tolist() == [[8, 9]]


def test_windows_reject_too_many():
    with pytest.raises(ValueError, match="only 895 and 95 distinct starts"):
        corpus.make_windows(np.arange(1000), seq_len=5, n_train=896, n_val=10)


def test_windows_reject_bad_arguments():
    with pytest.raises(ValueError, match="val_fraction"):
        corpus.make_windows(
            np.arange(100), seq_len=5, n_train=5, n_val=5, val_fraction=1.0
        )
    with pytest.raises(ValueError, match="seq_len must be an integer >= 1"):
        corpus.make_windows(np.arange(100), seq_len=0, n_train=5, n_val=5)
    with pytest.raises(ValueError, match="1-D integer array"):
        corpus.make_windows(np.zeros(100), seq_len=5, n_train=5, n_val=5)


def test_pydoc_dataset_is_deterministic():
    train_a, val_a = corpus.make_pydoc_dataset(n_train=256, n_val=64, seed=7)
    train_b, val_b = corpus.make_pydoc_dataset(n_train=256, n_val=64, seed=7)
    train_c, _ = corpus.make_pydoc_dataset(n_train=256, n_val=64, seed=8)
    assert train_a.shape == (256, 21)
    assert val_a.shape == (64, 21)
    assert np.array_equal(train_a, train_b)
    assert np.array_equal(val_a, val_b)
    assert not np.array_equal(train_a, train_c)


def test_pydoc_windows_come_from_their_part():
    tokens = corpus.encode(corpus.load_pydoc_text())
    split = len(tokens) - int(len(tokens) * 0.1)
    # Every id is below 256, so one byte per token allows a substring search.
    train_bytes = tokens[:split].astype(np.uint8).tobytes()
    val_bytes = tokens[split:].astype(np.uint8).tobytes()

    train, val = corpus.make_pydoc_dataset(n_train=64, n_val=64, seed=1)
    for row in train:
        assert row.astype(np.uint8).tobytes() in train_bytes
    for row in val:
        assert row.astype(np.uint8).tobytes() in val_bytes


# Unigram baseline


def test_unigram_matches_hand_computation():
    # Training targets (column 0 is never a target): 1, 1, 1, 0.
    # Counts [1, 3, 0, 0], N = 4, so p = [2, 4, 1, 1] / 8 with add-one smoothing.
    train = np.array([[0, 1, 1], [2, 1, 0]])
    # Validation targets 1 and 3: (-ln(4/8) - ln(1/8)) / 2 = 2 ln 2 nats = 2 bits.
    val = np.array([[3, 1, 3]])
    nats, bits = corpus.unigram_baseline(train, val, vocab_size=4)
    assert nats == pytest.approx(2.0 * math.log(2.0), rel=1e-14)
    assert bits == pytest.approx(2.0, rel=1e-14)


def test_unigram_matches_scipy_cross_entropy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    train = rng.integers(0, 7, size=(40, 6))
    val = rng.integers(0, 7, size=(30, 6))
    counts = np.bincount(train[:, 1:].ravel(), minlength=9)
    val_freq = np.bincount(val[:, 1:].ravel(), minlength=9) / val[:, 1:].size
    # Cross-entropy H(q, p) = H(q) + KL(q || p).
    expected = scipy_stats.entropy(val_freq) + scipy_stats.entropy(
        val_freq, counts + 1.0
    )
    nats, _ = corpus.unigram_baseline(train, val, vocab_size=9)
    assert nats == pytest.approx(expected, rel=1e-12)


def test_unigram_rejects_ids_outside_vocab():
    train = np.array([[0, 1, 5]])
    with pytest.raises(ValueError, match="outside 0..4"):
        corpus.unigram_baseline(train, train, vocab_size=5)


def test_unigram_rejects_1d_input():
    with pytest.raises(ValueError, match="shape"):
        corpus.unigram_baseline(np.array([1, 2, 3]), np.array([[1, 2]]))


def test_nats_to_bits_per_char():
    assert corpus.nats_to_bits_per_char(math.log(2.0)) == pytest.approx(1.0)
    assert corpus.nats_to_bits_per_char(math.log(256.0)) == pytest.approx(8.0)
