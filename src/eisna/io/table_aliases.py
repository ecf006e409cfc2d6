"""Column-name aliases of impedance tables, as real instrument and software exports spell them.

A header cell is split into a *base* and a *unit* (``"Z' (Ω)"`` → ``z'`` + ``Ω``,
``"Re(Z)/Ohm"`` → ``re(z)`` + ``Ohm``, ``"Freq.[Hz]"`` → ``freq.`` + ``Hz``); the base is
compared, in lower case and without blanks, with the aliases below. A leading minus
(``-Z''``, ``-Im(Z)``, ``-Phase``) says the column holds the negated quantity.

Spellings collected from the exports in the corpus and from the formats' documentation:

* EC-Lab: ``freq/Hz``, ``Re(Z)/Ohm``, ``-Im(Z)/Ohm``, ``|Z|/Ohm``, ``Phase(Z)/deg``, ``time/s``,
  ``cycle number``, ``z cycle``, ``loop_index``
* CH Instruments: ``Freq/Hz``, ``Z'/ohm``, ``Z"/ohm``, ``Z/ohm``, ``Phase/deg``
* Parstat / VersaStudio / PowerSuite: ``Frequency (Hz)``, ``Zre (ohms)``, ``Zim (ohms)``, ``Zimg``,
  ``Elapsed Time (s)``
* Autolab NOVA: ``Frequency (Hz)``, ``Z' (Ω)``, ``-Z'' (Ω)``, ``Z (Ω)``, ``-Phase (°)``, ``Time (s)``
* Gamry: ``Freq``, ``Zreal``, ``Zimag``, ``Zmod``, ``Zphz``
* Novocontrol: ``Freq.[Hz]``, ``Zs'[ohm]``, ``Zs''[ohm]``, ``|Zs|``
* pyimpspec / impedance.py: ``f``, ``Z'``, ``Z''``, ``-Z'``, ``freq``, ``Zre``, ``-Zim``, ``frequency``,
  ``real``, ``imaginary``, ``|Z|``, ``-phase``
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ALIASES", "ROLES", "ColumnName", "parse_name", "unit_scale"]

ROLES = ("freq", "z_real", "z_imag", "z_mod", "phase", "time", "split", "temperature", "potential", "current")


def _set(*names: str) -> frozenset[str]:
    return frozenset(names)


ALIASES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "freq": _set(
            "f",
            "freq",
            "freq.",
            "frequency",
            "frequencies",
            "fr",
            "frequenz",
            "fréquence",
            "frequency(hz)",
            "freq(hz)",
            "f(hz)",
            "frequencyhz",
            "freqhz",
        ),
        "z_real": _set(
            "z'",
            "zs'",
            "zreal",
            "zre",
            "z_re",
            "z_real",
            "zr",
            "z_r",
            "re(z)",
            "rez",
            "re",
            "real",
            "real(z)",
            "realz",
            "real(zs)",
            "z'(a)",
            "zprime",
            "z1",
            "impedancereal",
            "re(zs)",
            "zs_re",
        ),
        "z_imag": _set(
            "z''",
            "zs''",
            "zimag",
            "zimg",
            "zim",
            "z_im",
            "z_imag",
            "zi",
            "z_i",
            "im(z)",
            "imz",
            "im",
            "imag",
            "imaginary",
            "imag(z)",
            "imagz",
            "imaginary(z)",
            "z''(b)",
            "zdoubleprime",
            "z2",
            "impedanceimaginary",
            "im(zs)",
            "zs_im",
        ),
        "z_mod": _set(
            "|z|",
            "z",
            "zmod",
            "mod",
            "mod(z)",
            "modz",
            "|zs|",
            "zs",
            "abs(z)",
            "absz",
            "z_mod",
            "zabs",
            "magnitude",
            "|impedance|",
            "impedance",
            "modulus",
        ),
        "phase": _set(
            "phase",
            "phase(z)",
            "phz",
            "zphz",
            "zphase",
            "z_phase",
            "phase_z",
            "phi",
            "theta",
            "angle",
            "phaseangle",
            "phase(zs)",
            "phase(°)",
            "phase(deg)",
            "arg(z)",
            "argz",
        ),
        "time": _set(
            "time",
            "t",
            "elapsedtime",
            "time(sec)",
            "timesec",
            "elapsed",
            "time(s)",
            "measurementtime",
            "elapsed_time",
        ),
        "split": _set(
            "loop_index",
            "loop",
            "loopindex",
            "cycle",
            "cyclenumber",
            "cycle_number",
            "zcycle",
            "spectrum",
            "spectrumindex",
            "scan",
            "sweep",
            "sweepnumber",
        ),
        "temperature": _set(
            "temp", "temp.", "temperature", "t(k)", "t(°c)", "sampletemp.", "sampletemperature"
        ),
        "potential": _set("potential", "<ewe>", "ewe", "e", "edc", "vdc", "bias", "dcpotential", "voltage"),
        "current": _set("current", "<i>", "i", "idc", "dccurrent"),
    }
)

_PRIMES = {"′": "'", "’": "'", "‘": "'", "´": "'", "`": "'", "″": "''", '"': "''", "ʹ": "'", "ʺ": "''"}
_UNIT_WORDS = r"ohms?|Ω|ω|Ohm\.cm|S|hz|deg|degrees?|°|rad|radians?|s|sec|secs|seconds?|min|h|ms|k|°c|c|a|b|v"
_BRACKET_UNIT = re.compile(
    r"^(?P<base>.*?)\s*[(\[]\s*(?P<unit>[kMmµuG]?(?:" + _UNIT_WORDS + r"))\s*[)\]]\s*$", re.IGNORECASE
)
_SLASH_UNIT = re.compile(r"^(?P<base>.*[^/\s])\s*/\s*(?P<unit>[^/()\[\]]+)$")


@dataclass(frozen=True)
class ColumnName:
    """A parsed header cell.

    Attributes
    ----------
    raw : str
        The cell as written.
    key : str
        Lower-case base without blanks, primes unified, leading minus removed.
    unit : str
        The unit as written (``"kOhm"``, ``"°"``), or ``""``.
    sign : int
        -1 when the name starts with a minus (the column holds the negated quantity).
    """

    raw: str
    key: str
    unit: str
    sign: int

    def role(self) -> str | None:
        """The role this name stands for, or None."""
        for role in ROLES:
            if self.key in ALIASES[role]:
                if role == "time" and self.unit.lower() in ("k", "°c", "c"):
                    return "temperature"  # "T (K)"
                return role
        return None


def parse_name(raw: str) -> ColumnName:
    """Split a header cell into base key, unit and sign (see the module docstring)."""
    text = str(raw).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    for src, dst in _PRIMES.items():
        text = text.replace(src, dst)
    unit = ""
    match = _BRACKET_UNIT.match(text) or _SLASH_UNIT.match(text)
    if match is not None and match.group("base").strip():
        text, unit = match.group("base"), match.group("unit").strip()
    key = re.sub(r"\s+", "", text.lower())
    sign = 1
    if key.startswith("-"):
        sign, key = -1, key[1:]
    if key.endswith(":"):
        key = key[:-1]
    return ColumnName(raw=str(raw), key=key, unit=unit, sign=sign)


_PREFIX = {"k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3, "µ": 1e-6, "u": 1e-6, "": 1.0}


def unit_scale(unit: str, role: str) -> float:
    """Multiplier to Hz, Ω, s or degree for a column unit.

    Phase is returned in degrees: ``rad`` gives 180/π. Time units: ``ms``, ``s``, ``min``, ``h``.
    Temperature: ``K`` gives 1 (``°C`` is handled by the caller: it is an offset).
    An unrecognised unit (``"a"`` in Autolab's ``Z'(a)``) gives 1.
    """
    u = unit.strip()
    low = u.lower()
    if not u:
        return 1.0
    if role == "phase":
        if low.startswith("rad"):
            return 57.29577951308232
        return 1.0
    if role == "time":
        return {
            "s": 1.0,
            "sec": 1.0,
            "secs": 1.0,
            "second": 1.0,
            "seconds": 1.0,
            "ms": 1e-3,
            "min": 60.0,
            "h": 3600.0,
        }.get(low, 1.0)
    if role == "freq":
        match = re.fullmatch(r"([kMGm]?)hz", u, re.IGNORECASE)
        return 1.0 if match is None else _PREFIX[match.group(1)]
    if role in ("potential", "current"):
        match = re.fullmatch(r"([kmµu]?)[va]", u, re.IGNORECASE)
        return 1.0 if match is None else _PREFIX[match.group(1)]
    if role in ("z_real", "z_imag", "z_mod"):
        match = re.fullmatch(r"([kMGmµu]?)(ohms?|Ω|ω)", u, re.IGNORECASE)
        if match is None:
            return 1.0
        prefix = match.group(1)
        return _PREFIX[prefix] if prefix in _PREFIX else _PREFIX.get(prefix.lower(), 1.0)
    return 1.0
