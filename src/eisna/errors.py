"""Exception and warning hierarchy of eisna.

Every error eisna raises on bad input derives from :class:`EisnaError`. Each
class also derives from the builtin that best describes it, so that callers
who catch ``ValueError`` keep working.

Messages follow one template: ``"<where>: <what is wrong>; expected <x>, found
<y>. <how to fix>"``, where *where* names the file and, when known, the line,
column or byte offset.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "CacheWarning",
    "CircuitDefinitionError",
    "CircuitSyntaxError",
    "EisnaError",
    "EisnaWarning",
    "FitError",
    "KKWarning",
    "MetadataWarning",
    "MissingColumnError",
    "MissingInputError",
    "MixedSampleWarning",
    "NoCyclingData",
    "NoImpedanceData",
    "OutputError",
    "OutputLockedError",
    "ParameterAtBoundWarning",
    "ParseError",
    "PlaceholderWarning",
    "RoleMismatchWarning",
    "SkippedInputWarning",
    "SpectrumError",
    "TruncatedDataWarning",
    "UnknownElementError",
    "UnsupportedFormatError",
    "UsageError",
]


class EisnaError(Exception):
    """Root of every error raised by eisna."""


class ParseError(EisnaError, ValueError):
    """A file could not be parsed.

    Parameters
    ----------
    path : str or PathLike
        The file being read.
    message : str
        What is wrong: what was expected and what was found.
    line : int, optional
        1-based line number in a text file.
    offset : int, optional
        Byte offset in a binary file.
    column : str or int, optional
        Column name or 1-based column number.
    hint : str, optional
        What the user can do about it.
    """

    def __init__(
        self,
        path: str | PathLike[str] | None,
        message: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        column: str | int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.offset = offset
        self.column = column
        self.detail = message
        self.hint = hint
        where = self.path or "<input>"
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}" if isinstance(column, str) else f", column {column}"
        if offset is not None:
            where += f", byte offset {offset}"
        text = f"{where}: {message}"
        if hint:
            text += f" {hint}"
        super().__init__(text)


class UnsupportedFormatError(ParseError):
    """No reader recognises the file."""


class NoImpedanceData(EisnaError, ValueError):
    """A valid instrument file that holds no impedance spectrum (e.g. a GCPL run)."""


class NoCyclingData(EisnaError, ValueError):
    """A valid instrument file that holds no cycling data (e.g. an impedance-only PEIS export)."""


class SpectrumError(EisnaError, ValueError):
    """Arrays handed to :class:`~eisna.Spectrum` are inconsistent or invalid."""


class CircuitSyntaxError(EisnaError, ValueError):
    """A circuit string does not parse; the message carries a caret under the column."""


class UnknownElementError(CircuitSyntaxError):
    """A circuit string names an element that is not registered."""


class CircuitDefinitionError(EisnaError, ValueError):
    """A circuit TOML file is invalid; the message names the file and the key."""


class FitError(EisnaError, RuntimeError):
    """The optimiser could not run at all (a poor fit is not an error)."""


class OutputError(EisnaError):
    """The output folder cannot be used: a file, not writable, the disk full (a usage error)."""


class OutputLockedError(OutputError):
    """Another batch is writing to the same output folder."""


class EisnaWarning(UserWarning):
    """Root of eisna's warnings."""


class MetadataWarning(EisnaWarning):
    """Metadata could not be read (e.g. an anonymised date); the data are still returned."""


class ParameterAtBoundWarning(EisnaWarning):
    """A fitted parameter ended on one of its bounds."""


class RoleMismatchWarning(EisnaWarning):
    """An arc's effective capacitance contradicts the role it was given."""


class KKWarning(EisnaWarning):
    """A spectrum fails the Kramers–Kronig test."""


class PlaceholderWarning(MetadataWarning):
    """A header value is the instrument's placeholder (EC-Lab's 0.001 cm² area), not a measurement;
    nothing is computed from it."""


class TruncatedDataWarning(MetadataWarning):
    """A file ends early (a cut last line, fewer spectra or points than declared, short records).

    The data read up to the cut are returned, the spectrum concerned has
    ``meta["truncated"] = True``.
    """


class UsageError(EisnaError, ValueError):
    """The command or call is wrong (a missing input path, a bad option value): exit status 2."""


class SkippedInputWarning(EisnaWarning):
    """An input was skipped: a symlink loop, or a folder that cannot be listed."""


class MissingInputError(ParseError, UsageError):
    """An input path does not exist: a :class:`ParseError` for readers, bad usage (2) for the CLI."""


class MissingColumnError(ParseError, UsageError):
    """A column the call asks for is not in the file (``potential="Ewe-Ece"`` without ``Ece/V``).

    A :class:`ParseError` naming the file and the column for readers, bad usage (exit status 2)
    for the CLI: the file is valid, the option does not fit it.
    """


class CacheWarning(EisnaWarning):
    """A resume-cache entry was ignored (edited, foreign or unreadable); the spectrum is refitted."""


class UnidentifiableParameterWarning(EisnaWarning):
    """A fitted parameter is not determined by the data (flag ``unidentifiable:<param>``)."""


class MixedSampleWarning(EisnaWarning):
    """One cell holds spectra with a blocking-electrode spike and spectra without: almost surely
    two samples (a pellet and a cell); the series tracks them as two cells."""


class PoorFitWarning(EisnaWarning):
    """The circuit misses structure a free DRT description captures (flag ``poor_fit``)."""


class SchedulerError(EisnaError, ConnectionError):
    """A Dask scheduler cannot be reached, has no usable workers, or was lost during a campaign.

    The message names the address and what to do (start ``dask scheduler`` and ``dask worker``,
    install the same eisna on the workers, or re-run the command to resume).
    """
