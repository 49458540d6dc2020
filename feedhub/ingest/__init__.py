"""The ingest pipeline: fetch -> parse -> decide -> store -> publish. No web imports here.

- fetching: `fetch` (HTTP GET with limits), `guard` (the SSRF guard), `hosts` (politeness
  per host), `autodiscovery` (a page's feed links, probed);
- parsing, pure: `parse`, `jsonfeed`, `sniff`, `normalize`, `sanitize`, `dedupe`,
  `enclosures`, `htmllinks`, `opml`; `parsing` decides where a document is parsed,
  `parsepool` and `parseworker` run feedparser's share in worker processes;
- deciding, pure: `cadence` (when to poll next), `budget`, `arrival`, `decide` (what a
  poll writes);
- storing: `feedstore` (every feed-row statement), `store` (article writes);
- `poller`, the one orchestrator, and `doorbell`, what it hands the live path.

It stays one flat package of small modules rather than `fetching/`, `parsing/` and
`scheduling/` sub-packages. The one orchestrator imports from every group, and the groups
cross: `sniff` serves both parsing and autodiscovery, `decide` joins the schedule to what
is stored, `store` asks `arrival`. Sub-packages would add a level to every import path and
hide nothing. What matters between these modules is pure versus I/O, and that is checked
by import contracts (pyproject.toml) rather than shown by folders.
"""
