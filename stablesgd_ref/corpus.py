"""Real English text for experiment 1: the vendored pydoc topics excerpt.

The corpus is an excerpt of the Python documentation topics that CPython ships in
the standard-library module ``pydoc_data.topics`` (the text behind ``help("if")``).
That text changes between Python releases, so a fixed copy is vendored in
``stablesgd_ref/data/pydoc_topics_excerpt.txt`` and every result is built from it.
Nothing is downloaded. ``build_excerpt_from_pydoc`` made the copy once, on CPython
3.11.7, and ``load_pydoc_text`` checks its SHA-256 on every load. The license notice
is in ``stablesgd_ref/data/PYDOC_LICENSE.txt``.

Vocabulary (``VOCAB_SIZE = 100`` ids, one id per character):

========  ==================  =====================================  ================
id        character           meaning                                ``decode(id)``
========  ==================  =====================================  ================
0         (none)              padding, ``PAD_ID``                    U+2400
1         any other           unknown character, ``UNK_ID``          U+FFFD
2         (none)              beginning of text, ``BOS_ID``          U+2402
3         (none)              end of text, ``EOS_ID``                U+2403
4         ``"\\n"``           newline, ``NEWLINE_ID``                ``"\\n"``
5 .. 99   ``" "`` .. ``"~"``  printable ASCII 0x20..0x7E, ord - 27   the character
========  ==================  =====================================  ================

U+2400, U+2402 and U+2403 are the Unicode control pictures SYMBOL FOR NULL,
SYMBOL FOR START OF TEXT and SYMBOL FOR END OF TEXT. U+FFFD is the REPLACEMENT
CHARACTER.

``encode`` maps every character outside the 96 known ones (tab, carriage return,
other control characters, every non-ASCII character such as the curly quotes in
the Python docs) to ``UNK_ID``. It never returns ``PAD_ID``, ``BOS_ID`` or
``EOS_ID``, because they are reserved, and nothing in this module inserts them.
``decode`` returns exactly one character per id, so ``len(decode(ids)) ==
len(ids)``.
"""

import hashlib
import math
from pathlib import Path

import numpy as np

from stablesgd_ref.checks import as_int_at_least

DATA_DIR = Path(__file__).resolve().parent / "data"
PYDOC_EXCERPT_PATH = DATA_DIR / "pydoc_topics_excerpt.txt"
PYDOC_EXCERPT_SHA256 = (
    "596cda2260527a6f3e92d2408cd626c015977c8be680604027c572959cb728ca"
)
PYDOC_EXCERPT_PYTHON_VERSION = "3.11.7"
PYDOC_EXCERPT_MAX_BYTES = 300_000

VOCAB_SIZE = 100
PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3
NEWLINE_ID = 4
FIRST_PRINTABLE_ID = 5
UNKNOWN_CHAR = "\ufffd"

# Character for each id, in id order: 4 reserved ids, newline, then " " .. "~".
_ID_TO_CHAR = ("\u2400", UNKNOWN_CHAR, "\u2402", "\u2403", "\n") + tuple(
    chr(code) for code in range(0x20, 0x7F)
)

# Token id for each code point below 128. Code points 128 and above are unknown.
_ASCII_TO_ID = np.full(128, UNK_ID, dtype=np.int64)
_ASCII_TO_ID[ord("\n")] = NEWLINE_ID
_ASCII_TO_ID[0x20:0x7F] = np.arange(FIRST_PRINTABLE_ID, VOCAB_SIZE)


def encode(text):
    """Encode a string into token ids, one id per Unicode code point.

    Parameters
    ----------
    text : str
        Text of ``n`` code points.

    Returns
    -------
    ids : np.ndarray of int64, shape (n,)
        Token ids in ``[1, VOCAB_SIZE)``. Characters outside printable ASCII and
        newline get ``UNK_ID``.
    """
    if not isinstance(text, str):
        raise TypeError(
            f"text must be a str, got {type(text).__name__}. Decode bytes first, "
            "for example with data.decode('utf-8')."
        )
    # UTF-32 stores every code point in 4 bytes, so this is one uint32 per character.
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    ids = np.full(codes.shape, UNK_ID, dtype=np.int64)
    is_ascii = codes < 128
    ids[is_ascii] = _ASCII_TO_ID[codes[is_ascii]]
    return ids


def decode(ids):
    """Decode token ids into a string, one character per id.

    Parameters
    ----------
    ids : array_like of int, shape (n,)
        Token ids in ``[0, VOCAB_SIZE)``.

    Returns
    -------
    text : str
        Text of ``n`` characters. ``UNK_ID`` becomes U+FFFD (replacement
        character). ``PAD_ID``, ``BOS_ID`` and ``EOS_ID`` become the Unicode
        control pictures U+2400, U+2402 and U+2403.
    """
    ids = np.asarray(ids)
    if ids.size == 0:
        return ""
    if ids.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, got an array of dtype {ids.dtype}")
    if ids.ndim != 1:
        raise ValueError(
            f"ids must be 1-D, got shape {ids.shape}. Decode one row at a time."
        )
    invalid = (ids < 0) | (ids >= VOCAB_SIZE)
    if np.any(invalid):
        first = int(ids[np.argmax(invalid)])
        raise ValueError(f"token id {first} is out of range 0..{VOCAB_SIZE - 1}")
    return "".join(_ID_TO_CHAR[i] for i in ids.tolist())


def _is_covered_by_other_topic(name, topics):
    """Return whether another topic already contains this topic's text.

    The body (the text after the title line and its underline) is compared,
    because a topic nested in a larger one has a different underline there.
    Of two identical topics, the one with the smaller name is kept.
    """
    text = topics[name]
    body = "\n".join(text.split("\n")[2:]).strip()
    for other, other_text in topics.items():
        if other == name:
            continue
        if other_text == text and other < name:
            return True
        if len(other_text) > len(text) and body in other_text:
            return True
    return False


def build_excerpt_from_pydoc(max_bytes=PYDOC_EXCERPT_MAX_BYTES):
    """Build the corpus excerpt from the running Python's ``pydoc_data.topics``.

    The excerpt takes the topics in sorted name order, skips every topic whose
    text another topic already contains (``"if"`` is part of ``"compound"``, for
    example), and stops before the first topic that would make it longer than
    ``max_bytes`` UTF-8 bytes. Each topic becomes a line ``=== <name> ===``, a
    blank line, and the topic text with newlines normalized to ``"\\n"`` and
    trailing newlines removed. One blank line separates two topics, and the
    excerpt ends with one newline. The topic text is otherwise unchanged.

    The vendored file was written once with CPython 3.11.7 by::

        from stablesgd_ref.corpus import PYDOC_EXCERPT_PATH, build_excerpt_from_pydoc
        PYDOC_EXCERPT_PATH.write_text(
            build_excerpt_from_pydoc(), encoding="utf-8", newline="\\n"
        )

    Another Python release gives different text, and so a different SHA-256.

    Parameters
    ----------
    max_bytes : int
        Maximum size of the excerpt in UTF-8 bytes.

    Returns
    -------
    excerpt : str
        The excerpt text.
    """
    from pydoc_data.topics import topics

    as_int_at_least("max_bytes", max_bytes)

    blocks = []
    n_bytes = 0
    for name in sorted(topics):
        if _is_covered_by_other_topic(name, topics):
            continue
        text = topics[name].replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
        block = f"=== {name} ===\n\n{text}\n"

        # "\n".join adds one newline, which makes the blank line between blocks.
        block_bytes = len(block.encode("utf-8")) + (1 if blocks else 0)
        if n_bytes + block_bytes > max_bytes:
            break
        blocks.append(block)
        n_bytes += block_bytes

    if not blocks:
        raise ValueError(
            f"max_bytes={max_bytes} is smaller than the first topic, so the excerpt "
            "would be empty. Increase max_bytes."
        )
    return "\n".join(blocks)


def load_pydoc_text(path=None):
    """Read the vendored excerpt and check its SHA-256 against the stored digest.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        File to read. Defaults to ``PYDOC_EXCERPT_PATH``. Any other file must
        have the same SHA-256 (``PYDOC_EXCERPT_SHA256``) as well.

    Returns
    -------
    text : str
        The excerpt, decoded as UTF-8, with ``"\\n"`` newlines.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the SHA-256 of the file differs from ``PYDOC_EXCERPT_SHA256``.
    """
    path = PYDOC_EXCERPT_PATH if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"corpus file not found: {path}. Reinstall stablesgd_ref or restore "
            "stablesgd_ref/data/pydoc_topics_excerpt.txt from the repository."
        )

    # Hash the raw bytes, because text mode would turn CRLF into LF before hashing.
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != PYDOC_EXCERPT_SHA256:
        raise ValueError(
            f"SHA-256 mismatch for corpus file {path}: expected "
            f"{PYDOC_EXCERPT_SHA256}, got {actual}. The file was changed, for "
            "example by a Git checkout that rewrites newlines to CRLF. Restore it "
            "from the repository or reinstall stablesgd_ref. If you rebuilt it on "
            "purpose with build_excerpt_from_pydoc, set PYDOC_EXCERPT_SHA256 in "
            "stablesgd_ref/corpus.py to the new digest."
        )
    return data.decode("utf-8")


def make_windows(
    tokens, seq_len=20, n_train=8192, n_val=1024, seed=42, val_fraction=0.1
):
    """Cut a token stream into training and validation windows.

    The last ``val_fraction`` of the stream is the validation part, the rest the
    training part. Every window lies inside one part, so no token position
    appears in both a training and a validation window. The same text can still
    occur at two positions. Window starts are drawn without replacement by
    ``np.random.default_rng(seed)``: first the training starts, then the
    validation starts. A model reads ``windows[:, :-1]`` as inputs and predicts
    ``windows[:, 1:]`` as targets.

    Parameters
    ----------
    tokens : np.ndarray of int, shape (n_tokens,)
        Token stream.
    seq_len : int
        Number of input positions per window.
    n_train, n_val : int
        Number of training and validation windows.
    seed : int
        Seed of the random number generator.
    val_fraction : float
        Fraction of the stream, in (0, 1), used for validation.

    Returns
    -------
    train_tokens : np.ndarray of int64, shape (n_train, seq_len + 1)
        Training windows, each ``seq_len + 1`` consecutive tokens.
    val_tokens : np.ndarray of int64, shape (n_val, seq_len + 1)
        Validation windows from the last ``val_fraction`` of the stream.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
        raise ValueError(
            f"tokens must be a 1-D integer array, got shape {tokens.shape} and "
            f"dtype {tokens.dtype}"
        )
    as_int_at_least("seq_len", seq_len)
    as_int_at_least("n_train", n_train)
    as_int_at_least("n_val", n_val)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")

    split = len(tokens) - int(len(tokens) * val_fraction)
    # A window of seq_len + 1 tokens starting at s ends at s + seq_len.
    n_train_starts = split - seq_len
    n_val_starts = len(tokens) - split - seq_len
    if n_train > n_train_starts or n_val > n_val_starts:
        raise ValueError(
            f"requested {n_train} training and {n_val} validation windows of "
            f"{seq_len + 1} tokens, but the {len(tokens)}-token stream has only "
            f"{max(n_train_starts, 0)} and {max(n_val_starts, 0)} distinct starts. "
            "Request fewer windows or use a longer stream."
        )

    rng = np.random.default_rng(seed)
    train_starts = rng.choice(n_train_starts, size=n_train, replace=False)
    val_starts = split + rng.choice(n_val_starts, size=n_val, replace=False)

    offsets = np.arange(seq_len + 1)
    train_tokens = tokens[train_starts[:, None] + offsets]  # [n_train, seq_len + 1]
    val_tokens = tokens[val_starts[:, None] + offsets]  # [n_val, seq_len + 1]
    return train_tokens.astype(np.int64), val_tokens.astype(np.int64)


def make_pydoc_dataset(
    seq_len=20, n_train=8192, n_val=1024, seed=42, val_fraction=0.1, path=None
):
    """Encode the vendored excerpt and cut it into training and validation windows.

    The vendored excerpt has 282,206 characters (282,875 bytes). With the default
    ``val_fraction=0.1`` the validation part is its last 28,220 characters, which
    lie inside the topic ``specialnames`` (special method names). See
    ``make_windows`` for the split and the sampling.

    Parameters
    ----------
    seq_len, n_train, n_val, seed, val_fraction
        Passed to ``make_windows``.
    path : str or pathlib.Path, optional
        Excerpt file, passed to ``load_pydoc_text``.

    Returns
    -------
    train_tokens : np.ndarray of int64, shape (n_train, seq_len + 1)
        Training windows.
    val_tokens : np.ndarray of int64, shape (n_val, seq_len + 1)
        Validation windows, from the last ``val_fraction`` of the excerpt.
    """
    tokens = encode(load_pydoc_text(path))
    return make_windows(tokens, seq_len, n_train, n_val, seed, val_fraction)


def _check_windows(name, windows, vocab_size):
    windows = np.asarray(windows)
    if windows.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer token ids, got dtype {windows.dtype}")
    if windows.ndim != 2 or windows.shape[1] < 2 or windows.shape[0] < 1:
        raise ValueError(
            f"{name} must have shape (n, seq_len + 1) with n >= 1 and "
            f"seq_len >= 1, got shape {windows.shape}"
        )
    if windows.min() < 0 or windows.max() >= vocab_size:
        raise ValueError(
            f"{name} contains ids outside 0..{vocab_size - 1} (min {windows.min()}, "
            f"max {windows.max()}). Pass the matching vocab_size."
        )
    return windows


def nats_to_bits_per_char(nats):
    """Convert a cross-entropy per token from nats to bits per character.

    One token is one character in this vocabulary, so bits per token and bits
    per character are the same number: ``bits = nats / ln(2)``.
    """
    return nats / math.log(2.0)


def unigram_baseline(train_tokens, val_tokens, vocab_size=VOCAB_SIZE):
    """Compute the validation cross-entropy of a smoothed unigram model.

    The model ignores context: ``p(id) = (count(id) + 1) / (N + vocab_size)``,
    with add-one (Laplace) smoothing over all ``vocab_size`` ids, where
    ``count`` and ``N`` are taken over the training targets
    ``train_tokens[:, 1:]``. The cross-entropy is the mean of ``-ln p(id)`` over
    the validation targets ``val_tokens[:, 1:]``, the positions that a language
    model's validation loss averages over. A model that uses context should
    score below it.

    Parameters
    ----------
    train_tokens : np.ndarray of int, shape (n_train, seq_len + 1)
        Training windows.
    val_tokens : np.ndarray of int, shape (n_val, seq_len + 1)
        Validation windows.
    vocab_size : int
        Number of token ids.

    Returns
    -------
    cross_entropy : float
        Mean validation cross-entropy in nats per token.
    bits_per_char : float
        The same value in bits per character.
    """
    as_int_at_least("vocab_size", vocab_size)
    train_tokens = _check_windows("train_tokens", train_tokens, vocab_size)
    val_tokens = _check_windows("val_tokens", val_tokens, vocab_size)

    train_targets = train_tokens[:, 1:].ravel()  # [n_train * seq_len]
    val_targets = val_tokens[:, 1:].ravel()  # [n_val * seq_len]

    counts = np.bincount(train_targets, minlength=vocab_size)  # [vocab_size]
    probs = (counts + 1.0) / (len(train_targets) + vocab_size)  # [vocab_size]
    cross_entropy = float(-np.mean(np.log(probs[val_targets])))
    return cross_entropy, nats_to_bits_per_char(cross_entropy)
