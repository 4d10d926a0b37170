"""How many SMS segments a text takes. A message is GSM-7 when every character is in the GSM 03.38 alphabet
(7 bits each; the extension characters take two); otherwise it goes as UCS-2, with far fewer characters per
segment. Two segments are the most a notice may use."""

import re
import unicodedata

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
MAX_SEGMENTS = 2
# Every text is checked once per notice sent: one scan in C instead of a Python loop over its characters.
_GSM7_ONLY = re.compile("[" + "".join(re.escape(ch) for ch in sorted(GSM7_BASIC | GSM7_EXTENDED)) + "]*")


def is_gsm7(text: str) -> bool:
    return _GSM7_ONLY.fullmatch(text) is not None


def sms_length(text: str) -> tuple[int, str]:
    """(length in encoding units, encoding)."""
    if is_gsm7(text):
        return len(text) + sum(text.count(ch) for ch in GSM7_EXTENDED), "GSM-7"
    return len(text.encode("utf-16-le")) // 2, "UCS-2"


def sms_segments(text: str) -> int:
    length, encoding = sms_length(text)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    if length <= single:
        return 1
    return -(-length // multi)


_PUNCTUATION = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "\u00a0": " "}
)


def gsm7_fold(text: str) -> str:
    """The text in GSM-7 only: accents dropped where the alphabet lacks the letter, typographic punctuation
    made plain, and anything else left out. One non-GSM character would turn the whole SMS into UCS-2 and
    more than double its cost."""
    text = text.translate(_PUNCTUATION)
    if not is_gsm7(text):
        folded = []
        for ch in text:
            if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
                folded.append(ch)
                continue
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            folded.append("".join(c for c in base if c in GSM7_BASIC))
        text = "".join(folded)
    return " ".join(text.split())
