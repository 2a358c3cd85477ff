"""`python -m episode_bot` is the `episode-bot` command."""

from episode_bot.cli import main

main()
