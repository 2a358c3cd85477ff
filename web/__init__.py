"""The web front end: calendar feeds and pages, the operator page, health and metrics.

One aiohttp application started by `episode-bot run` in the bot's own event loop. Like
the chat adapters it only translates: the core decides what a feed holds (bot.calendar),
jobs/status.py what the operator sees. It imports no platform adapter.
"""
