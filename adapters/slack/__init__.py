"""The Slack adapter: `/episodes` through slack-bolt, release posts through slack_sdk.

It only translates: Slack payloads to core calls (`bot.commands.Commands`) and core messages
to Block Kit. Import `SlackAdapter` from `adapters.slack.app` and `SlackSender` from
`adapters.slack.sender`; this package file stays light so importing the renderer or the
grammar does not pull in slack-bolt.
"""
