"""`python -m web.healthcheck`: the container's HEALTHCHECK, asking this bot's /healthz.

Exit 0 when /healthz answers 200 (database reachable; the delivery lease held or standing
by), 1 otherwise. Uses only the standard library and the bot's own settings, so the port
follows EPISODE_BOT_WEB_PORT.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from bot.settings import Settings

TIMEOUT = 4.0  # seconds; Docker's own --timeout is a little longer


def main() -> int:
    port = Settings().episode_bot_web_port
    if port == 0:
        print("the web server is off (EPISODE_BOT_WEB_PORT=0): nothing to check", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=TIMEOUT) as answer:
            print(answer.read().decode())
            return 0
    except urllib.error.HTTPError as error:  # 503: the body says which check failed
        print(error.read().decode(), file=sys.stderr)
    except OSError as error:
        print(f"no answer on port {port}: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
