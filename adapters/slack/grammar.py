"""The `/episodes` text -> (core command, keyword arguments). It only splits; the core validates.

Why a table instead of argparse: argparse prints to stderr and exits, and its messages talk
about "positional arguments"; a chat user needs one line of correct usage. Every command is a
`Spec` (words, positional names, options) built from its entry in the command catalogue
(bot/catalogue.py), so the catalogue, the help text and the parser cannot disagree. Values
stay text; the core checks them (numbers included) with the same words as everywhere.

Slack-specific clean-up of the raw text, in this order:

1. Slack's own markup is unwrapped: `<https://x|label>` -> `https://x`, `<#C1|general>` ->
   `#general`, `<@U1|bob>` -> `@bob`, `<!channel>` -> `@channel`, `<!subteam^S1|@tv>` ->
   `subteam:S1` (inert text; `--mention` turns it into the group id).
   (Only real angle brackets are markup: a `<` the user typed arrives as `&lt;`.)
2. `&lt;` `&gt;` `&amp;` are unescaped, so "Law &amp; Order" becomes "Law & Order".
3. Curly quotes (macOS and phones insert them) become straight quotes.
4. Words are split like a shell: "double" or 'single' quotes group a title; a quote inside a
   word (Grey's Anatomy) is an apostrophe, not an opening quote.

When a command has more words than positionals, the surplus words are joined into its first
positional (the show title), so `subscribe For All Mankind` works without quotes.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from bot import catalogue
from bot.catalogue import Command, Front, Group, for_front
from bot.errors import BotError

COMMAND = "/episodes"


class UsageError(BotError):
    """The command text does not fit the grammar; the message shows the correct usage."""

    def __init__(self, problem: str, usage: str) -> None:
        self.problem = problem
        self.usage = usage
        super().__init__(problem, hint=f"Usage: {usage}")


@dataclass(frozen=True)
class Flag:
    """How one `--flag` of the text fills a core parameter."""

    dest: str  # the catalogue option (the core function's parameter)
    takes_value: bool = True
    value_when_set: Any = True  # for flags (takes_value=False)
    required: bool = False


@dataclass(frozen=True)
class Spec:
    """One `/episodes` command, derived from its catalogue entry (`help` has none)."""

    words: tuple[str, ...]  # ("admin", "season", "add")
    command: Command | None
    positionals: tuple[str, ...] = ()  # required, in order; the first absorbs surplus words
    optional_tail: str | None = None  # one optional positional (rest of the text), e.g. QUERY
    options: dict[str, Flag] = field(default_factory=dict)
    usage: str = ""
    summary: str = ""

    @property
    def admin(self) -> bool:
        return self.words[0] == "admin"

    @property
    def full_usage(self) -> str:
        return f"{COMMAND} {self.usage}"


@dataclass(frozen=True)
class ParsedCommand:
    """What to call: `command` with `args` (the adapter adds actor and channel)."""

    spec: Spec
    args: dict[str, Any]

    @property
    def command(self) -> Command | None:
        return self.spec.command

    @property
    def method(self) -> str:
        """The core function's name (`help` for the help text)."""
        command = self.spec.command
        return command.core.__name__ if command is not None and command.core else "help"

    @property
    def admin(self) -> bool:
        return self.spec.admin


# How a few values read in Slack's usage lines (a user group is picked by typing @).
_SLACK_METAVARS = {"mention": "@group"}


def _spec(command: Command) -> Spec:
    options = command.options_for(Front.SLACK)
    words = ("admin", *command.on_chat) if command.group is Group.ADMIN else command.on_chat
    positionals = tuple(o.name for o in options if o.positional and o.required)
    tail = [o.name for o in options if o.positional and not o.required]
    flags = {
        o.flag: Flag(o.name, False, not o.default) if o.type is bool else Flag(o.name)
        for o in options
        if not o.positional
    }
    for option in options:
        if option.type is bool and option.opposite:  # `--trailers` beside `--no-trailers`
            flags[option.opposite] = Flag(option.name, False, bool(option.default))
        if option.required and not option.positional:
            flags[option.flag] = dataclasses.replace(flags[option.flag], required=True)
    usage = " ".join(
        [
            *words,
            *(
                dataclasses.replace(o, metavar=_SLACK_METAVARS.get(o.name, o.metavar)).usage
                for o in options
            ),
        ]
    )
    summary = command.summary.rstrip(".")
    if command is catalogue.SEASON_ADD:
        summary += " (alone, `admin season add` opens a form)"
    return Spec(
        words,
        command,
        positionals,
        tail[0] if tail else None,
        flags,
        usage=usage,
        summary=summary,
    )


SPECS: tuple[Spec, ...] = (
    *(_spec(command) for command in for_front(Front.SLACK) if command.group is Group.MEMBER),
    Spec(("help",), None, usage="help", summary="this help"),
    *(_spec(command) for command in for_front(Front.SLACK) if command.group is Group.ADMIN),
)

SUBTEAM_PREFIX = "subteam:"
_BY_WORDS = {spec.words: spec for spec in SPECS}
_MARKUP = re.compile(r"<([^<>]*)>")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


def help_text(*, admin: bool = True) -> str:
    """Every command with its usage, one per line (admins see the admin commands too)."""
    lines = ["Commands:"]
    for spec in SPECS:
        if spec.admin and not admin:
            continue
        lines.append(f"• {spec.full_usage} — {spec.summary}")
    lines.append('Quote titles with spaces: /episodes subscribe "For All Mankind" --before 1d,1h')
    return "\n".join(lines)


def _unwrap(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith(("http://", "https://")):
        return target
    if target.startswith("mailto:"):
        return label or target[len("mailto:") :]
    if target.startswith("#"):
        return f"#{label}" if label else target
    if target.startswith("@"):
        return f"@{label}" if label else target
    if target.startswith("!subteam^"):
        # Kept as the id (inert text) so `--mention @group` can name the group to ping.
        return SUBTEAM_PREFIX + target[len("!subteam^") :]
    if target.startswith("!"):
        # <!channel>, <!here>, <!everyone>, <!date^…|fallback>: keep readable, inert text.
        return label or "@" + target[1:].split("^")[0]
    return label or target


def clean(text: str) -> str:
    """Slack's escaped, link-wrapped command text -> what the user typed."""
    text = _MARKUP.sub(_unwrap, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.translate(_QUOTES).replace("\u00a0", " ")


def tokenize(text: str, usage: str = f"{COMMAND} help") -> list[str]:
    """Split on whitespace; a quote at the start of a word groups until the matching quote."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            while end != -1 and end + 1 < n and not text[end + 1].isspace():
                end = text.find(quote, end + 1)  # a quote inside a word: keep looking
            if end == -1:
                raise UsageError(f"A {quote} quote is not closed.", usage)
            tokens.append(text[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and not text[i].isspace():
            i += 1
        tokens.append(text[start:i])
    return tokens


def usage_of(words: tuple[str, ...]) -> str:
    """The full usage line of the command with these words."""
    return _BY_WORDS[words].full_usage


def opens_season_form(text: str) -> bool:
    """`admin season add` and nothing else: the adapter opens the Block Kit form instead."""
    try:
        tokens = tokenize(clean(text))
    except UsageError:
        return False
    return [t.lower() for t in tokens] == ["admin", "season", "add"]


def _find_spec(words: list[str]) -> tuple[Spec, int]:
    lowered = [w.lower() for w in words[:3]]
    for size in (3, 2, 1):
        spec = _BY_WORDS.get(tuple(lowered[:size]))
        if spec is not None and len(lowered) >= size:
            return spec, size
    if lowered and lowered[0] == "admin":
        admin_usages = "; ".join(s.full_usage for s in SPECS if s.admin)
        raise UsageError("Unknown admin command.", admin_usages)
    name = words[0] if words else ""
    raise UsageError(
        f'Unknown command "{name[:40]}".' if name else "Which command?",
        f"{COMMAND} help (commands: "
        + ", ".join(s.words[0] for s in SPECS if not s.admin)
        + ", admin …)",
    )


def parse(text: str) -> ParsedCommand:
    """Parse the text after `/episodes`. Empty text means `help`. Raises UsageError."""
    tokens = tokenize(clean(text))
    if not tokens:
        return ParsedCommand(_BY_WORDS[("help",)], {})
    spec, used = _find_spec(tokens)
    return _bind(spec, tokens[used:])


def _bind(spec: Spec, tokens: list[str]) -> ParsedCommand:
    usage = spec.full_usage
    args: dict[str, Any] = {}
    words: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--") and len(token) > 2:
            name, eq, inline = token.partition("=")
            option = spec.options.get(name.lower())
            if option is None:
                raise UsageError(f"Unknown option {name[:40]}.", usage)
            if option.dest in args:
                raise UsageError(f"{name} is given twice.", usage)
            if not option.takes_value:
                if eq:
                    raise UsageError(f"{name} takes no value.", usage)
                args[option.dest] = option.value_when_set
            elif eq:
                args[option.dest] = inline
            elif i + 1 < len(tokens) and not _is_option(tokens[i + 1]):
                i += 1
                args[option.dest] = tokens[i]
            else:
                raise UsageError(f"{name} needs a value.", usage)
        else:
            words.append(token)
        i += 1

    for name, option in spec.options.items():
        if option.required and option.dest not in args:
            raise UsageError(f"{name} is required.", usage)
    if "mention" in args:
        args["mention"] = _group_id(str(args["mention"]), usage)
    if "every" in args and args.get("all_at_once"):
        raise UsageError("Use either --every or --all-at-once, not both.", usage)

    needed = spec.positionals
    if spec.optional_tail is not None:
        if words:
            args[spec.optional_tail] = " ".join(words)
        return ParsedCommand(spec, args)
    if len(words) < len(needed):
        missing = " ".join(n.upper() for n in needed[len(words) :])
        raise UsageError(f"Missing {missing}.", usage)
    if not needed and words:
        raise UsageError(f'Unexpected "{" ".join(words)[:60]}".', usage)
    if needed:
        surplus = len(words) - len(needed)
        first = " ".join(words[: surplus + 1])
        values = [first, *words[surplus + 1 :]]
        for name, value in zip(needed, values, strict=True):
            if not value.strip():
                raise UsageError(f"{name.upper()} is empty.", usage)
            args[name] = value
    return ParsedCommand(spec, args)


def _group_id(value: str, usage: str) -> str:
    """`--mention @tv` arrives as Slack's `<!subteam^S0123|@tv>`; the core wants the id."""
    if value.startswith(SUBTEAM_PREFIX):
        return value[len(SUBTEAM_PREFIX) :]
    if re.fullmatch(r"S[A-Z0-9]{2,30}", value):
        return value
    raise UsageError("--mention needs a user group: type @ and pick one.", usage)


def _is_option(token: str) -> bool:
    return token.startswith("--") and len(token) > 2
