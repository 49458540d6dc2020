"""The catalog: what is subscribed and how it is organised.

Services for categories (`categories`), feeds (`feeds`, with the one `subscribe`), OPML
import/export (`opml`), retention (`retention`) and article reads (`articles`). They take a
session (or a session factory) and plain values, and return our own values (`views`); the
admin API and the CLI are thin wrappers around them.
"""
